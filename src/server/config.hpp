// est-server.toml: one file per data folder. Unknown keys are errors, not silently ignored, so a
// typo in a security setting cannot pass unnoticed.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "est/profile.hpp"
#include "http/server.hpp"

namespace estfleet::server {

struct ProfileConfig {
  std::string label;  // "" for [profiles.default]
  std::vector<est::AuthMethod> auth_methods{est::AuthMethod::basic};
  bool require_all_methods = false;
  bool require_pop = false;
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  std::chrono::seconds backdate{std::chrono::minutes(5)};
  std::set<std::string> allowed_san{"dns", "ip", "uri"};
  std::optional<std::filesystem::path> bootstrap_trust_file;
};

struct Config {
  std::filesystem::path data_dir;
  http::ServerOptions http;  // listen address, TLS files, timeouts and limits
  std::filesystem::path ca_key;
  std::filesystem::path ca_chain;
  std::filesystem::path database_path;  // from database.url "sqlite:///<path>"
  std::vector<ProfileConfig> profiles;
};

inline constexpr const char* kConfigFileName = "est-server.toml";

// Reads <data_dir>/est-server.toml; relative paths in it are relative to data_dir. Throws
// std::runtime_error naming the file, the key and what is wrong with it.
Config load_config(const std::filesystem::path& data_dir);

// The documented configuration `est-server init` writes.
std::string default_config_text();

// "HOST:PORT" or "[IPv6]:PORT" into the options. Throws std::invalid_argument naming the problem.
void apply_listen_address(const std::string& text, http::ServerOptions& options);

// "90s", "15m", "12h", "365d" or a bare number of seconds. Throws std::invalid_argument.
std::chrono::seconds parse_duration(const std::string& text);

// Turns the configured profiles into protocol profiles (loading bootstrap trust stores).
std::vector<est::EnrollmentProfile> build_profiles(const Config& config);

}  // namespace estfleet::server
