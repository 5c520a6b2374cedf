#include "raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

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

RawConnection::~RawConnection() {
  ssl_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void RawConnection::start_tls() {
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  ssl_.reset(SSL_new(ctx_.get()));
  SSL_set_fd(ssl_.get(), fd_);
  // Without auto-retry a read that times out returns instead of waiting on after a ticket.
  SSL_clear_mode(ssl_.get(), SSL_MODE_AUTO_RETRY);
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

}  // namespace estfleet::http::testing
