// The plain-HTTP server of the operations endpoints: Boost.Beast over a TCP stream, one request
// per connection, on one io thread.
#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <thread>

#include "http/listen.hpp"
#include "http/plain_server.hpp"

namespace estfleet::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

}  // namespace

struct PlainServer::Impl {
  Impl(PlainServerOptions opts, Handler h)
      : options(std::move(opts)), handler(std::move(h)), acceptor(io) {}

  void accept();

  PlainServerOptions options;
  Handler handler;
  // Declared before io: sessions still queued in io count themselves out when it is destroyed.
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopped{false};
  net::io_context io;
  tcp::acceptor acceptor;
  std::uint16_t bound_port = 0;
  std::thread thread;
};

namespace {

class PlainSession : public std::enable_shared_from_this<PlainSession> {
 public:
  PlainSession(tcp::socket&& socket, PlainServer::Impl& server)
      : server_(server), stream_(std::move(socket)) {
    ++server_.connections;
  }
  ~PlainSession() { --server_.connections; }
  PlainSession(const PlainSession&) = delete;
  PlainSession& operator=(const PlainSession&) = delete;

  void start() {
    parser_.header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_.body_limit(server_.options.max_body_bytes);
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return write(Response{431, {}, "the request headers are larger than this server accepts\n"});
    }
    if (ec == bhttp::error::body_limit) {
      return write(Response{413, {}, "the request body is larger than this server accepts\n"});
    }
    if (ec) {
      return close();  // timeout, reset, malformed: nobody to answer usefully
    }
    auto request = parser_.release();
    Request in;
    in.method = std::string(request.method_string());
    in.target = std::string(request.target());
    for (const auto& field : request) {
      in.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    in.body = std::move(request.body());
    TlsPeer peer;
    beast::error_code ignored;
    const auto remote = stream_.socket().remote_endpoint(ignored);
    peer.remote_address = remote.address().to_string();
    peer.remote_port = remote.port();
    Response out;
    try {
      out = server_.handler(in, peer);
    } catch (...) {
      out = Response{500, {}, "internal error\n"};
    }
    write(out);
  }

  void write(const Response& out) {
    response_.version(11);
    response_.result(static_cast<unsigned>(out.status));
    response_.set(bhttp::field::server, "est-fleet");
    if (!out.header("Content-Type")) {
      response_.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    }
    for (const auto& [name, value] : out.headers) {
      response_.insert(name, value);
    }
    response_.body() = out.body;
    response_.keep_alive(false);
    response_.prepare_payload();
    stream_.expires_after(server_.options.write_timeout);
    bhttp::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  PlainServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request_parser<bhttp::string_body> parser_;
  bhttp::response<bhttp::string_body> response_;
};

}  // namespace

void PlainServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopped) {
      return;
    }
    if (!ec) {
      detail::configure_accepted(socket);
      if (connections >= options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<PlainSession>(std::move(socket), *this)->start();
      }
    }
    accept();
  });
}

PlainServer::PlainServer(PlainServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {
  impl_->bound_port =
      detail::listen_on(impl_->acceptor, impl_->options.listen_host, impl_->options.listen_port);
}

PlainServer::~PlainServer() {
  stop();
}

std::uint16_t PlainServer::port() const {
  return impl_->bound_port;
}

void PlainServer::start() {
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void PlainServer::stop() {
  if (impl_->stopped.exchange(true)) {
    return;
  }
  // Stopping the context abandons the open connections; destroying it (with the Impl) closes
  // their sockets.
  impl_->io.stop();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace estfleet::http
