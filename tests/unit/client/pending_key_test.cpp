// The key of a first enrollment is saved before its request and taken again after a lost answer.
#include "client/pending_key.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <vector>

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

TEST(RequestKey, ASavedKeyTheInstalledCertificateIsAlreadyForIsReplaced) {
  const testing::TempDir dir;
  const auto pending = dir.path() / "key.pem.pending";
  const auto first = request_key(pending, p256, false);
  const auto again = request_key(pending, p256, false, [&](const crypto::PrivateKey& saved) {
    return saved.to_pem() == first.key.to_pem();  // the certificate on disk is for it
  });
  EXPECT_NE(again.key.to_pem(), first.key.to_pem());
  EXPECT_EQ(again.note, "replaced the pending key, which the installed certificate is already for");
  EXPECT_EQ(common::read_file(pending), again.key.to_pem());
}

TEST(EnrollPendingKey, EachNameHasItsOwnSavedKey) {
  EXPECT_EQ(enroll_pending_key("out/key.pem", "DeviceA"), "out/key.pem.DeviceA.pending");
  EXPECT_NE(enroll_pending_key("out/key.pem", "DeviceA"),
            enroll_pending_key("out/key.pem", "DeviceB"));
  // Names that could leave the folder, hide the file or collide are named by their digest.
  for (const std::string& name :
       std::vector<std::string>{"../x", "a/b", ".hidden", "", "a b", std::string(65, 'a')}) {
    const auto path = enroll_pending_key("out/key.pem", name).string();
    EXPECT_EQ(path.rfind("out/key.pem.sha256-", 0), 0U) << name;
    EXPECT_EQ(path.find('/', 4), std::string::npos) << name;
  }
  EXPECT_NE(enroll_pending_key("k", "a b"), enroll_pending_key("k", "a_b"));
}

}  // namespace
}  // namespace estfleet::client
