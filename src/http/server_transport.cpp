// The HTTPS server: one Session per connection on its own strand, explicit deadlines for every
// phase (handshake, idle, headers, body, write), size limits from the parser. The only file of
// the server that sees Boost.Beast. TLS is detail::TlsSocket (OpenSSL on the socket itself, no
// record buffers while a connection is idle), not Asio's ssl::stream.
#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "http/framing.hpp"
#include "http/listen.hpp"
#include "http/server.hpp"
#include "http/tls_facts.hpp"
#include "http/tls_socket.hpp"

namespace estfleet::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

// How long a closing connection waits for the client's TLS close_notify.
constexpr std::chrono::seconds kShutdownGrace{2};
// After a refusal of a request whose rest was never read: how long, and how much, of what the
// client still sends is read and dropped before the connection closes (see linger()).
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerBytes = std::size_t{1} << 20;
// How long the acceptor pauses after a failed accept (e.g. out of file descriptors) before
// trying again, so that the failure neither stops accepting for good nor spins.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// The most a client's Certificate message may hold: a device certificate, a manufacturer's
// intermediates and their roots fit many times over (OpenSSL's default is 100 KiB).
constexpr long kMaxClientCertificateList = 32L * 1024;
// TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are all acceptable.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";

void configure_tls(ssl::context& ctx, const ServerOptions& options) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_cipher_list(native, kTls12Ciphers);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(options.certificate_chain_file, ec);
  if (ec) {
    throw std::runtime_error("cannot load the TLS certificate chain " +
                             options.certificate_chain_file + ": " + ec.message());
  }
  ctx.use_private_key_file(options.private_key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("cannot load the TLS private key " + options.private_key_file +
                             " or it does not match the certificate");
  }
  // Ask for a client certificate, but neither build nor verify its chain here: which
  // certificates count depends on the EST operation and profile, and est/ judges them with the
  // right trust store, after the handshake. OpenSSL's own verification would check every
  // signature of whatever chain a client sends, before any credential: a chain of RSA keys with
  // huge public exponents costs ~0.5 s of CPU per handshake. The client still proves it holds the
  // leaf's key (CertificateVerify); the list is bounded in bytes and est/ bounds its depth.
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(
      native, [](X509_STORE_CTX*, void*) { return 1; }, nullptr);
  SSL_CTX_set_max_cert_list(native, kMaxClientCertificateList);
  static constexpr unsigned char kContext[] = "est-fleet";
  SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  // One TLS 1.3 ticket per handshake, not OpenSSL's two: a ticket is used once (RFC 8446 C.4) and
  // a resumed connection gets a fresh one, so one serves a client that reconnects in sequence;
  // each costs the server an encoded, encrypted and MACed session on every full handshake.
  SSL_CTX_set_num_tickets(native, 1);
}

std::shared_ptr<ssl::context> make_tls_context(const ServerOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  configure_tls(*ctx, options);
  return ctx;
}

std::string plain_reason(int status) {
  switch (status) {
    case 400:
      return "the HTTP request is malformed or ambiguous";
    case 501:
      return "the only transfer coding this server accepts is chunked";
    case 413:
      return "the request body is larger than this server accepts";
    case 431:
      return "the request headers are larger than this server accepts";
    default:
      return "the request cannot be processed";
  }
}

}  // namespace

class Session;

struct Server::Impl {
  Impl(ServerOptions opts, Handler h)
      : options(std::move(opts)),
        handler(std::move(h)),
        acceptor(net::make_strand(io)),
        accept_retry(acceptor.get_executor()),
        signals(io),
        handlers(handler_thread_count(options)) {}

  static std::size_t handler_thread_count(const ServerOptions& options) {
    if (options.handler_threads != 0) {
      return options.handler_threads;
    }
    const unsigned io_threads =
        options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    return std::max(16u, 8 * io_threads);
  }

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  std::shared_ptr<ssl::context> current_tls() {
    const std::lock_guard lock(tls_mutex);
    return tls;
  }
  void stop();
  void forget(Session* session);

  ServerOptions options;
  Handler handler;
  // Before io: a handler still queued when io is destroyed (a stop() posted after the last
  // thread left run()) can hold the last reference to a session, whose destructor forgets it.
  std::mutex sessions_mutex;
  std::list<std::weak_ptr<Session>> sessions;  // for stop(): reach every live connection
  net::io_context io;
  // The TLS identity new connections get. Replaced whole by reload_tls_identity(); each SSL holds
  // a reference to the SSL_CTX it was made from, so connections already open keep theirs.
  std::mutex tls_mutex;
  std::shared_ptr<ssl::context> tls;
  tcp::acceptor acceptor;
  std::uint16_t bound_port = 0;  // kept: the acceptor cannot tell once stop() closed it
  net::steady_timer accept_retry;
  net::signal_set signals;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> handshake_failures{0};
  net::thread_pool handlers;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server, std::shared_ptr<ssl::context> tls)
      : server_(server),
        tls_(std::move(tls)),
        stream_(std::move(socket), tls_->native_handle()),
        buffer_(server.options.max_header_bytes + detail::kChunkLineAllowance) {}

  ~Session() { server_.forget(this); }

  void start(std::list<std::weak_ptr<Session>>::iterator self_entry) {
    self_entry_ = self_entry;
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

  std::list<std::weak_ptr<Session>>::iterator entry() const { return self_entry_; }

  // Called on stop(): idle connections close now; a request in progress finishes first.
  void stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->state_ == State::handshaking || self->state_ == State::idle) {
        beast::error_code ignored;
        self->stream_.next_layer().cancel(ignored);
      }
    });
  }

 private:
  enum class State { handshaking, idle, reading, handling, writing, closing };

  void handshake() {
    state_ = State::handshaking;
    stream_.expires_after(server_.options.handshake_timeout);
    stream_.async_handshake(
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      server_.handshake_failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (ec || server_.stopping) {
      return close_now();
    }
    SSL* ssl = stream_.native_handle();
    beast::error_code ignored;
    const auto remote = stream_.next_layer().remote_endpoint(ignored);
    peer_.remote_address = remote.address().to_string();
    peer_.remote_port = remote.port();
    peer_.tls_version = SSL_version(ssl);
    peer_.channel_binding = channel_binding(ssl, Side::server);
    peer_.no_channel_binding_reason = no_channel_binding_reason(ssl);
    try {
      peer_.peer_chain_der = peer_chain_der(ssl);
    } catch (const std::exception&) {
      return close_now();  // an exception must not escape into the io threads
    }
    wait_for_request(server_.options.header_timeout);
  }

  // Between keep-alive requests only the idle deadline runs; the header deadline starts with the
  // first bytes, so a slow sender cannot stretch one request over the idle allowance. The wait
  // asks TLS, not the raw socket, whether a request has begun (OpenSSL may already hold its
  // bytes), and reads nothing: an idle connection keeps no buffer, parser or response.
  void wait_for_request(std::chrono::milliseconds deadline) {
    state_ = State::idle;
    parser_.reset();
    response_ = {};
    interim_ = {};
    if (buffer_.size() > 0) {
      return read_header();
    }
    buffer_.shrink_to_fit();
    stream_.expires_after(deadline);
    stream_.async_wait_readable([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->server_.stopping) {
        return self->close_now();
      }
      self->read_header();
    });
  }

  void read_header() {
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(server_.options.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      return on_read_error(ec);
    }
    const auto& request = parser_->get();
    if (const int refusal = detail::framing_refusal(request); refusal != 0) {
      return fail(refusal);
    }
    // The handler sees the header as it is now: a chunked body's trailer fields are read and
    // dropped, never merged into the request (RFC 9110 §6.5.1), so they cannot add credentials
    // or a Content-Type after the framing was judged.
    headers_.clear();
    for (const auto& field : request) {
      headers_.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (request.version() == 11 && !parser_->is_done() &&
        beast::iequals(request[bhttp::field::expect], "100-continue")) {
      return send_continue();
    }
    read_body();
  }

  // curl and other clients hold back a larger body until they see 100 Continue (or their own
  // timeout runs out, typically a second): answer at once so enrollment is not delayed.
  void send_continue() {
    interim_ = bhttp::response<bhttp::empty_body>(bhttp::status::continue_, 11);
    stream_.expires_after(server_.options.write_timeout);
    bhttp::async_write(stream_, interim_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) {
                           return self->close_now();
                         }
                         self->read_body();
                       });
  }

  void read_body() {
    stream_.expires_after(server_.options.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) {
                          return self->on_read_error(ec);
                        }
                        self->handle();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return fail(431);
    }
    if (ec == bhttp::error::body_limit) {
      return fail(413);
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return fail(400);
    }
    close_now();  // timeout, reset, or the client went away
  }

  void handle() {
    state_ = State::handling;
    auto request = parser_->release();
    Request in;
    in.method = std::string(request.method_string());
    in.target = std::string(request.target());
    in.headers = std::move(headers_);
    in.body = std::move(request.body());
    // The handler runs on the handler pool; the work guard keeps io.run() (and so stop()) from
    // finishing before the response is written. The response goes back through the strand.
    net::post(server_.handlers, [self = shared_from_this(), in = std::move(in),
                                 keep_alive = request.keep_alive(),
                                 work = net::make_work_guard(stream_.get_executor())]() mutable {
      Response out;
      try {
        out = self->server_.handler(in, self->peer_);
      } catch (...) {
        out = Response{500, {{"Content-Type", "text/plain; charset=utf-8"}}, "internal error\n"};
      }
      net::post(self->stream_.get_executor(),
                [self, out = std::move(out), keep_alive, work = std::move(work)]() mutable {
                  self->write(out, keep_alive && !self->server_.stopping);
                  work.reset();
                });
    });
  }

  // A refusal while reading: the rest of the request is still on its way.
  void fail(int status) {
    write(
        Response{
            status, {{"Content-Type", "text/plain; charset=utf-8"}}, plain_reason(status) + "\n"},
        false, true);
  }

  void write(const Response& out, bool keep_alive, bool unread_input = false) {
    state_ = State::writing;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(out.status));
    response_.set(bhttp::field::server, "est-fleet");
    for (const auto& [name, value] : out.headers) {
      response_.insert(name, value);
    }
    response_.body() = out.body;
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    stream_.expires_after(server_.options.write_timeout);
    bhttp::async_write(
        stream_, response_,
        [self = shared_from_this(), keep_alive, unread_input](beast::error_code ec, std::size_t) {
          if (ec) {
            return self->close_now();
          }
          if (unread_input) {
            return self->linger();
          }
          if (!keep_alive || self->server_.stopping) {
            return self->shutdown();
          }
          self->wait_for_request(self->server_.options.idle_timeout);
        });
  }

  void shutdown() {
    state_ = State::closing;
    stream_.expires_after(kShutdownGrace);
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close_now(); });
  }

  // Closing a socket that still holds unread input makes the kernel answer with a reset, and a
  // reset can destroy the refusal before the client has read it (a client still sending a body
  // of 70 KB when 413 goes out sees "connection reset", not 413). So, as lingering close in other
  // servers: our half of the TCP connection is closed after the refusal, and what the client
  // still sends is read and dropped until it closes, for at most kLingerTime and kLingerBytes.
  void linger() {
    state_ = State::closing;
    beast::error_code ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    drain(kLingerBytes);
  }

  void drain(std::size_t budget) {
    buffer_.clear();
    stream_.next_layer().async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this(), budget](beast::error_code ec, std::size_t n) {
          if (ec || n >= budget) {
            return self->close_now();
          }
          self->drain(budget - n);
        });
  }

  void close_now() {
    state_ = State::closing;
    stream_.close();
  }

  Server::Impl& server_;
  std::shared_ptr<ssl::context> tls_;  // outlives stream_, whose SSL was made from it
  detail::TlsSocket stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HeaderList headers_;  // the request's header fields, without trailer fields
  bhttp::response<bhttp::string_body> response_;
  bhttp::response<bhttp::empty_body> interim_;
  TlsPeer peer_;
  State state_ = State::handshaking;
  std::list<std::weak_ptr<Session>>::iterator self_entry_;
};

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted) {
    return;  // the acceptor was closed by stop()
  }
  if (!ec) {
    detail::configure_accepted(socket);
  }
  if (ec) {
    accept_retry.expires_after(kAcceptRetryDelay);
    accept_retry.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping) {
        accept();
      }
    });
    return;
  }
  std::unique_lock lock(sessions_mutex);
  // Checked under the lock: stop() sets the flag before it collects the sessions, so a session
  // added here after that collection would be missed and kept open.
  if (stopping || sessions.size() >= options.max_connections) {
    lock.unlock();
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    std::shared_ptr<Session> session;
    try {
      session = std::make_shared<Session>(std::move(socket), *this, current_tls());
    } catch (const std::exception&) {
      lock.unlock();  // out of memory for the TLS state: this connection closes, the next is tried
      return accept();
    }
    sessions.push_front(session);
    const auto entry = sessions.begin();
    lock.unlock();
    session->start(entry);
  }
  accept();
}

void Server::Impl::forget(Session* session) {
  std::lock_guard lock(sessions_mutex);
  sessions.erase(session->entry());
}

void Server::Impl::stop() {
  if (stopping.exchange(true)) {
    return;
  }
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    signals.cancel(ignored);
  });
  // Collect under the lock, act outside it: the last reference to a session may drop here, and
  // its destructor takes the same lock.
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& weak : sessions) {
      if (auto session = weak.lock()) {
        live.push_back(std::move(session));
      }
    }
  }
  for (auto& session : live) {
    session->stop();
  }
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {
  impl_->tls = make_tls_context(impl_->options);
  impl_->bound_port =
      detail::listen_on(impl_->acceptor, impl_->options.listen_host, impl_->options.listen_port);
}

Server::~Server() = default;

std::uint16_t Server::port() const {
  return impl_->bound_port;
}

void Server::reload_tls_identity() {
  auto fresh = make_tls_context(impl_->options);  // throws, and the identity in use stays
  const std::lock_guard lock(impl_->tls_mutex);
  impl_->tls = std::move(fresh);
}

std::uint64_t Server::handshake_failures() const {
  return impl_->handshake_failures.load(std::memory_order_relaxed);
}

void Server::run() {
  if (impl_->options.handle_signals) {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->signals.async_wait([this](beast::error_code ec, int) {
      if (!ec) {
        impl_->stop();
      }
    });
  }
  impl_->accept();
  const unsigned threads = impl_->options.threads != 0
                               ? impl_->options.threads
                               : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> extra;
  for (unsigned i = 1; i < threads; ++i) {
    extra.emplace_back([this] { impl_->io.run(); });
  }
  impl_->io.run();
  for (auto& thread : extra) {
    thread.join();
  }
  impl_->handlers.join();
}

void Server::stop() {
  impl_->stop();
}

}  // namespace estfleet::http
