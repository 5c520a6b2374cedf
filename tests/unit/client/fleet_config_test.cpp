#include "client/fleet_config.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// examples/client_config.json as shipped.
constexpr const char* kExample = R"({
  "ESTDetails": {
    "ESTAPIURL": "https://localhost:8443",
    "Region": "local",
    "KV_Name": "EST_FLEET_SECRET"
  },
  "Devices": [
    {
      "IoTDetails": {
        "ThingName": "DeviceAlpha",
        "Policies": { "Connect": true, "Publish": true, "Receive": null, "Subscribe": null },
        "Topics": {
          "Connect": { "Name1": "client/DeviceAlpha" },
          "Publish": { "Name1": "topic/sensors/DeviceAlpha/telemetry" },
          "Receive": { "Name1": "topic/commands/DeviceAlpha" },
          "Subscribe": { "Name1": "topicfilter/commands/DeviceAlpha" }
        }
      }
    },
    {
      "IoTDetails": {
        "ThingName": "DeviceBeta",
        "Policies": { "Connect": true, "Publish": true, "Receive": true, "Subscribe": true },
        "Topics": {
          "Connect": { "Name1": "client/DeviceBeta" },
          "Publish": { "Name1": "topic/sensors/DeviceBeta/telemetry" },
          "Receive": { "Name1": "topic/commands/DeviceBeta", "Name2": "topic/broadcast" },
          "Subscribe": { "Name1": "topicfilter/commands/DeviceBeta",
                         "Name2": "topicfilter/broadcast" }
        }
      }
    }
  ]
})";

FleetConfig parse_changed(const std::function<void(json&)>& change,
                          const fs::path& base = "/factory") {
  auto document = json::parse(kExample);
  change(document);
  return parse_fleet_config(document.dump(), base);
}

// The JSON path a refused configuration names.
std::string refused_at(const std::function<void(json&)>& change) {
  try {
    parse_changed(change);
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(e.path() + ": ", 0), 0U) << e.what();
    return e.path();
  }
  ADD_FAILURE() << "the configuration was accepted";
  return {};
}

TEST(FleetConfig, ReadsTheShippedExample) {
  const auto config = parse_fleet_config(kExample, "/factory");
  EXPECT_EQ(config.server_url, "https://localhost:8443");
  EXPECT_EQ(config.region, "local");
  EXPECT_EQ(config.kv_name, "EST_FLEET_SECRET");
  EXPECT_EQ(config.label, "");
  EXPECT_FALSE(config.trust_anchor_file);
  EXPECT_FALSE(config.output_folder);
  ASSERT_EQ(config.devices.size(), 2U);
  EXPECT_EQ(config.devices[0].iot_details.thing_name, "DeviceAlpha");
  EXPECT_EQ(config.devices[1].iot_details.thing_name, "DeviceBeta");
  EXPECT_EQ(config.devices[0].key_type, crypto::KeyType::ec_p256);
}

TEST(FleetConfig, AcceptsTheDocumentedExtras) {
  const auto config = parse_changed([](json& d) {
    d["ESTDetails"]["TrustAnchorFile"] = "pki/root.pem";
    d["ESTDetails"]["KeyType"] = "ec-p384";
    d["ESTDetails"]["Label"] = "factory_2";
    d["ESTDetails"]["OutputFolder"] = "/var/lib/devices";
    d["Devices"][1]["KeyType"] = "ed25519";
  });
  EXPECT_EQ(config.trust_anchor_file, fs::path("/factory/pki/root.pem")) << "relative to config";
  EXPECT_EQ(config.output_folder, fs::path("/var/lib/devices")) << "absolute stays";
  EXPECT_EQ(config.label, "factory_2");
  EXPECT_EQ(config.devices[0].key_type, crypto::KeyType::ec_p384) << "the fleet's default";
  EXPECT_EQ(config.devices[1].key_type, crypto::KeyType::ed25519) << "the device's own";
}

TEST(FleetConfig, RenewalThresholdIsAPercentageOrADurationBeforeExpiry) {
  EXPECT_FALSE(parse_changed([](json&) {}).renewal_threshold);
  const auto percent = parse_changed([](json& d) { d["ESTDetails"]["RenewalThreshold"] = "66%"; });
  ASSERT_TRUE(percent.renewal_threshold);
  EXPECT_EQ(percent.renewal_threshold->text(), "66%");
  const auto before = parse_changed([](json& d) { d["ESTDetails"]["RenewalThreshold"] = "7d"; });
  ASSERT_TRUE(before.renewal_threshold);
  EXPECT_EQ(before.renewal_threshold->text(), "7d");
  EXPECT_EQ(refused_at([](json& d) { d["ESTDetails"]["RenewalThreshold"] = "100%"; }),
            "$.ESTDetails.RenewalThreshold");
  EXPECT_EQ(refused_at([](json& d) { d["ESTDetails"]["RenewalThreshold"] = 80; }),
            "$.ESTDetails.RenewalThreshold");
}

TEST(FleetConfig, RegionIsOptional) {
  EXPECT_EQ(parse_changed([](json& d) { d["ESTDetails"].erase("Region"); }).region, "");
}

TEST(FleetConfig, NotJsonIsRefusedAtTheRoot) {
  try {
    parse_fleet_config("{\"ESTDetails\": ", "/factory");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "$");
    EXPECT_NE(std::string(e.what()).find("is not JSON"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("json.exception"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_fleet_config("[]", "/"), ConfigError);
}

TEST(FleetConfig, ANumberNoDoubleHoldsIsRefusedAtTheRoot) {
  try {
    parse_fleet_config(R"({"ESTDetails": {"Region": 1E400}})", "/factory");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "$");
    EXPECT_NE(std::string(e.what()).find("number overflow"), std::string::npos) << e.what();
  }
}

TEST(FleetConfig, EachProblemIsNamedByItsJsonPath) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases{
      {[](json& d) { d = json::array(); }, "$"},
      {[](json& d) { d["Extra"] = 1; }, "$.Extra"},
      {[](json& d) { d.erase("ESTDetails"); }, "$.ESTDetails"},
      {[](json& d) { d["ESTDetails"] = "x"; }, "$.ESTDetails"},
      {[](json& d) { d["ESTDetails"]["KVName"] = "X"; }, "$.ESTDetails.KVName"},
      {[](json& d) { d["ESTDetails"].erase("ESTAPIURL"); }, "$.ESTDetails.ESTAPIURL"},
      {[](json& d) { d["ESTDetails"]["ESTAPIURL"] = "http://h"; }, "$.ESTDetails.ESTAPIURL"},
      {[](json& d) { d["ESTDetails"]["ESTAPIURL"] = 8443; }, "$.ESTDetails.ESTAPIURL"},
      {[](json& d) { d["ESTDetails"]["Region"] = 1; }, "$.ESTDetails.Region"},
      {[](json& d) { d["ESTDetails"]["Region"] = ""; }, "$.ESTDetails.Region"},
      {[](json& d) { d["ESTDetails"]["Region"] = "eu\nwest"; }, "$.ESTDetails.Region"},
      {[](json& d) { d["ESTDetails"].erase("KV_Name"); }, "$.ESTDetails.KV_Name"},
      {[](json& d) { d["ESTDetails"]["KV_Name"] = "file:"; }, "$.ESTDetails.KV_Name"},
      {[](json& d) { d["ESTDetails"]["KV_Name"] = "MY SECRET"; }, "$.ESTDetails.KV_Name"},
      {[](json& d) { d["ESTDetails"]["KV_Name"] = "1SECRET"; }, "$.ESTDetails.KV_Name"},
      {[](json& d) { d["ESTDetails"]["KeyType"] = "dsa"; }, "$.ESTDetails.KeyType"},
      {[](json& d) { d["ESTDetails"]["Label"] = "a/b"; }, "$.ESTDetails.Label"},
      {[](json& d) { d["ESTDetails"]["TrustAnchorFile"] = ""; }, "$.ESTDetails.TrustAnchorFile"},
      {[](json& d) { d["ESTDetails"]["OutputFolder"] = false; }, "$.ESTDetails.OutputFolder"},
      {[](json& d) { d.erase("Devices"); }, "$.Devices"},
      {[](json& d) { d["Devices"] = json::object(); }, "$.Devices"},
      {[](json& d) { d["Devices"] = json::array(); }, "$.Devices"},
      {[](json& d) { d["Devices"][1] = "DeviceBeta"; }, "$.Devices[1]"},
      {[](json& d) { d["Devices"][1]["Serial"] = "x"; }, "$.Devices[1].Serial"},
      {[](json& d) { d["Devices"][1]["KeyType"] = "rsa-1024"; }, "$.Devices[1].KeyType"},
      {[](json& d) { d["Devices"][0].erase("IoTDetails"); }, "$.Devices[0].IoTDetails"},
      {[](json& d) { d["Devices"][1]["IoTDetails"]["ThingName"] = "DeviceAlpha"; },
       "$.Devices[1].IoTDetails.ThingName"},
  };
  for (const auto& [change, path] : cases) {
    EXPECT_EQ(refused_at(change), path);
  }
}

TEST(FleetConfig, IotDetailsProblemsKeepThePolicyLayersPath) {
  EXPECT_EQ(refused_at([](json& d) { d["Devices"][1]["IoTDetails"]["Policies"]["Jump"] = true; }),
            "$.Devices[1].IoTDetails.Policies.Jump");
  const auto bad_name =
      refused_at([](json& d) { d["Devices"][0]["IoTDetails"]["ThingName"] = "Device Alpha"; });
  EXPECT_EQ(bad_name.rfind("$.Devices[0].IoTDetails", 0), 0U) << bad_name;
  const auto unknown =
      refused_at([](json& d) { d["Devices"][0]["IoTDetails"]["Owner"] = "factory"; });
  EXPECT_EQ(unknown.rfind("$.Devices[0].IoTDetails", 0), 0U) << unknown;
}

TEST(FleetConfig, AKeyWrittenTwiceIsRefusedAtItsPath) {
  const auto twice = [](const std::string& text) {
    try {
      parse_fleet_config(text, "/factory");
    } catch (const ConfigError& e) {
      return e.path();
    }
    return std::string("accepted");
  };
  EXPECT_EQ(twice(R"({"ESTDetails": {"KV_Name": "A", "KV_Name": "B"}})"), "$.ESTDetails.KV_Name");
  EXPECT_EQ(twice(R"({"Devices": [1, {"IoTDetails": {"ThingName": "A", "ThingName": "B"}}]})"),
            "$.Devices[1].IoTDetails.ThingName");
  EXPECT_EQ(twice(R"({"Devices": [[], {}, {"KeyType": 1, "KeyType": 2}]})"),
            "$.Devices[2].KeyType");
}

TEST(FleetConfig, TheDuplicateNamesTheFirstHolder) {
  try {
    parse_changed([](json& d) { d["Devices"][1]["IoTDetails"]["ThingName"] = "DeviceAlpha"; });
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("$.Devices[0]"), std::string::npos) << e.what();
  }
}

TEST(FleetConfig, LoadResolvesPathsAgainstTheConfigFolder) {
  testing::TempDir tmp;
  auto document = json::parse(kExample);
  document["ESTDetails"]["OutputFolder"] = "out";
  common::write_file_atomically(tmp.path() / "client_config.json", document.dump(),
                                fs::perms::owner_read | fs::perms::owner_write);
  const auto config = load_fleet_config(tmp.path() / "client_config.json");
  EXPECT_EQ(config.base_folder, tmp.path());
  EXPECT_EQ(config.output_folder, tmp.path() / "out");
  try {
    load_fleet_config(tmp.path() / "missing.json");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.path(), "$");
  }
}

std::optional<std::string> no_environment(const std::string& /*name*/) {
  return std::nullopt;
}

// The JSON path of a refused fleet secret.
std::string secret_refused_at(const FleetConfig& config, const EnvironmentLookup& environment) {
  try {
    read_fleet_secret(config, environment);
  } catch (const ConfigError& e) {
    return e.path();
  }
  ADD_FAILURE() << "the secret was accepted";
  return {};
}

TEST(FleetSecret, ComesFromTheNamedEnvironmentVariable) {
  const auto config = parse_fleet_config(kExample, "/factory");
  const auto environment = [](const std::string& name) -> std::optional<std::string> {
    if (name == "EST_FLEET_SECRET") {
      return "s3cret";
    }
    return std::nullopt;
  };
  EXPECT_EQ(read_fleet_secret(config, environment), "s3cret");
  EXPECT_EQ(secret_refused_at(config, no_environment), "$.ESTDetails.KV_Name");
  EXPECT_EQ(secret_refused_at(config, [](const std::string&) { return std::string(); }),
            "$.ESTDetails.KV_Name")
      << "an empty secret is no secret";
}

TEST(FleetSecret, ComesFromAFileRelativeToTheConfig) {
  testing::TempDir tmp;
  common::write_file_atomically(tmp.path() / "fleet.secret", "s3cret\n",
                                fs::perms::owner_read | fs::perms::owner_write);
  common::write_file_atomically(tmp.path() / "empty.secret", "\n",
                                fs::perms::owner_read | fs::perms::owner_write);
  auto config =
      parse_changed([](json& d) { d["ESTDetails"]["KV_Name"] = "file:fleet.secret"; }, tmp.path());
  EXPECT_EQ(read_fleet_secret(config, no_environment), "s3cret") << "trailing newline stripped";
  config.kv_name = "file:" + (tmp.path() / "fleet.secret").string();
  EXPECT_EQ(read_fleet_secret(config, no_environment), "s3cret") << "absolute path";
  config.kv_name = "file:missing.secret";
  EXPECT_EQ(secret_refused_at(config, no_environment), "$.ESTDetails.KV_Name");
  config.kv_name = "file:empty.secret";
  EXPECT_EQ(secret_refused_at(config, no_environment), "$.ESTDetails.KV_Name");
}

TEST(FleetSecret, AFileThatGroupOrOthersMayReadIsRefused) {
  testing::TempDir tmp;
  const auto file = tmp.path() / "fleet.secret";
  auto config =
      parse_changed([](json& d) { d["ESTDetails"]["KV_Name"] = "file:fleet.secret"; }, tmp.path());
  for (const auto extra : {fs::perms::group_read, fs::perms::others_read, fs::perms::group_write,
                           fs::perms::others_exec}) {
    common::write_file_atomically(file, "s3cret\n",
                                  fs::perms::owner_read | fs::perms::owner_write | extra);
    try {
      read_fleet_secret(config, no_environment);
      ADD_FAILURE() << "a secret file with mode " << testing::file_mode(file) << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.path(), "$.ESTDetails.KV_Name");
      EXPECT_NE(std::string(e.what()).find("so group or others may read it; run chmod 600 " +
                                           file.string()),
                std::string::npos)
          << e.what();
    }
  }
  common::write_file_atomically(file, "s3cret\n", fs::perms::owner_read | fs::perms::group_read);
  try {
    read_fleet_secret(config, no_environment);
    ADD_FAILURE() << "mode 0440 was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("has mode 0440"), std::string::npos) << e.what();
  }
  common::write_file_atomically(file, "s3cret\n", fs::perms::owner_read);
  EXPECT_EQ(read_fleet_secret(config, no_environment), "s3cret") << "0400 is the owner's only";
}

}  // namespace
}  // namespace estfleet::client
