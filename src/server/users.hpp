#pragma once

#include <filesystem>
#include <string>

namespace estfleet::server {

// Adds (or with `replace`, replaces) an HTTP Basic user in the data folder's registry; the
// password is stored only as a scrypt hash. Throws std::runtime_error with one sentence.
void add_user(const std::filesystem::path& data_dir, const std::string& name,
              const std::string& password, bool replace);

}  // namespace estfleet::server
