// `est-server ca rollover` on a real data folder: what it writes (and with which modes), what the
// server then loads, the refusals (each leaving the folder byte for byte as it was), --force, and
// a damaged previous CA.
#include "server/ca_rollover.hpp"

#include <gtest/gtest.h>

#include <map>

#include "ca/rollover.hpp"
#include "common/files.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "server/data_folder.hpp"
#include "server/revocation_files.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

// Every file under `dir` but the registry, with its contents.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto name = fs::relative(entry.path(), dir).string();
    if (name.starts_with("registry.db")) {
      continue;
    }
    files[name] = entry.is_regular_file() ? common::read_file(entry.path()) : "<dir>";
  }
  return files;
}

class CaRollover : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.data_dir = dir_;
    init.extra_hostnames = {"est.example"};
    initialize_data_folder(init);
    old_root_ = crypto::Certificate::from_pem(common::read_file(dir_ / "ca/root.pem"));
  }
  CaRolloverOptions options(bool force = false) const {
    CaRolloverOptions o;
    o.data_dir = dir_;
    o.force = force;
    return o;
  }
  // Expects roll_over_ca to refuse with a message holding `words`, changing nothing.
  void expect_refusal(const CaRolloverOptions& o, const std::string& words) {
    const auto before = snapshot(dir_);
    try {
      roll_over_ca(o, now_);
      ADD_FAILURE() << "no refusal, expected: " << words;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_EQ(snapshot(dir_), before);
  }

  testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path() / "data";
  const crypto::TimePoint now_ = std::chrono::system_clock::now();
  std::optional<crypto::Certificate> old_root_;
};

TEST_F(CaRollover, WritesTheNewCaKeepsThePreviousAndLoadsBoth) {
  const auto result = roll_over_ca(options(), now_);
  EXPECT_TRUE(result.warnings.empty()) << result.warnings.front();
  EXPECT_FALSE(result.dropped_previous);
  for (const char* secret : {"ca/root.key", "ca/issuing.key", "ca/previous/root.key",
                             "ca/previous/issuing.key", "tls/server.key", "ca/ocsp.key"}) {
    EXPECT_EQ(testing::file_mode(dir_ / secret), 0600U) << secret;
  }
  EXPECT_EQ(testing::file_mode(dir_ / "ca/previous"), 0700U);
  EXPECT_EQ(common::read_file(dir_ / "ca/previous/root.pem"), old_root_->to_pem());
  EXPECT_EQ(common::read_file(dir_ / "ca/root.pem"), result.root.to_pem());
  EXPECT_TRUE(fs::is_directory(result.backup / "ca"));
  EXPECT_TRUE(fs::is_directory(result.backup / "tls"));

  const auto config = load_config(dir_);
  const auto authority = load_authority(config);
  EXPECT_EQ(authority.root().to_der(), result.root.to_der());
  ASSERT_TRUE(authority.previous());
  EXPECT_EQ(authority.previous()->authority->root().to_der(), old_root_->to_der());
  EXPECT_TRUE(authority.in_transition(now_));
  EXPECT_EQ(authority.cacerts(now_).size(), 5U);

  // The TLS chain: new server certificate, new issuing CA, NewWithOld; same names as before.
  const auto tls = crypto::Certificate::chain_from_pem(common::read_file(dir_ / "tls/server.pem"));
  ASSERT_EQ(tls.size(), 3U);
  EXPECT_EQ(tls[2].to_der(), result.new_with_old.to_der());
  EXPECT_EQ(X509_check_host(tls[0].get(), "est.example", 0, 0, nullptr), 1);
  EXPECT_EQ(crypto::TrustStore({*old_root_}).verify(tls[0], {tls[1], tls[2]}, now_), std::nullopt);
  EXPECT_EQ(crypto::TrustStore({result.root}).verify(tls[0], {tls[1], tls[2]}, now_), std::nullopt);

  // The OCSP responder and both CRLs were made for the new CA.
  EXPECT_EQ(ensure_ocsp_responder(dir_, authority, now_).created, false);
  EXPECT_TRUE(fs::exists(dir_ / kPreviousCrlDerFile));
  const auto store = registry::SqliteStore::open(config.database_path.string());
  const auto audit = store->audit_since(0);
  EXPECT_EQ(std::count_if(audit.begin(), audit.end(),
                          [](const auto& e) { return e.operation == "ca-rollover"; }),
            5);
}

TEST_F(CaRollover, ASecondRolloverDuringTheTransitionIsRefusedUnlessForced) {
  const auto first = roll_over_ca(options(), now_);
  expect_refusal(options(), "a CA rollover is still in progress");
  const auto second = roll_over_ca(options(true), now_ + std::chrono::seconds(1));
  ASSERT_TRUE(second.dropped_previous);
  EXPECT_NE(second.dropped_previous->find("est-fleet Issuing CA"), std::string::npos);
  EXPECT_EQ(second.root.subject_common_name(), "est-fleet Root CA G3");
  const auto authority = load_authority(load_config(dir_));
  EXPECT_EQ(authority.previous()->authority->root().to_der(), first.root.to_der());
  // After the transition, a new rollover needs no --force.
  EXPECT_NO_THROW(roll_over_ca(options(), first.issuing.not_after()));
}

TEST_F(CaRollover, RefusalsChangeNothing) {
  fs::rename(dir_ / "ca/root.key", tmp_.path() / "root.key");
  expect_refusal(options(), "no root key (ca/root.key)");
  fs::rename(tmp_.path() / "root.key", dir_ / "ca/root.key");

  const auto root_key = common::read_file(dir_ / "ca/root.key");
  common::write_file_atomically(dir_ / "ca/root.key",
                                crypto::PrivateKey::generate(crypto::KeyType::ec_p384).to_pem(),
                                fs::perms::owner_read | fs::perms::owner_write);
  expect_refusal(options(), "ca/root.key does not match ca/root.pem");
  common::write_file_atomically(dir_ / "ca/root.key", root_key,
                                fs::perms::owner_read | fs::perms::owner_write);

  auto zero = options();
  zero.issuing_validity = std::chrono::seconds(0);
  expect_refusal(zero, "a CA validity must be positive");

  const auto chain = common::read_file(dir_ / "ca/chain.pem");
  common::write_file_atomically(dir_ / "ca/chain.pem", "not a chain\n",
                                fs::perms::owner_read | fs::perms::owner_write);
  expect_refusal(options(), "ca/chain.pem");
  common::write_file_atomically(dir_ / "ca/chain.pem", chain,
                                fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_NO_THROW(roll_over_ca(options(), now_));
}

TEST_F(CaRollover, ADamagedPreviousCaIsRefusedByTheServerAndByRollover) {
  roll_over_ca(options(), now_);
  fs::remove(dir_ / "ca/previous" / kNewWithOldFile);
  EXPECT_THROW(load_authority(load_config(dir_)), std::runtime_error);
  expect_refusal(options(true), "the previous CA in");
}

TEST_F(CaRollover, AnImportedCaWithoutItsRootKeyCannotRollOver) {
  testing::TempDir other;
  const auto fresh = ca::create_ca(ca::NewCaOptions{}, now_);
  common::write_file_atomically(other.path() / "key.pem", fresh.issuing_key.to_pem(),
                                fs::perms::owner_read | fs::perms::owner_write);
  common::write_file_atomically(other.path() / "chain.pem",
                                fresh.issuing.to_pem() + fresh.root.to_pem(),
                                fs::perms::owner_read | fs::perms::owner_write);
  const auto imported = tmp_.path() / "imported";
  InitOptions init;
  init.data_dir = imported;
  init.import_ca_key = other.path() / "key.pem";
  init.import_ca_chain = other.path() / "chain.pem";
  initialize_data_folder(init);
  auto o = options();
  o.data_dir = imported;
  const auto before = snapshot(imported);
  EXPECT_THROW(roll_over_ca(o, now_), std::runtime_error);
  EXPECT_EQ(snapshot(imported), before);
}

}  // namespace
}  // namespace estfleet::server
