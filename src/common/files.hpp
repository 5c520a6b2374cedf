#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace estfleet::common {

// Writes `contents` to `path` atomically: a temporary file in the same folder created with
// `mode`, fsync, rename over `path`, fsync of the folder. A crash leaves the old or the new file,
// never a torn one. Throws std::runtime_error naming the path.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::filesystem::perms mode);

// Makes sure `path` can be written later: creates its folder if missing and checks that a file
// can be created there. Called before any request, so that a certificate is never issued for a
// key that then cannot be saved. Throws std::runtime_error naming the path.
void prepare_output(const std::filesystem::path& path);

// Throws std::runtime_error("cannot read <path>: <reason>").
std::string read_file(const std::filesystem::path& path);

}  // namespace estfleet::common
