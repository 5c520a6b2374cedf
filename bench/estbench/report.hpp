// What one est-bench run measured, and its two renderings (text for people, JSON for scripts).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "estbench/crypto_floor.hpp"

namespace estfleet::bench {

struct Latency {  // milliseconds, nearest rank
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};
Latency summarize_latencies(std::vector<std::int64_t> latencies_ns);

struct ServerMemory {  // /proc/PID/status
  std::uint64_t rss_kib = 0;
  std::uint64_t hwm_kib = 0;  // peak RSS over the process's life
};

struct IdleReport {
  unsigned requested = 0;
  std::size_t opened = 0;       // handshake and first request succeeded
  std::size_t open_at_end = 0;  // not closed by the server when the timed phase ended
  std::map<std::string, std::uint64_t> errors;
};

struct Report {
  std::string mode;  // "enroll", "reenroll", "cacerts"
  bool new_connection = false;
  bool device = false;      // the device-like client (--device) rather than the Asio one
  bool tcp_nodelay = true;  // on the client's sockets
  unsigned connections = 0;
  unsigned threads = 0;
  std::string key_type;
  std::size_t requests = 0;  // timed requests sent
  std::size_t succeeded = 0;
  double duration_s = 0;
  double enrollments_per_s = 0;  // successful operations per second (cacerts: responses)
  Latency latency_ms;
  std::map<std::string, std::uint64_t> errors;
  std::string tls_version;
  std::string tls_group;
  std::string load_average;  // /proc/loadavg before the timed phase: how noisy the machine was
  double client_cpu_us_per_op = 0;
  CryptoFloor floor;
  std::optional<double> server_cpu_us_per_op;  // with --server-pid
  // With --server-pid: before the idle connections were opened, when the timed phase started and
  // when it ended.
  std::optional<ServerMemory> server_memory_start;
  std::optional<ServerMemory> server_memory_before;
  std::optional<ServerMemory> server_memory_after;
  std::optional<IdleReport> idle;  // with --idle

  // Server CPU per operation over the floor; nullopt without a server PID or a zero floor
  // (cacerts over kept-alive connections does no public-key work).
  std::optional<double> ratio_to_floor() const;
};

std::string to_json(const Report& report);
std::string to_text(const Report& report);

}  // namespace estfleet::bench
