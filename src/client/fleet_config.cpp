#include "client/fleet_config.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "client/credentials.hpp"
#include "client/renew_schedule.hpp"
#include "common/files.hpp"
#include "http/client.hpp"
#include "policy/policy_error.hpp"
#include "policy/text.hpp"

namespace estfleet::client {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

using Keys = std::span<const std::string_view>;
constexpr std::array<std::string_view, 2> kTopKeys{"ESTDetails", "Devices"};
constexpr std::array<std::string_view, 8> kEstDetailsKeys{
    "ESTAPIURL", "Region", "KV_Name",      "TrustAnchorFile",
    "KeyType",   "Label",  "OutputFolder", "RenewalThreshold"};
constexpr std::array<std::string_view, 2> kDeviceKeys{"IoTDetails", "KeyType"};

// The longest Region accepted; AWS region names are far shorter, this only stops accidents.
constexpr std::size_t kMaxRegionLength = 64;

std::string list(Keys keys) {
  std::string text;
  for (const auto key : keys) {
    text += (text.empty() ? "" : ", ") + std::string(key);
  }
  return text;
}

// Parses `text` keeping keys in written order, refusing a key written twice in one object: which
// copy wins differs between JSON readers, so such a file means nothing certain.
json parse_strictly(std::string_view text) {
  struct Frame {
    bool object = false;
    std::set<std::string> keys;
    std::string key;
    std::size_t index = 0;  // of the current element, in an array
  };
  std::vector<Frame> frames;
  const auto path_to = [&](const std::string& key) {
    std::string path = "$";
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
      path += frames[i].object ? "." + frames[i].key : "[" + std::to_string(frames[i].index) + "]";
    }
    return path + "." + key;
  };
  const auto element_done = [&] {
    if (!frames.empty() && !frames.back().object) {
      ++frames.back().index;
    }
  };
  return json::parse(text, [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        frames.push_back({event == json::parse_event_t::object_start, {}, {}, 0});
        break;
      case json::parse_event_t::key:
        if (!frames.back().keys.insert(parsed.get<std::string>()).second) {
          throw ConfigError(path_to(parsed.get<std::string>()), "is written twice in one object");
        }
        frames.back().key = parsed.get<std::string>();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  });
}

void require_object(const json& value, const std::string& path) {
  if (!value.is_object()) {
    throw ConfigError(path, std::string("must be an object, not ") + value.type_name());
  }
}

void refuse_unknown_keys(const json& object, const std::string& path, Keys known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw ConfigError(path + "." + key, "is not a known key (expected " + list(known) + ")");
    }
  }
}

const json& required(const json& object, const std::string& path, const std::string& key) {
  const auto it = object.find(key);
  if (it == object.end()) {
    throw ConfigError(path + "." + key, "is required but missing");
  }
  return *it;
}

// A non-empty string at object[key]; nullopt when the key is absent.
std::optional<std::string> optional_string(const json& object, const std::string& path,
                                           const std::string& key) {
  const auto it = object.find(key);
  if (it == object.end()) {
    return std::nullopt;
  }
  if (!it->is_string()) {
    throw ConfigError(path + "." + key, std::string("must be a string, not ") + it->type_name());
  }
  auto text = it->get<std::string>();
  if (text.empty()) {
    throw ConfigError(path + "." + key, "must not be empty");
  }
  return text;
}

std::string required_string(const json& object, const std::string& path, const std::string& key) {
  required(object, path, key);
  return *optional_string(object, path, key);
}

bool is_word(std::string_view text, bool allow_hyphen) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           (allow_hyphen && c == '-');
  });
}

std::optional<crypto::KeyType> optional_key_type(const json& object, const std::string& path) {
  const auto name = optional_string(object, path, "KeyType");
  if (!name) {
    return std::nullopt;
  }
  const auto type = crypto::parse_key_type(*name);
  if (!type) {
    throw ConfigError(path + ".KeyType",
                      "'" + *name +
                          "' is not a key type (expected ec-p256, ec-p384, rsa-2048, rsa-3072, "
                          "rsa-4096 or ed25519)");
  }
  return type;
}

void read_est_details(const json& details, const std::string& path, FleetConfig& config,
                      crypto::KeyType& fleet_key_type) {
  require_object(details, path);
  refuse_unknown_keys(details, path, kEstDetailsKeys);

  config.server_url = required_string(details, path, "ESTAPIURL");
  try {
    http::parse_url(config.server_url);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(path + ".ESTAPIURL", e.what());
  }

  config.region = optional_string(details, path, "Region").value_or("");
  if (config.region.size() > kMaxRegionLength || policy::has_control_character(config.region)) {
    throw ConfigError(path + ".Region", "must be at most " + std::to_string(kMaxRegionLength) +
                                            " characters without control characters");
  }

  config.kv_name = required_string(details, path, "KV_Name");
  if (config.kv_name.starts_with("file:")) {
    if (config.kv_name.size() == 5) {
      throw ConfigError(path + ".KV_Name", "'file:' must be followed by the secret file's path");
    }
  } else if (!is_word(config.kv_name, false) ||
             (config.kv_name[0] >= '0' && config.kv_name[0] <= '9')) {
    throw ConfigError(path + ".KV_Name", "'" + config.kv_name +
                                             "' is neither an environment variable name nor "
                                             "file:PATH");
  }

  config.label = optional_string(details, path, "Label").value_or("");
  if (config.label.size() > 64 || !is_word(config.label, true)) {
    throw ConfigError(path + ".Label",
                      "'" + config.label + "' is not an EST label (1 to 64 of A-Z a-z 0-9 _ -)");
  }

  if (const auto file = optional_string(details, path, "TrustAnchorFile")) {
    config.trust_anchor_file = config.base_folder / *file;
  }
  if (const auto folder = optional_string(details, path, "OutputFolder")) {
    config.output_folder = config.base_folder / *folder;
  }
  if (const auto threshold = optional_string(details, path, "RenewalThreshold")) {
    try {
      config.renewal_threshold = RenewalThreshold::parse(*threshold);
    } catch (const ClientError& e) {
      throw ConfigError(path + ".RenewalThreshold", e.what());
    }
  }
  fleet_key_type = optional_key_type(details, path).value_or(crypto::KeyType::ec_p256);
}

void read_devices(const json& devices, const std::string& path, crypto::KeyType fleet_key_type,
                  FleetConfig& config) {
  if (!devices.is_array()) {
    throw ConfigError(path, std::string("must be an array, not ") + devices.type_name());
  }
  if (devices.empty()) {
    throw ConfigError(path, "lists no devices");
  }
  std::map<std::string, std::string> seen;  // ThingName -> path of the device that has it
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const std::string device_path = path + "[" + std::to_string(i) + "]";
    const auto& device = devices[i];
    require_object(device, device_path);
    refuse_unknown_keys(device, device_path, kDeviceKeys);
    const auto& details = required(device, device_path, "IoTDetails");
    DeviceConfig parsed;
    try {
      parsed.iot_details = policy::parse_iot_details(details, device_path + ".IoTDetails");
    } catch (const policy::PolicyError& e) {
      throw ConfigError(e.path(), e.message());
    }
    parsed.key_type = optional_key_type(device, device_path).value_or(fleet_key_type);
    const auto [it, fresh] = seen.emplace(parsed.iot_details.thing_name, device_path);
    if (!fresh) {
      throw ConfigError(device_path + ".IoTDetails.ThingName",
                        "'" + it->first + "' is already the ThingName of " + it->second);
    }
    config.devices.push_back(std::move(parsed));
  }
}

// Like ssh with a private key: a fleet secret that group or others may read (or write) is
// refused, since anyone who reads it can enroll every name of the fleet.
void refuse_open_secret_file(const fs::path& file, const std::string& path) {
  std::error_code error;
  const auto status = fs::status(file, error);
  if (error || !fs::exists(status)) {
    return;  // reading it says what is wrong
  }
  const auto open = status.permissions() & (fs::perms::group_all | fs::perms::others_all);
  if (open == fs::perms::none) {
    return;
  }
  const auto bits = static_cast<unsigned>(status.permissions() & fs::perms::mask);
  std::string mode;
  for (int shift = 9; shift >= 0; shift -= 3) {
    mode += static_cast<char>('0' + ((bits >> static_cast<unsigned>(shift)) & 7U));
  }
  throw ConfigError(path, "the fleet secret file " + file.string() + " has mode " + mode +
                              ", so group or others may read it; run chmod 600 " + file.string());
}

}  // namespace

FleetConfig parse_fleet_config(std::string_view text, const fs::path& base_folder) {
  json document;
  try {
    document = parse_strictly(text);
  } catch (const json::exception& e) {
    // A syntax error, or a number no double holds (out_of_range.406, 1E400: found by
    // fuzz_fleet_config). nlohmann prefixes "[json.exception.parse_error.101] "; the rest is the
    // useful sentence.
    std::string reason = e.what();
    if (const auto bracket = reason.find("] "); bracket != std::string::npos) {
      reason.erase(0, bracket + 2);
    }
    throw ConfigError("$", "is not JSON: " + reason);
  }
  FleetConfig config;
  config.base_folder = base_folder;
  require_object(document, "$");
  refuse_unknown_keys(document, "$", kTopKeys);
  crypto::KeyType fleet_key_type = crypto::KeyType::ec_p256;
  read_est_details(required(document, "$", "ESTDetails"), "$.ESTDetails", config, fleet_key_type);
  read_devices(required(document, "$", "Devices"), "$.Devices", fleet_key_type, config);
  return config;
}

FleetConfig load_fleet_config(const fs::path& file) {
  std::string text;
  try {
    text = common::read_file(file);
  } catch (const std::runtime_error& e) {
    throw ConfigError("$", e.what());
  }
  auto folder = fs::absolute(file).parent_path();
  return parse_fleet_config(text, folder);
}

std::string read_fleet_secret(const FleetConfig& config, const EnvironmentLookup& environment) {
  const std::string path = "$.ESTDetails.KV_Name";
  std::string secret;
  if (config.kv_name.starts_with("file:")) {
    const auto file = config.base_folder / config.kv_name.substr(5);
    refuse_open_secret_file(file, path);
    try {
      secret = read_password_file(file);
    } catch (const std::runtime_error& e) {
      throw ConfigError(path, std::string("the fleet secret file is unusable: ") + e.what());
    }
    if (secret.empty()) {
      throw ConfigError(path, "the fleet secret file " + file.string() + " is empty");
    }
    return secret;
  }
  const auto value = environment(config.kv_name);
  if (!value) {
    throw ConfigError(path, "the environment variable " + config.kv_name +
                                " that should hold the fleet secret is not set");
  }
  if (value->empty()) {
    throw ConfigError(path, "the environment variable " + config.kv_name + " is empty");
  }
  return *value;
}

}  // namespace estfleet::client
