// HTTPS client transport for est-client: a synchronous TLS connection that can carry several
// requests (keep-alive) and exposes the channel binding needed for proof of possession.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace estfleet::http {

// "https://host[:port][/prefix]". Only https is accepted.
struct Url {
  std::string host;
  std::uint16_t port = 443;
  std::string path_prefix;  // without a trailing '/', may be empty
};
// Throws std::invalid_argument naming what is wrong with `text`.
Url parse_url(const std::string& text);

// The connection could not be made or broke: one sentence, e.g. "TLS handshake with
// localhost:8443 failed: certificate verify failed".
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientOptions {
  std::string host;
  std::uint16_t port = 443;
  // PEM contents of the trust anchors for the server certificate. Required unless
  // verify_server is false (bootstrap: the caller then pins the cacerts fingerprint itself).
  std::string trust_anchors_pem;
  bool verify_server = true;           // also checks the host name against the certificate's SAN
  std::string client_certificate_pem;  // optional client identity (mTLS)
  std::string client_private_key_pem;
  std::chrono::milliseconds timeout{30'000};  // per operation: connect, handshake, write, read
  std::optional<int> max_tls_version;         // e.g. TLS1_2_VERSION to force TLS 1.2
  std::size_t max_response_bytes = std::size_t{4} * 1024 * 1024;
};

class Connection {
 public:
  // Resolves, connects and completes the TLS handshake. Throws TransportError.
  static Connection open(const ClientOptions& options);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  int tls_version() const;
  // tls-unique (TLS 1.2) or tls-exporter (TLS 1.3), raw bytes: what the server will see.
  std::string channel_binding() const;
  std::vector<std::string> server_chain_der() const;  // leaf first

  // Sends one request (Host, Content-Length and User-Agent are added) and reads the response.
  // Throws TransportError on I/O failure or timeout.
  Response send(const Request& request);

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace estfleet::http
