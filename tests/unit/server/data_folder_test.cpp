#include "server/data_folder.hpp"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "common/files.hpp"
#include "crypto/certificate.hpp"
#include "policy/action.hpp"
#include "policy/policy_template.hpp"
#include "server/config.hpp"
#include "server/fleet_secret_file.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;

TEST(DataFolder, InitCreatesTheCaTlsConfigAndRegistry) {
  testing::TempDir tmp;
  const auto dir = tmp.path() / "data";
  const auto result = initialize_data_folder({dir, {"est.example"}, false, {}, {}, {}, {}, {}});

  for (const char* secret : {"ca/root.key", "ca/issuing.key", "tls/server.key"}) {
    EXPECT_EQ(testing::file_mode(dir / secret), 0600u) << secret;
  }
  EXPECT_EQ(testing::file_mode(dir), 0700u);
  const auto root = crypto::Certificate::from_pem(common::read_file(dir / "ca/root.pem"));
  EXPECT_EQ(result.root_fingerprint, root.sha256_fingerprint());
  EXPECT_EQ(result.root_fingerprint.size(), 64u);

  const auto chain = crypto::Certificate::chain_from_pem(common::read_file(dir / "ca/chain.pem"));
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain.back().to_der(), root.to_der());

  const auto tls = crypto::Certificate::chain_from_pem(common::read_file(dir / "tls/server.pem"));
  const crypto::TrustStore trust({root});
  EXPECT_EQ(trust.verify(tls.front(), {tls.begin() + 1, tls.end()}), std::nullopt);
  EXPECT_EQ(X509_check_host(tls.front().get(), "est.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(tls.front().get(), "localhost", 0, 0, nullptr), 1);

  EXPECT_NO_THROW(load_config(dir));
  EXPECT_TRUE(fs::exists(dir / "registry.db"));

  EXPECT_EQ(testing::file_mode(dir / kDefaultFleetSecretFile), 0600u);
  const auto profiles = build_profiles(load_config(dir));
  ASSERT_EQ(profiles.size(), 1u);
  EXPECT_EQ(profiles[0].fleet_secret, read_fleet_secret(dir / kDefaultFleetSecretFile));
  EXPECT_EQ(profiles[0].fleet_secret->size(), 43u);
}

// The patterns a table of the written est-server.toml lists, per action, as the file says them.
policy::ResourcePatterns written_patterns(const fs::path& config_file, std::string_view table) {
  const auto config = toml::parse_file(config_file.string());
  const auto* patterns = config["profiles"]["default"][table].as_table();
  EXPECT_NE(patterns, nullptr) << "est-server.toml has no [profiles.default." << table << "]";
  policy::ResourcePatterns result;
  if (patterns == nullptr) {
    return result;
  }
  for (const auto& [key, value] : *patterns) {
    const auto action = policy::parse_action(key.str());
    const auto* list = value.as_array();
    if (!action || list == nullptr) {
      ADD_FAILURE() << table << "." << key.str() << " is not an action with an array of patterns";
      continue;
    }
    for (const auto& pattern : *list) {
      result[*action].emplace_back(pattern.value<std::string>().value_or("(not a string)"));
    }
  }
  return result;
}

// The template is written out in full, not left to the built-in default a missing key falls back
// to, so the file an operator edits says exactly what the server enforces.
TEST(DataFolder, InitWritesTheDefaultPolicyTemplate) {
  testing::TempDir tmp;
  const auto dir = tmp.path() / "data";
  initialize_data_folder({dir, {}, false, {}, {}, {}, {}, {}});
  const auto expected = policy::default_template();
  EXPECT_EQ(written_patterns(dir / "est-server.toml", "policy_template"), expected.allowed);
  EXPECT_EQ(written_patterns(dir / "est-server.toml", "default_policy"), expected.default_grants);
  const auto profiles = build_profiles(load_config(dir));
  ASSERT_EQ(profiles.size(), 1u);
  EXPECT_EQ(profiles[0].policy_template.allowed, expected.allowed);
  EXPECT_EQ(profiles[0].policy_template.default_grants, expected.default_grants);
}

TEST(DataFolder, ForceKeepsTheFleetSecret) {
  testing::TempDir tmp;
  const auto dir = tmp.path() / "data";
  initialize_data_folder({dir, {}, false, {}, {}, {}, {}, {}});
  const auto secret = read_fleet_secret(dir / kDefaultFleetSecretFile);
  initialize_data_folder({dir, {}, true, {}, {}, {}, {}, {}});
  EXPECT_EQ(read_fleet_secret(dir / kDefaultFleetSecretFile), secret);
}

TEST(DataFolder, RefusesToReplaceACaWithoutForce) {
  testing::TempDir tmp;
  const auto dir = tmp.path() / "data";
  const auto first = initialize_data_folder({dir, {}, false, {}, {}, {}, {}, {}});
  const auto root_before = common::read_file(dir / "ca/root.pem");
  EXPECT_THROW(initialize_data_folder({dir, {}, false, {}, {}, {}, {}, {}}), std::runtime_error);
  EXPECT_EQ(common::read_file(dir / "ca/root.pem"), root_before);

  const auto second = initialize_data_folder({dir, {}, true, {}, {}, {}, {}, {}});
  EXPECT_NE(second.root_fingerprint, first.root_fingerprint);
  ASSERT_TRUE(second.moved_aside);
  EXPECT_EQ(common::read_file(*second.moved_aside / "ca/root.pem"), root_before) << "old CA kept";
}

TEST(DataFolder, ImportsAnExistingCa) {
  testing::TempDir tmp;
  const auto source = tmp.path() / "source";
  initialize_data_folder({source, {}, false, {}, {}, {}, {}, {}});
  const auto dir = tmp.path() / "imported";
  const auto result = initialize_data_folder(
      {dir, {}, false, source / "ca/issuing.key", source / "ca/chain.pem", {}, {}, {}});
  EXPECT_EQ(common::read_file(dir / "ca/root.pem"), common::read_file(source / "ca/root.pem"));
  EXPECT_FALSE(fs::exists(dir / "ca/root.key")) << "an imported root key stays where it was";
  EXPECT_EQ(result.root_fingerprint,
            crypto::Certificate::from_pem(common::read_file(source / "ca/root.pem"))
                .sha256_fingerprint());

  EXPECT_THROW(initialize_data_folder(
                   {tmp.path() / "half", {}, false, source / "ca/issuing.key", {}, {}, {}, {}}),
               std::runtime_error);
}

}  // namespace
}  // namespace estfleet::server
