// The fleet-provisioning keys of a profile: good values load, bad ones are refused naming the key.
#include <gtest/gtest.h>

#include <fstream>

#include "common/files.hpp"
#include "server/config.hpp"
#include "server/fleet_secret_file.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;

class ProfileConfigTest : public ::testing::Test {
 protected:
  // The default config plus a [profiles.x] table holding `body`.
  Config load(const std::string& body) {
    std::ofstream(dir_.path() / kConfigFileName) << default_config_text() << "\n[profiles.x]\n"
                                                 << body;
    return load_config(dir_.path());
  }
  const ProfileConfig& x(const Config& config) { return find_profile(config, "x"); }

  void expect_refusal(const std::string& body, const std::string& needle) {
    try {
      load(body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }

  testing::TempDir dir_;
};

TEST_F(ProfileConfigTest, TheDefaultProfileUsesTheFleetSecretAndTheDefaultTemplate) {
  const auto config = load("");
  const auto& profile = find_profile(config, "default");
  EXPECT_EQ(profile.fleet_secret_file, dir_.path() / kDefaultFleetSecretFile);
  EXPECT_EQ(profile.policy_template.allowed, policy::default_template().allowed);
  EXPECT_EQ(profile.policy_template.default_grants, policy::default_template().default_grants);
  EXPECT_EQ(profile.approval, est::Approval::automatic);
  EXPECT_EQ(profile.retry_after, std::chrono::seconds(60));
  EXPECT_FALSE(profile.thing_name_pattern);
  EXPECT_EQ(&find_profile(config, ""), &profile);
  EXPECT_THROW(find_profile(config, "nope"), std::runtime_error);
}

TEST_F(ProfileConfigTest, FleetKeysLoad) {
  const auto config = load(R"(thing_name_pattern = "sensor-[0-9]{3}"
fleet_secret_file = "fleet/x.secret"
approval = "manual"
retry_after = "5m"
allowed_attributes = ["Region", "Site"]
[profiles.x.policy_template]
Connect = ["client/${ThingName}"]
Publish = ["sensors/${ThingName}/*"]
[profiles.x.default_policy]
Connect = ["client/${ThingName}"]
)");
  const auto& profile = x(config);
  ASSERT_TRUE(profile.thing_name_pattern);
  EXPECT_TRUE(profile.thing_name_pattern->matches("sensor-123"));
  EXPECT_FALSE(profile.thing_name_pattern->matches("sensor-1234")) << "the whole name must match";
  EXPECT_EQ(profile.fleet_secret_file, dir_.path() / "fleet/x.secret");
  EXPECT_EQ(profile.approval, est::Approval::manual);
  EXPECT_EQ(profile.retry_after, std::chrono::minutes(5));
  EXPECT_EQ(profile.allowed_attributes, (std::set<std::string, std::less<>>{"Region", "Site"}));
  const policy::ResourcePatterns allowed{
      {policy::Action::connect, {"client/${ThingName}"}},
      {policy::Action::publish, {"topic/sensors/${ThingName}/*"}}};
  EXPECT_EQ(profile.policy_template.allowed, allowed) << "the resource prefix is added";
  EXPECT_EQ(profile.policy_template.default_grants,
            (policy::ResourcePatterns{{policy::Action::connect, {"client/${ThingName}"}}}));
}

TEST_F(ProfileConfigTest, BadValuesAreRefusedNamingTheKey) {
  expect_refusal("thing_name_pattern = \"sensor-(\"\n", "'profiles.x.thing_name_pattern'");
  expect_refusal("thing_name_pattern = 5\n", "profiles.x.thing_name_pattern");
  expect_refusal("approval = \"sometimes\"\n", "'profiles.x.approval'");
  expect_refusal("retry_after = \"soon\"\n", "'profiles.x.retry_after'");
  expect_refusal("retry_after = \"0s\"\n", "'profiles.x.retry_after' must be at least 1s");
  expect_refusal("allowed_attributes = \"Region\"\n", "'profiles.x.allowed_attributes'");
  expect_refusal("allowed_attributes = [1]\n", "'profiles.x.allowed_attributes'");
  expect_refusal("policy_template = [\"client/x\"]\n", "'profiles.x.policy_template' must be");
  expect_refusal("[profiles.x.policy_template]\nJump = [\"topic/x\"]\n",
                 "'profiles.x.policy_template.Jump' is not an action");
  expect_refusal("[profiles.x.policy_template]\nPublish = \"topic/x\"\n",
                 "'profiles.x.policy_template.Publish' must be an array");
  expect_refusal("[profiles.x.policy_template]\nPublish = [\"client/x\"]\n",
                 "'profiles.x.policy_template.Publish' holds 'client/x'");
  expect_refusal("[profiles.x.default_policy]\nSubscribe = [1]\n",
                 "'profiles.x.default_policy.Subscribe' must hold only strings");
  expect_refusal("[profiles.x.default_policy]\nPublish = [\"topic/everything/#\"]\n",
                 "'profiles.x.default_policy' grants what policy_template does not allow");
  expect_refusal("[profiles.x.default_policy]\nPublish = [\"topic/${iot:ClientId}\"]\n",
                 "'profiles.x.default_policy.Publish' holds 'topic/${iot:ClientId}'");
  expect_refusal(
      "auth = [\"tls-client\"]\nbootstrap_trust = \"roots.pem\"\n"
      "fleet_secret_file = \"fleet/x.secret\"\n",
      "'profiles.x.fleet_secret_file' needs \"basic\"");
  expect_refusal("fleet_secrets_file = \"f\"\n", "fleet_secrets_file");
  expect_refusal("serverkeygen_key_type = \"dsa-1024\"\n",
                 "'profiles.x.serverkeygen_key_type' holds 'dsa-1024'");
  expect_refusal("serverkeygen = \"yes\"\n", "'profiles.x.serverkeygen' has the wrong type");
}

TEST_F(ProfileConfigTest, CsrattrsKeys) {
  const auto config = load(
      "enforce_csrattrs = true\n[profiles.x.csrattrs]\nkey_type = \"ec-p384\"\n"
      "subject = [\"O=Acme Sensors\", \"organizationalUnitName\"]\n"
      "extensions = [\"subjectAltName\", \"1.2.3.4\"]\n");
  const auto& wanted = x(config).csrattrs;
  EXPECT_TRUE(wanted.enforce);
  EXPECT_EQ(wanted.key_type, crypto::KeyType::ec_p384);
  ASSERT_EQ(wanted.subject.size(), 2u);
  EXPECT_EQ(wanted.subject[0].first, "2.5.4.10");
  EXPECT_EQ(wanted.subject[0].second, "Acme Sensors");
  EXPECT_EQ(wanted.subject[1].first, "2.5.4.11");
  EXPECT_FALSE(wanted.subject[1].second);
  EXPECT_EQ(wanted.extensions, (std::vector<std::string>{"2.5.29.17", "1.2.3.4"}));
  EXPECT_FALSE(x(load("")).csrattrs.enforce);
}

TEST_F(ProfileConfigTest, BadCsrattrsAreRefusedNamingTheKey) {
  expect_refusal("enforce_csrattrs = true\n", "'profiles.x.enforce_csrattrs' needs a");
  expect_refusal("csrattrs = 1\n", "'profiles.x.csrattrs' must be a table");
  expect_refusal("[profiles.x.csrattrs]\nkey_type = \"dsa\"\n", "'profiles.x.csrattrs.key_type'");
  expect_refusal("[profiles.x.csrattrs]\nsubject = [\"Nonsense=1\"]\n",
                 "'profiles.x.csrattrs.subject' holds 'Nonsense=1'");
  expect_refusal("[profiles.x.csrattrs]\nsubject = [\"CN=x\"]\n", "the CN is always the ThingName");
  expect_refusal("[profiles.x.csrattrs]\nsubject = [\"O=\"]\n", "write the name alone");
  expect_refusal("[profiles.x.csrattrs]\nextensions = [\"noSuchExtension\"]\n",
                 "'profiles.x.csrattrs.extensions' holds 'noSuchExtension'");
  expect_refusal("[profiles.x.csrattrs]\nextensions = \"subjectAltName\"\n",
                 "must be an array of strings");
  expect_refusal("[profiles.x.csrattrs]\ntemplate = 1\n", "unknown key 'template'");
}

TEST_F(ProfileConfigTest, ServerkeygenKeys) {
  auto config = load("");
  EXPECT_TRUE(x(config).serverkeygen);
  EXPECT_FALSE(x(config).serverkeygen_key_type);
  config = load("serverkeygen = false\nserverkeygen_key_type = \"rsa-3072\"\n");
  EXPECT_FALSE(x(config).serverkeygen);
  EXPECT_EQ(x(config).serverkeygen_key_type, crypto::KeyType::rsa_3072);
}

// A '*' or '?' beside ${ThingName} stretches the name: topic/${ThingName}* would give DeviceAlpha
// the topics of DeviceAlpha2. Such templates are refused naming the key and the entry.
TEST_F(ProfileConfigTest, TemplatesWithAWildcardBesideTheThingNameAreRefused) {
  expect_refusal("[profiles.x.policy_template]\nPublish = [\"topic/${ThingName}*\"]\n",
                 "'profiles.x.policy_template.Publish' holds 'topic/${ThingName}*': a '*' right "
                 "after ${ThingName} also matches longer names (DeviceAlpha2's topics for "
                 "DeviceAlpha)");
  expect_refusal(
      "[profiles.x.policy_template]\nConnect = [\"client/${ThingName}\"]\n"
      "Subscribe = [\"topicfilter/broadcast\", \"commands/${iot:Connection.Thing.ThingName}?\"]\n",
      "'profiles.x.policy_template.Subscribe' holds "
      "'commands/${iot:Connection.Thing.ThingName}?': a '?' right after ${ThingName}");
  expect_refusal("[profiles.x.policy_template]\nReceive = [\"topic/*${ThingName}\"]\n",
                 "'profiles.x.policy_template.Receive' holds 'topic/*${ThingName}': a '*' right "
                 "before ${ThingName}");
  expect_refusal("[profiles.x.policy_template]\nPublish = [\"topic/dev-${ThingName}/*\"]\n",
                 "'profiles.x.policy_template.Publish' holds 'topic/dev-${ThingName}/*': "
                 "${ThingName} must be a whole path segment");
  expect_refusal("[profiles.x.policy_template]\nPublish = [\"topic/${iot:ClientId}/*\"]\n",
                 "'profiles.x.policy_template.Publish' holds 'topic/${iot:ClientId}/*': it holds "
                 "a variable other than ${ThingName}");
  expect_refusal("[profiles.x.default_policy]\nPublish = [\"topic/sensors/${ThingName}*\"]\n",
                 "'profiles.x.default_policy.Publish' holds 'topic/sensors/${ThingName}*': a '*' "
                 "right after ${ThingName}");
}

TEST_F(ProfileConfigTest, WildcardsAwayFromTheThingNameStillLoad) {
  const auto config = load(R"([profiles.x.policy_template]
Connect = ["client/${ThingName}"]
Publish = ["topic/*/${ThingName}/*", "topic/fleet/*", "topic/room?/${ThingName}"]
[profiles.x.default_policy]
Publish = ["topic/fleet/${ThingName}/status"]
)");
  EXPECT_EQ(x(config).policy_template.allowed.at(policy::Action::publish),
            (std::vector<std::string>{"topic/*/${ThingName}/*", "topic/fleet/*",
                                      "topic/room?/${ThingName}"}));
}

TEST_F(ProfileConfigTest, TheDefaultPolicyIsCheckedWithANameTheTemplateDoesNotReserve) {
  // "ThingName" is a fixed segment here (reserved), so the check must try another name rather than
  // blame default_policy for it.
  const auto config = load(R"([profiles.x.policy_template]
Publish = ["topic/ThingName/${ThingName}"]
[profiles.x.default_policy]
Publish = ["topic/ThingName/${ThingName}"]
)");
  EXPECT_TRUE(policy::reserved_by(x(config).policy_template, "ThingName"));
}

TEST_F(ProfileConfigTest, TheDefaultProfileWritesTheTightenedTemplate) {
  const auto text = default_config_text();
  EXPECT_NE(
      text.find(R"(Publish = ["topic/sensors/${ThingName}", "topic/sensors/${ThingName}/*"])"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("*/${ThingName}"), std::string::npos) << text;
}

TEST_F(ProfileConfigTest, BuildingProfilesReadsTheFleetSecretFile) {
  auto config = load("fleet_secret_file = \"fleet/x.secret\"\nthing_name_pattern = \"A.*\"\n");
  const auto secret = create_fleet_secret(dir_.path() / kDefaultFleetSecretFile);
  try {
    build_profiles(config);
    ADD_FAILURE() << "a missing secret file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'profiles.x.fleet_secret_file'"), std::string::npos)
        << e.what();
  }
  common::write_file_atomically(
      dir_.path() / "fleet/x.secret", "s3cret\n",
      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_THROW(build_profiles(config), std::runtime_error) << "group-readable";
  fs::permissions(dir_.path() / "fleet/x.secret", fs::perms::owner_read | fs::perms::owner_write);
  const auto profiles = build_profiles(config);
  ASSERT_EQ(profiles.size(), 2u);
  for (const auto& profile : profiles) {
    EXPECT_EQ(profile.fleet_secret, profile.label == "x" ? "s3cret" : secret);
  }
  const auto& x_profile = profiles[0].label == "x" ? profiles[0] : profiles[1];
  ASSERT_TRUE(x_profile.thing_name_pattern);
  EXPECT_EQ(x_profile.thing_name_pattern->text(), "A.*");
}

}  // namespace
}  // namespace estfleet::server
