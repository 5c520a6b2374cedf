// HTTPS server transport: Boost.Beast over Asio with OpenSSL. One session object per
// connection, explicit timeouts for each phase, a pool of io threads (one per core by default).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/message.hpp"

namespace estfleet::http {

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8443;    // 0: an ephemeral port (see Server::port())
  std::string certificate_chain_file;  // PEM: the server certificate then its intermediates
  std::string private_key_file;        // PEM
  unsigned threads = 0;                // 0: std::thread::hardware_concurrency()
  // Threads that run the handler, so that a request waiting for the registry's commit (its fsync)
  // holds neither an io thread nor the CPU, and the registry can batch the commits of many
  // requests. 0: eight per io thread, at least 16.
  unsigned handler_threads = 0;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{
      10'000};  // from the first byte of a request to its last header
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_header_bytes = std::size_t{8} * 1024;
  std::size_t max_body_bytes = std::size_t{64} * 1024;
  std::size_t max_connections = 20'000;
  bool handle_signals = true;  // SIGINT/SIGTERM trigger stop()
};

class Server {
 public:
  // Loads the TLS identity, binds and listens. Throws std::runtime_error with one sentence
  // (e.g. "cannot listen on 127.0.0.1:8443: Address already in use").
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;  // the bound port

  // Loads the certificate chain and key files again for the connections accepted from now on
  // (a renewed certificate); open connections keep the identity they began with. Callable from
  // any thread. Throws std::runtime_error as the constructor does, and the old identity stays.
  void reload_tls_identity();

  // TLS handshakes that failed or timed out since the start (for the metrics endpoint).
  std::uint64_t handshake_failures() const;

  // Serves until stop(): blocks the calling thread, which is one of the io threads.
  void run();

  // Graceful stop, callable from any thread: stops accepting, lets in-flight requests finish
  // and their responses be written, closes idle keep-alive connections, then run() returns.
  void stop();

  struct Impl;  // defined by the transport; public so its sessions can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace estfleet::http
