#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace estfleet::server {

struct ServeOptions {
  std::filesystem::path data_dir;
  std::optional<std::string> listen;               // overrides server.listen
  std::optional<std::filesystem::path> port_file;  // receives the bound port once listening
  std::optional<std::string> metrics_listen;       // overrides (and enables) [metrics] listen
  // Receives the metrics listener's bound port; an error when that listener is off.
  std::optional<std::filesystem::path> metrics_port_file;
  // The time for issuance, CRLs and OCSP; the system clock when empty. Tests inject one to run a
  // certificate's whole life in seconds.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// Loads the data folder and serves EST until SIGTERM/SIGINT, then drains in-flight requests.
// Throws std::runtime_error with one sentence when it cannot start.
void serve(const ServeOptions& options);

}  // namespace estfleet::server
