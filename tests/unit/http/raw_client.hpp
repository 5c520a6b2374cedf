// A deliberately primitive client for the transport tests: plain sockets and OpenSSL, so a test
// can send exactly the bytes it wants (ambiguous framing, a header cut short) or nothing at all,
// and watch when the server hangs up.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/ossl.hpp"

namespace estfleet::http::testing {

struct Received {
  std::string bytes;
  bool closed = false;              // the server closed the connection before the limit
  std::chrono::milliseconds after;  // since the read started
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port over plain TCP. Throws std::runtime_error.
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // TLS handshake without verifying the server: these tests are about the server's behaviour.
  // With `resume`, offers that session (from session() of an earlier connection).
  void start_tls(SSL_SESSION* resume = nullptr);
  // Whether the handshake resumed the offered session instead of making a new one.
  bool resumed() const;
  // The session to offer on a later connection; null before a ticket has been read.
  SSL_SESSION* session() const;
  // NewSessionTicket messages read so far (TLS 1.3 servers send them after the handshake, and
  // they are read with the first response).
  std::size_t tickets_received() const { return counts_.tickets; }
  // The client's own TCP port, to find the server's end of this connection.
  std::uint16_t local_port() const;
  void send(std::string_view bytes);
  // Sends `bytes` over TLS as records of at most `record_size` bytes each (one SSL_write each).
  void send_in_records(std::string_view bytes, std::size_t record_size);
  // TLS 1.3 KeyUpdate asking the server to update its keys too; it goes out with the next send.
  void request_key_update();
  // Sends close_notify (the TCP connection stays open for reading).
  void send_close_notify();
  // Application-data records (TLS 1.3: every encrypted record) received since the last call.
  std::size_t take_received_records();
  // Reads until the server closes the connection or `limit` has passed.
  Received read_until_closed(std::chrono::milliseconds limit);
  // Reads until `marker` has arrived (or the connection closed, or `limit` passed).
  Received read_until(std::string_view marker, std::chrono::milliseconds limit);
  // Reads until `count` bytes have arrived (or the connection closed, or `limit` passed).
  Received read_bytes(std::size_t count, std::chrono::milliseconds limit);

 private:
  // Appends what arrives within one short poll; false once the connection is closed.
  bool read_once(std::string& into);

  int fd_ = -1;
  std::unique_ptr<SSL_CTX, crypto::OsslDeleter<SSL_CTX_free>> ctx_;
  std::unique_ptr<SSL, crypto::OsslDeleter<SSL_free>> ssl_;
  struct Counts {
    std::size_t records = 0;  // application-data records, see take_received_records
    std::size_t tickets = 0;
  } counts_;
};

}  // namespace estfleet::http::testing
