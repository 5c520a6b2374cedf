#include "client/credentials.hpp"

#include <gtest/gtest.h>

#include "client/errors.hpp"
#include "common/files.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;

fs::path write(const testing::TempDir& tmp, const std::string& name, const std::string& text) {
  auto path = tmp.path() / name;
  common::write_file_atomically(path, text, fs::perms::owner_read | fs::perms::owner_write);
  return path;
}

TEST(PasswordFile, TrailingLineEndingsAreStripped) {
  testing::TempDir tmp;
  EXPECT_EQ(read_password_file(write(tmp, "lf", "s3cret\n")), "s3cret");
  EXPECT_EQ(read_password_file(write(tmp, "crlf", "s3cret\r\n")), "s3cret");
  EXPECT_EQ(read_password_file(write(tmp, "none", "s3cret")), "s3cret");
  EXPECT_EQ(read_password_file(write(tmp, "inner", "a b\tc\n")), "a b\tc") << "only the end";
  EXPECT_THROW(read_password_file(tmp.path() / "missing"), std::runtime_error);
}

TEST(BasicCredentials, FileWinsOverEnvironment) {
  testing::TempDir tmp;
  const auto file = write(tmp, "pw", "from-file\n");
  const auto creds = basic_credentials("alice", file.string(), "from-env");
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->user, "alice");
  EXPECT_EQ(creds->password, "from-file");
}

TEST(BasicCredentials, EnvironmentWhenNoFile) {
  const auto creds = basic_credentials("alice", "", "from-env");
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->password, "from-env");
}

TEST(BasicCredentials, NoUserMeansNoCredentials) {
  EXPECT_FALSE(basic_credentials("", "", "from-env"));
}

TEST(BasicCredentials, UserWithoutAnyPasswordIsRefused) {
  EXPECT_THROW(basic_credentials("alice", "", nullptr), ClientError);
}

}  // namespace
}  // namespace estfleet::client
