// The HTTPS client: one TLS connection, requests in sequence, a deadline on every operation. The
// only file of the client that sees Boost.Beast. Operations are asynchronous under the hood so
// that tcp_stream's deadlines apply, and run to completion before each call returns.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "http/client.hpp"
#include "http/tls_facts.hpp"

namespace estfleet::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

ssl::context make_tls_context(const ClientOptions& options) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (options.max_tls_version) {
    SSL_CTX_set_max_proto_version(native, *options.max_tls_version);
  }
  if (options.verify_server) {
    if (options.trust_anchors_pem.empty()) {
      throw TransportError("no trust anchor was given for the server certificate");
    }
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    for (const auto& anchor : crypto::Certificate::chain_from_pem(options.trust_anchors_pem)) {
      X509_STORE_add_cert(store, anchor.get());
    }
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.client_certificate_pem.empty()) {
    const auto chain = crypto::Certificate::chain_from_pem(options.client_certificate_pem);
    const auto key = crypto::PrivateKey::from_pem(options.client_private_key_pem);
    if (SSL_CTX_use_certificate(native, chain.front().get()) != 1 ||
        SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
      throw TransportError("the client certificate and key do not match");
    }
    for (std::size_t i = 1; i < chain.size(); ++i) {
      X509_up_ref(chain[i].get());
      SSL_CTX_add_extra_chain_cert(native, chain[i].get());
    }
  }
  return ctx;
}

}  // namespace

struct Connection::Impl {
  explicit Impl(const ClientOptions& opts)
      : options(opts), tls(make_tls_context(opts)), stream(io, tls) {}

  // Runs the io_context until the started operation completes (or its deadline cancels it).
  void run_until_done() {
    io.restart();
    io.run();
  }

  std::string where() const { return options.host + ":" + std::to_string(options.port); }

  ClientOptions options;
  net::io_context io;
  ssl::context tls;
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() {
  if (impl_) {
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->stream).socket().close(ignored);
  }
}

Connection Connection::open(const ClientOptions& options) {
  std::unique_ptr<Impl> holder;
  try {
    holder = std::make_unique<Impl>(options);
  } catch (const TransportError&) {
    throw;
  } catch (const std::exception& e) {
    throw TransportError(std::string("cannot set up TLS: ") + e.what());
  }
  Impl& impl = *holder;

  SSL* ssl = impl.stream.native_handle();
  if (options.verify_server) {
    if (is_ip_literal(options.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), options.host.c_str());
    } else {
      SSL_set1_host(ssl, options.host.c_str());
    }
  }
  if (!is_ip_literal(options.host)) {
    SSL_set_tlsext_host_name(ssl, options.host.c_str());
  }

  beast::error_code ec;
  tcp::resolver resolver(impl.io);
  const auto endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
  if (ec) {
    throw TransportError("cannot resolve " + options.host + ": " + ec.message());
  }
  auto& tcp_layer = beast::get_lowest_layer(impl.stream);
  tcp_layer.expires_after(options.timeout);
  tcp_layer.async_connect(endpoints, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
  impl.run_until_done();
  if (ec) {
    throw TransportError("cannot connect to " + impl.where() + ": " + ec.message());
  }
  // Without Nagle: a request goes out as headers and body in separate TLS records, and the
  // second would wait for the server's delayed ACK.
  beast::error_code ignored;
  tcp_layer.socket().set_option(tcp::no_delay(true), ignored);
  tcp_layer.expires_after(options.timeout);
  impl.stream.async_handshake(ssl::stream_base::client, [&ec](beast::error_code e) { ec = e; });
  impl.run_until_done();
  if (ec) {
    throw TransportError("TLS handshake with " + impl.where() +
                         " failed: " + handshake_failure_reason(ssl, ec.message()));
  }
  return Connection(std::move(holder));
}

int Connection::tls_version() const {
  return SSL_version(impl_->stream.native_handle());
}

std::string Connection::channel_binding() const {
  return http::channel_binding(impl_->stream.native_handle(), Side::client);
}

std::vector<std::string> Connection::server_chain_der() const {
  return peer_chain_der(impl_->stream.native_handle());
}

Response Connection::send(const Request& request) {
  Impl& impl = *impl_;
  bhttp::request<bhttp::string_body> out;
  out.version(11);
  out.method_string(request.method);
  out.target(request.target);
  const bool default_port = impl.options.port == 443;
  const std::string host = impl.options.host.find(':') != std::string::npos
                               ? "[" + impl.options.host + "]"
                               : impl.options.host;
  out.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(impl.options.port));
  out.set(bhttp::field::user_agent, "est-fleet/0.1");
  for (const auto& [name, value] : request.headers) {
    out.insert(name, value);
  }
  out.body() = request.body;
  out.keep_alive(true);
  out.prepare_payload();

  beast::error_code ec;
  auto& tcp_layer = beast::get_lowest_layer(impl.stream);
  tcp_layer.expires_after(impl.options.timeout);
  bhttp::async_write(impl.stream, out, [&ec](beast::error_code e, std::size_t) { ec = e; });
  impl.run_until_done();
  if (ec) {
    throw TransportError("sending to " + impl.where() + " failed: " + ec.message());
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(impl.options.max_response_bytes);
  tcp_layer.expires_after(impl.options.timeout);
  bhttp::async_read(impl.stream, impl.buffer, parser,
                    [&ec](beast::error_code e, std::size_t) { ec = e; });
  impl.run_until_done();
  if (ec) {
    throw TransportError("reading the response from " + impl.where() + " failed: " + ec.message());
  }
  auto message = parser.release();
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  return response;
}

}  // namespace estfleet::http
