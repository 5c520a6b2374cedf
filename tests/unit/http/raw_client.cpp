#include "raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

namespace estfleet::http::testing {
namespace {

// The granularity of the read loops: each blocking read gives up after this long.
constexpr timeval kPollInterval{0, 20'000};

}  // namespace

RawConnection::RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &kPollInterval, sizeof kPollInterval);
}

std::uint16_t RawConnection::local_port() const {
  sockaddr_in local{};
  socklen_t length = sizeof local;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    throw std::runtime_error("the raw connection has no local address");
  }
  return ntohs(local.sin_port);
}

RawConnection::~RawConnection() {
  ssl_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void RawConnection::start_tls(SSL_SESSION* resume) {
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  ssl_.reset(SSL_new(ctx_.get()));
  SSL_set_fd(ssl_.get(), fd_);
  if (resume != nullptr && SSL_set_session(ssl_.get(), resume) != 1) {
    throw std::runtime_error("the raw connection cannot offer the session");
  }
  // Without auto-retry a read that times out returns instead of waiting on after a ticket.
  SSL_clear_mode(ssl_.get(), SSL_MODE_AUTO_RETRY);
  SSL_set_msg_callback_arg(ssl_.get(), &counts_);
  SSL_set_msg_callback(ssl_.get(), [](int write_p, int, int content_type, const void* buf,
                                      size_t len, SSL*, void* arg) {
    if (write_p != 0 || len < 1) {
      return;
    }
    auto& counts = *static_cast<Counts*>(arg);
    const auto first = static_cast<const unsigned char*>(buf)[0];
    if (content_type == SSL3_RT_HEADER && first == SSL3_RT_APPLICATION_DATA) {
      ++counts.records;
    } else if (content_type == SSL3_RT_HANDSHAKE && first == SSL3_MT_NEWSESSION_TICKET) {
      ++counts.tickets;
    }
  });
  for (;;) {
    const int result = SSL_connect(ssl_.get());
    if (result == 1) {
      return;
    }
    if (SSL_get_error(ssl_.get(), result) != SSL_ERROR_WANT_READ) {
      throw std::runtime_error("the raw TLS handshake failed");
    }
  }
}

void RawConnection::send(std::string_view bytes) {
  const bool sent = ssl_ ? SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())) ==
                               static_cast<int>(bytes.size())
                         : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                               static_cast<ssize_t>(bytes.size());
  if (!sent) {
    throw std::runtime_error("the raw connection could not send");
  }
}

void RawConnection::send_in_records(std::string_view bytes, std::size_t record_size) {
  for (std::size_t at = 0; at < bytes.size(); at += record_size) {
    send(bytes.substr(at, record_size));
  }
}

void RawConnection::request_key_update() {
  if (SSL_key_update(ssl_.get(), SSL_KEY_UPDATE_REQUESTED) != 1) {
    throw std::runtime_error("the raw connection could not schedule a KeyUpdate");
  }
}

void RawConnection::send_close_notify() {
  if (SSL_shutdown(ssl_.get()) < 0) {
    throw std::runtime_error("the raw connection could not send close_notify");
  }
}

std::size_t RawConnection::take_received_records() {
  return std::exchange(counts_.records, 0);
}

bool RawConnection::resumed() const {
  return SSL_session_reused(ssl_.get()) == 1;
}

SSL_SESSION* RawConnection::session() const {
  return SSL_get_session(ssl_.get());
}

bool RawConnection::read_once(std::string& into) {
  char chunk[4096];
  if (ssl_) {
    const int n = SSL_read(ssl_.get(), chunk, sizeof chunk);
    if (n > 0) {
      into.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    return SSL_get_error(ssl_.get(), n) == SSL_ERROR_WANT_READ;
  }
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n > 0) {
    into.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

Received RawConnection::read_until_closed(std::chrono::milliseconds limit) {
  return read_until({}, limit);
}

Received RawConnection::read_until(std::string_view marker, std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Received received;
  while (Clock::now() - start < limit) {
    if (!read_once(received.bytes)) {
      received.closed = true;
      break;
    }
    if (!marker.empty() && received.bytes.find(marker) != std::string::npos) {
      break;
    }
  }
  received.after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return received;
}

Received RawConnection::read_bytes(std::size_t count, std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Received received;
  while (received.bytes.size() < count && Clock::now() - start < limit) {
    if (!read_once(received.bytes)) {
      received.closed = true;
      break;
    }
  }
  received.after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return received;
}

}  // namespace estfleet::http::testing
