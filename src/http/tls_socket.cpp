// The OpenSSL side of TlsSocket: the socket BIO (send with MSG_NOSIGNAL, recv) and what an SSL
// call's result means. No Asio here beyond its error categories.
#include "http/tls_socket.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <stdexcept>

namespace estfleet::http::detail {
namespace {

int descriptor(BIO* bio) {
  return *static_cast<const int*>(BIO_get_data(bio));
}

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK;
}

int socket_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::send(descriptor(bio), data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<std::size_t>(n);
      return 1;
    }
    if (errno == EINTR) {
      continue;
    }
    if (would_block(errno)) {
      BIO_set_retry_write(bio);
    }
    return 0;
  }
}

int socket_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::recv(descriptor(bio), data, size, 0);
    if (n > 0) {
      *read = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      if (size != 0) {
        BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // what BIO_eof reports: the peer closed TCP
      }
      *read = 0;
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (would_block(errno)) {
      BIO_set_retry_read(bio);
    }
    return 0;
  }
}

long socket_ctrl(BIO* bio, int command, long, void*) {  // NOLINT(google-runtime-int): OpenSSL's
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_C_GET_FD:
      return descriptor(bio);
    default:
      return 0;
  }
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "est-fleet socket");
    if (m == nullptr || BIO_meth_set_write_ex(m, socket_write) != 1 ||
        BIO_meth_set_read_ex(m, socket_read) != 1 || BIO_meth_set_ctrl(m, socket_ctrl) != 1) {
      throw std::runtime_error("cannot create the TLS socket BIO method");
    }
    return m;
  }();
  return method;
}

}  // namespace

SSL* new_server_ssl(SSL_CTX* ctx, const int* fd) {
  SSL* ssl = SSL_new(ctx);
  BIO* bio = BIO_new(socket_method());
  if (ssl == nullptr || bio == nullptr) {
    BIO_free(bio);
    SSL_free(ssl);
    ERR_clear_error();
    throw std::runtime_error("cannot create a TLS connection (out of memory)");
  }
  BIO_set_data(bio, const_cast<int*>(fd));  // only ever read
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by ssl
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl);
  return ssl;
}

TlsOutcome classify_tls_result(SSL* ssl, int ret) {
  const int saved_errno = errno;
  const int error = SSL_get_error(ssl, ret);
  TlsOutcome outcome;
  switch (error) {
    case SSL_ERROR_WANT_READ:
      outcome.want = TlsWant::read;
      break;
    case SSL_ERROR_WANT_WRITE:
      outcome.want = TlsWant::write;
      break;
    case SSL_ERROR_ZERO_RETURN:
      outcome.ec = boost::asio::error::eof;  // the client's close_notify
      break;
    case SSL_ERROR_SYSCALL: {
      // No OpenSSL error: either the socket failed (errno) or the peer closed TCP mid-record.
      if (ERR_peek_error() == 0 && saved_errno != 0 && ret < 0) {
        outcome.ec = boost::system::error_code(saved_errno, boost::system::system_category());
      } else {
        outcome.ec = boost::asio::ssl::error::stream_truncated;
      }
      break;
    }
    case SSL_ERROR_SSL: {
      const unsigned long code = ERR_peek_last_error();  // NOLINT(google-runtime-int): OpenSSL's
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        outcome.ec = boost::asio::ssl::error::stream_truncated;  // TCP closed without close_notify
      } else {
        outcome.ec = boost::system::error_code(static_cast<int>(code),
                                               boost::asio::error::get_ssl_category());
      }
      break;
    }
    default:
      outcome.ec = boost::system::error_code(error, boost::asio::error::get_ssl_category());
      break;
  }
  ERR_clear_error();
  return outcome;
}

}  // namespace estfleet::http::detail
