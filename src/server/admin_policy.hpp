// `est-server policy show NAME`: a thing's stored AWS IoT policy document.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace estfleet::server {

// The latest version, or `version`. Throws std::runtime_error naming what does not exist.
std::string show_policy(const std::filesystem::path& data_dir, const std::string& name,
                        std::optional<int> version);

}  // namespace estfleet::server
