#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace estfleet::server {

struct ServeOptions {
  std::filesystem::path data_dir;
  std::optional<std::string> listen;               // overrides server.listen
  std::optional<std::filesystem::path> port_file;  // receives the bound port once listening
};

// Loads the data folder and serves EST until SIGTERM/SIGINT, then drains in-flight requests.
// Throws std::runtime_error with one sentence when it cannot start.
void serve(const ServeOptions& options);

}  // namespace estfleet::server
