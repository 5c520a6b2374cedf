// The server's TLS stream: OpenSSL reads and writes the non-blocking TCP socket itself, so an
// idle connection holds no record buffers (SSL_MODE_RELEASE_BUFFERS gives OpenSSL's back when a
// read finds nothing; there is no second copy as in Asio's ssl::stream, whose engine keeps two
// 17 KiB buffers and a BIO pair per connection). Async operations are Asio composed operations
// that satisfy AsyncReadStream/AsyncWriteStream, so Beast's HTTP read and write use it as is.
// One deadline covers whatever operation is pending (expires_after/expires_never, as
// beast::tcp_stream): on expiry the socket's waits are cancelled and the operation completes with
// beast::error::timeout. Not thread-safe: one strand per stream. Included by
// server_transport.cpp only (Beast and Asio are slow to compile).
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace estfleet::http::detail {

// OpenSSL-only parts, in tls_socket.cpp.

// A server-side SSL from `ctx` that reads and writes the descriptor `*fd` (which must outlive the
// SSL) with send(MSG_NOSIGNAL)/recv: OpenSSL's socket BIO writes with write(2), and a peer that
// reset the connection would raise SIGPIPE. Released buffers, partial writes, moving write
// buffers. Throws std::runtime_error.
SSL* new_server_ssl(SSL_CTX* ctx, const int* fd);

enum class TlsWant { nothing, read, write };
struct TlsOutcome {
  TlsWant want = TlsWant::nothing;
  boost::system::error_code ec;  // set when want is nothing
};
// What an SSL call that returned `ret` <= 0 means: wait for the socket, or an error (close_notify
// is net::error::eof; a TCP close without close_notify is ssl::error::stream_truncated). Clears
// the thread's OpenSSL error queue.
TlsOutcome classify_tls_result(SSL* ssl, int ret);

// The largest write that is first copied into one record (header and body of a response).
inline constexpr std::size_t kCoalesceLimit = 16384;

class TlsSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  TlsSocket(socket_type&& socket, SSL_CTX* ctx)
      : core_(std::make_shared<Core>(std::move(socket))), ssl_(new_server_ssl(ctx, &core_->fd)) {}
  ~TlsSocket() { SSL_free(ssl_); }
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() noexcept { return core_->socket.get_executor(); }
  SSL* native_handle() noexcept { return ssl_; }
  // The TCP socket: remote_endpoint, cancel, the half-close and drain of a lingering close. Its
  // own async operations are covered by the deadline too (expiry cancels them).
  socket_type& next_layer() noexcept { return core_->socket; }

  // The deadline for the pending and following operations, replacing any earlier one.
  void expires_after(std::chrono::steady_clock::duration after) {
    Core& core = *core_;
    core.expired = false;
    const auto generation = ++core.generation;
    core.timer.expires_after(after);
    core.timer.async_wait(
        [weak = std::weak_ptr<Core>(core_), generation](const boost::system::error_code& ec) {
          if (ec) {
            return;  // re-armed, cancelled or destroyed
          }
          const auto alive = weak.lock();
          if (!alive || alive->generation != generation) {
            return;
          }
          alive->expired = true;
          boost::system::error_code ignored;
          alive->socket.cancel(ignored);
        });
  }
  void expires_never() {
    ++core_->generation;
    core_->expired = false;
    core_->timer.cancel();
  }

  // Closes the socket (both directions shut first) and drops the deadline. Nothing is read or
  // written afterwards: every operation checks that the socket is still open before OpenSSL
  // touches the descriptor, whose number the kernel may already have given to another socket.
  void close() {
    expires_never();
    boost::system::error_code ignored;
    core_->socket.shutdown(socket_type::shutdown_both, ignored);
    core_->socket.close(ignored);
  }

  template <class Token>
  auto async_handshake(Token&& token) {
    return start<false>([](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); },
                        std::forward<Token>(token));
  }

  // Completes once application data can be read without blocking (nothing is consumed), so an
  // idle connection waits without a read buffer.
  template <class Token>
  auto async_wait_readable(Token&& token) {
    return start<false>(
        [](SSL* ssl, std::size_t& n) {
          unsigned char byte = 0;
          return SSL_peek_ex(ssl, &byte, 1, &n);
        },
        std::forward<Token>(token));
  }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    boost::asio::mutable_buffer target;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer(*it).size() != 0) {
        target = *it;
        break;
      }
    }
    return start<true>(
        [target](SSL* ssl, std::size_t& n) {
          if (target.size() == 0) {
            n = 0;
            return 1;
          }
          return SSL_read_ex(ssl, target.data(), target.size(), &n);
        },
        std::forward<Token>(token));
  }

  // Writes one record at most. Several small buffers (an HTTP header and its body) are copied into
  // one staging buffer up to kCoalesceLimit so they leave as one record, as beast::flat_stream
  // does; the staging buffer belongs to the operation and is gone when it completes.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    boost::asio::const_buffer first;
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (; it != end; ++it) {
      if (boost::asio::const_buffer(*it).size() != 0) {
        first = *it;
        break;
      }
    }
    const std::size_t total = boost::asio::buffer_size(buffers);
    if (first.size() >= total || first.size() >= kCoalesceLimit) {
      return start<true>(
          [first](SSL* ssl, std::size_t& n) {
            if (first.size() == 0) {
              n = 0;
              return 1;
            }
            return SSL_write_ex(ssl, first.data(), first.size(), &n);
          },
          std::forward<Token>(token));
    }
    const std::size_t size = std::min(total, kCoalesceLimit);
    std::unique_ptr<unsigned char[]> staging(new unsigned char[size]);
    boost::asio::buffer_copy(boost::asio::buffer(staging.get(), size), buffers);
    return start<true>(
        [staging = std::move(staging), size](SSL* ssl, std::size_t& n) {
          return SSL_write_ex(ssl, staging.get(), size, &n);
        },
        std::forward<Token>(token));
  }

  // Sends close_notify, then waits for the client's (under the deadline, like every operation).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<false>(
        [](SSL* ssl, std::size_t&) {
          int ret = SSL_shutdown(ssl);
          if (ret == 0) {
            ret = SSL_shutdown(ssl);  // close_notify sent: now read the client's
          }
          return ret == 0 ? -1 : ret;
        },
        std::forward<Token>(token));
  }

 private:
  struct Core {
    explicit Core(socket_type&& s)
        : socket(std::move(s)), timer(socket.get_executor()), fd(socket.native_handle()) {
      socket.native_non_blocking(true);  // OpenSSL calls send/recv on the descriptor itself
    }
    socket_type socket;
    boost::asio::steady_timer timer;
    std::uint64_t generation = 0;  // which expires_after the pending timer wait belongs to
    bool expired = false;          // the deadline passed; operations fail with timeout
    int fd;                        // the socket's descriptor, as the SSL's BIO reads it
  };

  // Calls action(ssl, bytes) (an SSL call: > 0 is success) until it succeeds or fails, waiting
  // for the socket in whichever direction OpenSSL asks for in between.
  template <bool WithBytes, class Action>
  class Op {
   public:
    Op(TlsSocket& stream, Action action) : stream_(stream), action_(std::move(action)) {}

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      Core& core = *stream_.core_;
      switch (state_) {
        case State::starting:
          state_ = State::running;
          if (core.expired) {
            return finish(self, boost::beast::error::timeout, true);
          }
          break;
        case State::waiting:
          state_ = State::running;
          if (core.expired) {
            return finish(self, boost::beast::error::timeout, false);
          }
          if (ec) {
            return finish(self, ec, false);
          }
          break;
        case State::posted:
          return complete(self);
        case State::running:
          break;
      }
      const bool first_call = !waited_;
      if (!core.socket.is_open()) {
        return finish(self, boost::asio::error::bad_descriptor, first_call);
      }
      ERR_clear_error();
      errno = 0;  // read by classify_tls_result when OpenSSL reports a socket error
      std::size_t n = 0;
      const int ret = action_(stream_.ssl_, n);
      if (ret > 0) {
        bytes_ = n;
        return finish(self, {}, first_call);
      }
      const auto outcome = classify_tls_result(stream_.ssl_, ret);
      if (outcome.want == TlsWant::nothing) {
        return finish(self, outcome.ec, first_call);
      }
      state_ = State::waiting;
      waited_ = true;
      core.socket.async_wait(
          outcome.want == TlsWant::read ? socket_type::wait_read : socket_type::wait_write,
          std::move(self));
    }

   private:
    enum class State { starting, running, waiting, posted };

    // A result found before anything was waited for is posted: a handler must not run inside
    // the function that started the operation.
    template <class Self>
    void finish(Self& self, boost::system::error_code ec, bool immediate) {
      ec_ = ec;
      if (immediate) {
        state_ = State::posted;
        return boost::asio::post(stream_.get_executor(), std::move(self));
      }
      complete(self);
    }

    template <class Self>
    void complete(Self& self) {
      if constexpr (WithBytes) {
        self.complete(ec_, bytes_);
      } else {
        self.complete(ec_);
      }
    }

    TlsSocket& stream_;
    Action action_;
    State state_ = State::starting;
    bool waited_ = false;
    boost::system::error_code ec_;
    std::size_t bytes_ = 0;
  };

  template <bool WithBytes, class Action, class Token>
  auto start(Action action, Token&& token) {
    using Signature = std::conditional_t<WithBytes, void(boost::system::error_code, std::size_t),
                                         void(boost::system::error_code)>;
    return boost::asio::async_compose<Token, Signature>(
        Op<WithBytes, Action>(*this, std::move(action)), token, core_->socket);
  }

  std::shared_ptr<Core> core_;  // shared with the deadline's pending wait (which holds a weak_ptr)
  SSL* ssl_;
};

}  // namespace estfleet::http::detail
