// The key of a first enrollment is saved before its request and taken again after a lost answer.
#include "client/pending_key.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "common/files.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

crypto::PrivateKey p256() {
  return crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
}

TEST(RequestKey, ANewKeyIsSavedOwnerOnlyBeforeItIsUsed) {
  const testing::TempDir dir;
  const auto pending = dir.path() / "key.pem.pending";
  const auto made = request_key(pending, p256, false);
  EXPECT_TRUE(made.note.empty());
  EXPECT_EQ(testing::file_mode(pending), 0600u);
  EXPECT_EQ(crypto::PrivateKey::from_pem(common::read_file(pending)).to_pem(), made.key.to_pem());
}

TEST(RequestKey, TheSavedKeyIsTakenAgainUnlessAFreshStartIsAsked) {
  const testing::TempDir dir;
  const auto pending = dir.path() / "key.pem.pending";
  const auto first = request_key(pending, p256, false);
  int generated = 0;
  const auto again = request_key(
      pending,
      [&] {
        ++generated;
        return p256();
      },
      false);
  EXPECT_EQ(generated, 0);
  EXPECT_EQ(again.key.to_pem(), first.key.to_pem());
  EXPECT_EQ(again.note, "reused the key of the pending request");

  const auto fresh = request_key(pending, p256, true);
  EXPECT_NE(fresh.key.to_pem(), first.key.to_pem());
  EXPECT_EQ(common::read_file(pending), fresh.key.to_pem());
}

TEST(RequestKey, AnUnreadableSavedKeyIsReplacedAndSaid) {
  const testing::TempDir dir;
  const auto pending = dir.path() / "key.pem.pending";
  common::write_file_atomically(pending, "not a key", common::kSecretFileMode);
  const auto made = request_key(pending, p256, false);
  EXPECT_EQ(made.note, "replaced the unreadable pending key");
  EXPECT_EQ(common::read_file(pending), made.key.to_pem());
}

TEST(RequestKey, ASavedKeyOthersCouldHaveWrittenIsRefused) {
  const testing::TempDir dir;
  const auto pending = dir.path() / "key.pem.pending";
  const auto planted = p256().to_pem();
  std::ofstream(pending) << planted;
  std::filesystem::permissions(pending, std::filesystem::perms(0644));  // not the client's 0600
  EXPECT_THROW(request_key(pending, p256, false), std::runtime_error);
  EXPECT_EQ(common::read_file(pending), planted) << "nothing was replaced";

  const auto link = dir.path() / "link.pem.pending";
  std::filesystem::permissions(pending, std::filesystem::perms(0600));
  std::filesystem::create_symlink(pending, link);
  EXPECT_THROW(request_key(link, p256, false), std::runtime_error);
}

}  // namespace
}  // namespace estfleet::client
