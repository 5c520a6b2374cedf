// The load generator: N concurrent TLS connections carrying a fixed list of HTTP requests, each
// request sent once, latencies and failures tallied. Knows nothing about EST beyond "a success is
// a 200 carrying application/pkcs7-mime" (what cacerts, simpleenroll and simplereenroll answer).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::bench {

inline constexpr std::string_view kSuccessType = "application/pkcs7-mime";
// Bounds what a misbehaving server can make the client buffer; a longer response is a failure.
inline constexpr std::size_t kMaxResponseBytes = std::size_t{4} * 1024 * 1024;

struct Endpoint {
  std::string host;
  std::uint16_t port = 443;
  std::string trust_anchors_pem;  // the server's certificate must chain to one of these
};

// A TLS client identity (mTLS): re-enrollment presents the certificate being renewed.
struct ClientIdentity {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
};

struct Job {
  std::string method;
  std::string target;
  std::string content_type;  // empty: no body, no Content-Type
  std::string body;
  std::string authorization;  // Authorization header value, empty: none
  // Present on the connection that carries this job. Set only with LoadPlan::new_connection,
  // since a kept-alive connection has one identity for all its jobs.
  const ClientIdentity* identity = nullptr;
};

struct LoadPlan {
  unsigned connections = 1;
  // A fresh TCP + TLS connection for every request (the latency includes both); otherwise the
  // connections are opened before on_start and reused.
  bool new_connection = false;
  unsigned threads = 1;                       // io_context threads
  std::chrono::milliseconds timeout{30'000};  // per connect, handshake, write and read
  bool keep_bodies = false;
  // Connections opened before on_start besides the working ones, each carrying `idle_request`
  // once (so that the server's keep-alive idle deadline, not its first-request deadline, applies)
  // and then left idle until the timed phase is over.
  unsigned idle_connections = 0;
  const Job* idle_request = nullptr;
  // Called when the timed phase starts and ends, so the caller can read CPU counters exactly then.
  std::function<void()> on_start;
  std::function<void()> on_finish;
};

// What the first successful handshake negotiated: the floor depends on it.
struct TlsFacts {
  std::string version;  // "TLSv1.3"
  int group_nid = 0;    // key exchange group (NID_X25519, NID_X9_62_prime256v1, ...)
  std::string server_certificate_der;
};

struct LoadResult {
  std::vector<std::int64_t> latencies_ns;       // of the successful requests, unordered
  std::map<std::string, std::uint64_t> errors;  // HTTP status ("409") or failure kind -> count
  std::vector<std::string> bodies;              // per job when keep_bodies; empty for a failed job
  std::chrono::nanoseconds elapsed{0};          // between on_start and on_finish
  std::size_t idle_opened = 0;       // idle connections whose handshake and request succeeded
  std::size_t idle_open_at_end = 0;  // of those, the ones the server had not closed by on_finish
  std::map<std::string, std::uint64_t> idle_errors;  // failures while opening them
  TlsFacts tls;
};

// The Host header for `endpoint`: an IPv6 literal in brackets, the port unless it is 443.
std::string host_header(const Endpoint& endpoint);

// Throws std::runtime_error when the host cannot be resolved or TLS cannot be set up; failures of
// single requests are tallied in `errors`.
LoadResult run_load(const Endpoint& endpoint, const std::vector<Job>& jobs, const LoadPlan& plan);

}  // namespace estfleet::bench
