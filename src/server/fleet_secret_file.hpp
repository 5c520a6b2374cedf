// A profile's fleet secret lives in its own 0600 file, never in est-server.toml: the config is
// shown and copied around; the secret derives every device's password.
#pragma once

#include <filesystem>
#include <string>

namespace estfleet::server {

// The secret in `path`, without a trailing newline. Throws std::runtime_error when the file
// cannot be read, is empty, or group or others may read or write it.
std::string read_fleet_secret(const std::filesystem::path& path);

// Writes a new secret (crypto::generate_fleet_secret) to `path`: 0600, atomically, its folder
// created 0700. Returns the secret.
std::string create_fleet_secret(const std::filesystem::path& path);

}  // namespace estfleet::server
