// est-bench's engine: prepares the workload, measures the crypto floor, runs the timed phase
// and reads the server's CPU time around it.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "crypto/key.hpp"
#include "estbench/report.hpp"

namespace estfleet::bench {

enum class Mode { enroll, reenroll, cacerts };
std::optional<Mode> parse_mode(std::string_view text);

struct BenchOptions {
  std::string server_url;
  std::string trust_anchors_pem;
  std::string user;  // HTTP Basic for enroll (and for reenroll's untimed enrollments); "" = none
  std::string password;
  Mode mode = Mode::enroll;
  unsigned connections = 1;
  std::size_t requests = 1;
  // nullopt: the mode's default, kept-alive except for reenroll (a connection presents one
  // client certificate, and a renewed certificate cannot be renewed again).
  std::optional<bool> new_connection;
  // The timed phase through the device-like client (estbench/device_load.hpp): a new connection
  // per request, one blocking thread per connection. Goes without new_connection and idle
  // connections.
  bool device = false;
  bool device_nagle = false;  // leave Nagle on on its sockets instead of setting TCP_NODELAY
  crypto::KeyType key_type = crypto::KeyType::ec_p256;
  std::optional<int> server_pid;
  unsigned threads = 0;  // 0: one per core
  // Connections opened (handshake + one cacerts request) before the timed phase and held idle
  // through it, besides `connections`.
  unsigned idle_connections = 0;
};

// Throws std::invalid_argument for options that cannot work together, std::runtime_error when the
// server cannot be reached or the setup fails. Progress lines go to `progress`.
Report run_benchmark(const BenchOptions& options, std::ostream& progress);

}  // namespace estfleet::bench
