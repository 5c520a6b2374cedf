#include "common/files.hpp"

#include <gtest/gtest.h>

#include "support/test_pki.hpp"

namespace estfleet::common {
namespace {

namespace fs = std::filesystem;

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicWrite, ReplacesWithTheModeAndLeavesNoTemporaries) {
  testing::TempDir tmp;
  const auto file = tmp.path() / "secret.pem";
  write_file_atomically(file, "one", fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomically(file, "two", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read_file(file), "two");
  EXPECT_EQ(testing::file_mode(file), 0600u);
  EXPECT_EQ(entries(tmp.path()), 1u);
  EXPECT_THROW(write_file_atomically(tmp.path() / "missing" / "x", "y", fs::perms::owner_read),
               std::runtime_error);
  EXPECT_THROW(read_file(tmp.path() / "missing"), std::runtime_error);
}

TEST(PrivateDirectory, CreatesParentsAndIsOwnerOnly) {
  testing::TempDir tmp;
  const auto dir = tmp.path() / "a" / "ca";
  EXPECT_EQ(create_private_directory(dir), dir);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(testing::file_mode(dir), 0700u);
  EXPECT_EQ(create_private_directory(dir), dir) << "an existing folder is fine";
  write_file_atomically(tmp.path() / "file", "x", kPublicFileMode);
  EXPECT_THROW(create_private_directory(tmp.path() / "file"), fs::filesystem_error);
}

TEST(PrepareOutput, CreatesTheFolderAndLeavesNothingBehind) {
  testing::TempDir tmp;
  const auto file = tmp.path() / "out" / "DeviceAlpha" / "private_key.pem";
  prepare_output(file);
  EXPECT_TRUE(fs::is_directory(file.parent_path()));
  EXPECT_EQ(entries(file.parent_path()), 0u);
  EXPECT_FALSE(fs::exists(file));
}

TEST(PrepareOutput, RefusesAFolderOrAFileInTheWay) {
  testing::TempDir tmp;
  EXPECT_THROW(prepare_output(tmp.path()), std::runtime_error);
  write_file_atomically(tmp.path() / "plain", "x", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THROW(prepare_output(tmp.path() / "plain" / "key.pem"), std::runtime_error);
}

// Two names of one file: written one after the other, the second write destroys the first.
TEST(SameFile, SeesThroughSpellingsLinksAndHardLinks) {
  testing::TempDir tmp;
  const auto& dir = tmp.path();
  fs::create_directory(dir / "sub");
  EXPECT_TRUE(same_file(dir / "x.pem", dir / "x.pem"));
  EXPECT_TRUE(same_file(dir / "x.pem", dir / "." / "x.pem")) << "not there yet";
  EXPECT_TRUE(same_file(dir / "x.pem", dir / "sub" / ".." / "x.pem"));
  EXPECT_FALSE(same_file(dir / "x.pem", dir / "y.pem"));
  EXPECT_FALSE(same_file(dir / "x.pem", dir / "sub" / "x.pem"));

  // A link whose target does not exist yet: writing through it would create the target.
  fs::create_symlink("x.pem", dir / "link.pem");
  EXPECT_TRUE(same_file(dir / "link.pem", dir / "x.pem"));
  write_file_atomically(dir / "x.pem", "x", kPublicFileMode);
  EXPECT_TRUE(same_file(dir / "link.pem", dir / "x.pem"));
  EXPECT_TRUE(same_file(dir / "x.pem", dir / "link.pem"));

  fs::create_hard_link(dir / "x.pem", dir / "hard.pem");
  EXPECT_TRUE(same_file(dir / "hard.pem", dir / "x.pem"));

  fs::create_directory_symlink("sub", dir / "sublink");
  EXPECT_TRUE(same_file(dir / "sublink" / "new.pem", dir / "sub" / "new.pem"));
  EXPECT_FALSE(same_file(dir / "sublink" / "new.pem", dir / "new.pem"));

  // Relative to the working folder, as a command line gives them.
  const auto cwd = fs::current_path();
  fs::current_path(dir);
  EXPECT_TRUE(same_file("x.pem", "./x.pem"));
  EXPECT_TRUE(same_file("z.pem", dir / "z.pem"));
  EXPECT_FALSE(same_file("z.pem", "sub/z.pem"));
  fs::current_path(cwd);
}

}  // namespace
}  // namespace estfleet::common
