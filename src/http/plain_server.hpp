// A small plain-HTTP (no TLS) server for the operations endpoints (/metrics, /healthz, /readyz):
// one io thread, one request per connection, explicit deadlines and size limits. It is meant for
// loopback or a private network, never for the public EST port.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/message.hpp"

namespace estfleet::http {

struct PlainServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;                   // 0: an ephemeral port (see port())
  std::chrono::milliseconds read_timeout{10'000};  // the whole request, from the connection on
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_header_bytes = std::size_t{8} * 1024;
  std::size_t max_body_bytes = std::size_t{4} * 1024;
  std::size_t max_connections = 64;
};

class PlainServer {
 public:
  // Binds and listens. Throws std::runtime_error with one sentence
  // (e.g. "cannot listen on 127.0.0.1:9443: Address already in use").
  PlainServer(PlainServerOptions options, Handler handler);
  ~PlainServer();  // stop()
  PlainServer(const PlainServer&) = delete;
  PlainServer& operator=(const PlainServer&) = delete;

  std::uint16_t port() const;

  // Serves on a thread of its own until stop(). The handler runs on that thread, so it must be
  // quick; its TlsPeer holds only the remote address and port.
  void start();
  // Closes the listener and every connection, then joins the thread. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace estfleet::http
