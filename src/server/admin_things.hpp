// `est-server things list|show|disable|enable`: the registered devices.
#pragma once

#include <filesystem>
#include <string>

namespace estfleet::server {

// By name: NAME STATUS PROFILE POLICY ATTRIBUTES UPDATED, or with `json` an array of objects.
std::string list_things(const std::filesystem::path& data_dir, bool json);

// Attributes, status, policy name and version, and the thing's certificates (newest first).
// Throws std::runtime_error for an unknown name.
std::string show_thing(const std::filesystem::path& data_dir, const std::string& name, bool json);

// Disables the thing and revokes its certificates with `reason` (RFC 5280 name).
std::string disable_thing(const std::filesystem::path& data_dir, const std::string& name,
                          const std::string& reason, bool json);

// Lets the thing enroll again (afresh: its revoked certificates stay revoked).
std::string enable_thing(const std::filesystem::path& data_dir, const std::string& name, bool json);

}  // namespace estfleet::server
