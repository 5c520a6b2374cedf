// client_config.json: the fleet a factory station provisions (ESTDetails and Devices[]), read
// strictly so that a typo is refused with its JSON path before any device talks to the server.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/errors.hpp"
#include "client/renew_schedule.hpp"
#include "crypto/key.hpp"
#include "policy/iot_details.hpp"

namespace estfleet::client {

// What is wrong with the configuration and where: what() is "<JSON path>: <sentence>".
class ConfigError : public ClientError {
 public:
  ConfigError(const std::string& path, const std::string& message)
      : ClientError(path + ": " + message), path_(path) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

struct DeviceConfig {
  policy::IotDetails iot_details;
  crypto::KeyType key_type = crypto::KeyType::ec_p256;  // the device's KeyType, else the fleet's
};

struct FleetConfig {
  std::string server_url;  // ESTDetails.ESTAPIURL
  std::string region;      // ESTDetails.Region; empty when absent
  std::string kv_name;     // ESTDetails.KV_Name: an environment variable, or "file:PATH"
  std::string label;       // ESTDetails.Label; empty for the default profile
  // Optional paths, made absolute against the config file's folder.
  std::optional<std::filesystem::path> trust_anchor_file;  // ESTDetails.TrustAnchorFile
  std::optional<std::filesystem::path> output_folder;      // ESTDetails.OutputFolder
  // ESTDetails.RenewalThreshold ("80%" or "7d"): when est-client renew renews; --threshold
  // overrides it.
  std::optional<RenewalThreshold> renewal_threshold;
  std::filesystem::path base_folder;  // the config file's folder
  std::vector<DeviceConfig> devices;
};

// Parses the text of a client_config.json whose relative paths are relative to `base_folder`.
// Throws ConfigError naming the JSON path of the first problem: not JSON, a missing or unknown
// key, a key written twice in one object, a value of the wrong type, invalid IoTDetails, a
// ThingName used twice.
FleetConfig parse_fleet_config(std::string_view text, const std::filesystem::path& base_folder);

// Reads and parses `file`; ConfigError("$", ...) when it cannot be read.
FleetConfig load_fleet_config(const std::filesystem::path& file);

// Looks an environment variable up; nullopt when it is not set.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The fleet secret KV_Name points at: the environment variable's value, or the contents of the
// file written "file:PATH" without trailing line endings. Throws ConfigError at
// $.ESTDetails.KV_Name when the variable is unset, the file unreadable, or the secret empty.
std::string read_fleet_secret(const FleetConfig& config, const EnvironmentLookup& environment);

}  // namespace estfleet::client
