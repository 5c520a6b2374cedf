// `est-server fleet secret|password`: what a factory station needs to give each device its
// Basic password without the server handing out the secret over the network.
#pragma once

#include <filesystem>
#include <string>

namespace estfleet::server {

// The fleet secret of `profile` ("default" or a label). Throws std::runtime_error when the
// profile has no fleet_secret_file.
std::string fleet_secret(const std::filesystem::path& data_dir, const std::string& profile);

// NAME's fleet password under `profile`, after checking NAME against the ThingName rule and the
// profile's thing_name_pattern (a password for a name the server refuses would only mislead).
std::string fleet_password(const std::filesystem::path& data_dir, const std::string& thing_name,
                           const std::string& profile);

}  // namespace estfleet::server
