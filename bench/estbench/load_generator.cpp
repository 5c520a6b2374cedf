// The only est-bench file that sees Boost.Beast. One io_context per thread, each connection a
// coroutine on the context it was created on, so that no strand is needed: a connection's
// operations never run on two threads at once.
#include "estbench/load_generator.hpp"

#include <poll.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "http/tls_facts.hpp"

namespace estfleet::bench {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

ssl::context make_tls_context(const Endpoint& endpoint) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  for (const auto& anchor : crypto::Certificate::chain_from_pem(endpoint.trust_anchors_pem)) {
    X509_STORE_add_cert(store, anchor.get());
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::string failure_kind(const beast::error_code& ec, const char* phase) {
  return ec == beast::error::timeout ? "timeout" : phase;
}

// One thread's share of the results; merged after the threads are joined.
struct Tally {
  std::vector<std::int64_t> latencies_ns;
  std::map<std::string, std::uint64_t> errors;
};

struct Shared {
  Shared(const Endpoint& e, const std::vector<Job>& j, const LoadPlan& p)
      : endpoint(e), jobs(j), plan(p), tls(make_tls_context(e)) {}

  const Endpoint& endpoint;
  const std::vector<Job>& jobs;
  const LoadPlan& plan;
  ssl::context tls;
  tcp::resolver::results_type addresses;
  std::string host_header;
  std::atomic<std::size_t> next_job{0};
  std::vector<std::string> bodies;

  std::mutex mutex;  // guards what follows
  std::optional<TlsFacts> facts;
  std::exception_ptr failure;

  void note_handshake(SSL* ssl) {
    std::lock_guard lock(mutex);
    if (facts) {
      return;
    }
    TlsFacts seen;
    seen.version = SSL_get_version(ssl);
    seen.group_nid = static_cast<int>(SSL_get_negotiated_group(ssl));
    const auto chain = http::peer_chain_der(ssl);
    if (!chain.empty()) {
      seen.server_certificate_der = chain.front();
    }
    facts = std::move(seen);
  }
};

// One connection slot: at most one open stream at a time, bound to one io_context.
class Connection {
 public:
  Connection(Shared& shared, net::io_context& io, Tally& tally)
      : shared_(shared), io_(io), tally_(tally) {}

  // nullopt on success, else the failure kind.
  net::awaitable<std::optional<std::string>> open(const ClientIdentity* identity) {
    stream_ = std::make_unique<Stream>(io_, shared_.tls);
    buffer_.clear();
    SSL* ssl = stream_->native_handle();
    const std::string& host = shared_.endpoint.host;
    if (is_ip_literal(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    } else {
      SSL_set1_host(ssl, host.c_str());
      SSL_set_tlsext_host_name(ssl, host.c_str());
    }
    if (identity != nullptr && (SSL_use_certificate(ssl, identity->certificate.get()) != 1 ||
                                SSL_use_PrivateKey(ssl, identity->key.get()) != 1)) {
      co_return "client_identity";
    }
    auto& tcp_layer = beast::get_lowest_layer(*stream_);
    tcp_layer.expires_after(shared_.plan.timeout);
    auto [connect_ec, unused] = co_await tcp_layer.async_connect(shared_.addresses, kNoThrow);
    if (connect_ec) {
      co_return failure_kind(connect_ec, "connect");
    }
    // This client measures the server, so it must not add Nagle waits of its own (a request can
    // leave in more than one TLS record). The device-like client leaves Nagle on on purpose.
    beast::error_code nodelay_ec;
    tcp_layer.socket().set_option(tcp::no_delay(true), nodelay_ec);
    if (nodelay_ec) {
      co_return "socket_option";
    }
    tcp_layer.expires_after(shared_.plan.timeout);
    auto [handshake_ec] = co_await stream_->async_handshake(ssl::stream_base::client, kNoThrow);
    if (handshake_ec) {
      co_return failure_kind(handshake_ec, "tls_handshake");
    }
    shared_.note_handshake(ssl);
    co_return std::nullopt;
  }

  // Runs jobs until none is left.
  net::awaitable<void> work() {
    const auto& plan = shared_.plan;
    for (auto index = shared_.next_job++; index < shared_.jobs.size(); index = shared_.next_job++) {
      const Job& job = shared_.jobs[index];
      const auto started = Clock::now();
      if (plan.new_connection || !stream_) {
        if (auto failed = co_await open(job.identity)) {
          count_error(*failed);
          close();
          continue;
        }
      }
      auto outcome = co_await exchange(job);
      if (outcome.failure) {
        count_error(*outcome.failure);
        close();
        continue;
      }
      if (plan.new_connection || !outcome.keep_alive) {
        close();
      }
      if (outcome.status != 200 || !outcome.content_type.starts_with(kSuccessType)) {
        count_error(outcome.status == 200 ? "bad_response" : std::to_string(outcome.status));
        continue;
      }
      tally_.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
      if (plan.keep_bodies) {
        shared_.bodies[index] = std::move(outcome.body);
      }
    }
  }

  // Opens the connection and carries one request on it; nullopt when both succeeded.
  net::awaitable<std::optional<std::string>> open_with(const Job& job) {
    if (auto failed = co_await open(nullptr)) {
      co_return failed;
    }
    auto outcome = co_await exchange(job);
    if (outcome.failure) {
      co_return outcome.failure;
    }
    if (outcome.status != 200 || !outcome.keep_alive) {
      co_return outcome.status == 200 ? "not_kept_alive" : std::to_string(outcome.status);
    }
    co_return std::nullopt;
  }

  // Whether the stream is open and the server has neither closed nor reset it. Unread bytes
  // (TLS 1.3 session tickets) are not a close: only a FIN, a reset or an error is.
  bool open_on_server() {
    if (!stream_) {
      return false;
    }
    pollfd fd{beast::get_lowest_layer(*stream_).socket().native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&fd, 1, 0) < 0) {
      return false;
    }
    return (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
  }

  void close() {
    if (stream_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*stream_).socket().close(ignored);
      stream_.reset();
    }
  }

 private:
  struct Exchange {
    std::optional<std::string> failure;
    int status = 0;
    bool keep_alive = false;
    std::string content_type;
    std::string body;
  };

  net::awaitable<Exchange> exchange(const Job& job) {
    bhttp::request<bhttp::string_body> request;
    request.version(11);
    request.method_string(job.method);
    request.target(job.target);
    request.set(bhttp::field::host, shared_.host_header);
    request.set(bhttp::field::user_agent, "est-bench/0.1");
    if (!job.authorization.empty()) {
      request.set(bhttp::field::authorization, job.authorization);
    }
    if (!job.content_type.empty()) {
      request.set(bhttp::field::content_type, job.content_type);
      request.body() = job.body;
    }
    request.keep_alive(true);
    request.prepare_payload();

    Exchange result;
    auto& tcp_layer = beast::get_lowest_layer(*stream_);
    tcp_layer.expires_after(shared_.plan.timeout);
    auto [write_ec, written] = co_await bhttp::async_write(*stream_, request, kNoThrow);
    if (write_ec) {
      result.failure = failure_kind(write_ec, "write");
      co_return result;
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    tcp_layer.expires_after(shared_.plan.timeout);
    auto [read_ec, read] = co_await bhttp::async_read(*stream_, buffer_, parser, kNoThrow);
    if (read_ec) {
      result.failure = failure_kind(read_ec, "read");
      co_return result;
    }
    auto& response = parser.get();
    result.status = static_cast<int>(response.result_int());
    result.keep_alive = response.keep_alive();
    result.content_type = std::string(response[bhttp::field::content_type]);
    result.body = std::move(response.body());
    co_return result;
  }

  void count_error(const std::string& kind) { ++tally_.errors[kind]; }

  Shared& shared_;
  net::io_context& io_;
  Tally& tally_;
  std::unique_ptr<Stream> stream_;
  beast::flat_buffer buffer_;
};

// Runs every context on its own thread until it has no work left, then makes it reusable.
void run_to_completion(std::vector<std::unique_ptr<net::io_context>>& contexts) {
  std::vector<std::thread> threads;
  threads.reserve(contexts.size());
  for (auto& io : contexts) {
    threads.emplace_back([&io] { io->run(); });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (auto& io : contexts) {
    io->restart();
  }
}

}  // namespace

std::string host_header(const Endpoint& endpoint) {
  const std::string host =
      endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host;
  return endpoint.port == 443 ? host : host + ":" + std::to_string(endpoint.port);
}

LoadResult run_load(const Endpoint& endpoint, const std::vector<Job>& jobs, const LoadPlan& plan) {
  const unsigned threads = std::max(1U, plan.threads);
  std::vector<std::unique_ptr<net::io_context>> contexts;
  for (unsigned i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }

  Shared shared(endpoint, jobs, plan);
  beast::error_code ec;
  tcp::resolver resolver(*contexts.front());
  shared.addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) {
    throw std::runtime_error("cannot resolve " + endpoint.host + ": " + ec.message());
  }
  shared.host_header = host_header(endpoint);
  if (plan.keep_bodies) {
    shared.bodies.resize(jobs.size());
  }

  std::vector<Tally> tallies(threads);
  std::vector<Tally> idle_tallies(threads);
  std::vector<std::unique_ptr<Connection>> connections;
  for (unsigned i = 0; i < std::max(1U, plan.connections); ++i) {
    connections.push_back(
        std::make_unique<Connection>(shared, *contexts[i % threads], tallies[i % threads]));
  }
  const auto spawn = [&](unsigned i, auto make_coroutine) {
    net::co_spawn(*contexts[i % threads], make_coroutine(*connections[i]),
                  [&shared](const std::exception_ptr& e) {
                    if (e) {
                      std::lock_guard lock(shared.mutex);
                      shared.failure = e;
                    }
                  });
  };

  // Idle connections: a few openers per thread, so that thousands of handshakes do not all hit
  // the listen backlog at once.
  std::vector<std::vector<std::unique_ptr<Connection>>> idle(threads);
  if (plan.idle_connections > 0) {
    if (plan.idle_request == nullptr) {
      throw std::invalid_argument("idle connections need a request to carry");
    }
    for (unsigned i = 0; i < plan.idle_connections; ++i) {
      idle[i % threads].push_back(
          std::make_unique<Connection>(shared, *contexts[i % threads], idle_tallies[i % threads]));
    }
    constexpr unsigned kOpenersPerThread = 32;
    std::vector<std::size_t> next_idle(threads, 0);
    for (unsigned t = 0; t < threads; ++t) {
      for (unsigned k = 0; k < kOpenersPerThread; ++k) {
        net::co_spawn(
            *contexts[t],
            [&, t]() -> net::awaitable<void> {
              while (next_idle[t] < idle[t].size()) {
                Connection& c = *idle[t][next_idle[t]++];
                if (auto failed = co_await c.open_with(*plan.idle_request)) {
                  ++idle_tallies[t].errors[*failed];
                  c.close();
                }
              }
            },
            [&shared](const std::exception_ptr& e) {
              if (e) {
                std::lock_guard lock(shared.mutex);
                shared.failure = e;
              }
            });
      }
    }
    run_to_completion(contexts);
  }

  if (!plan.new_connection) {
    // A connection that fails to open here is retried by its first job, which then counts
    // the failure.
    for (unsigned i = 0; i < connections.size(); ++i) {
      spawn(i, [](Connection& c) -> net::awaitable<void> {
        if (co_await c.open(nullptr)) {
          c.close();
        }
      });
    }
    run_to_completion(contexts);
  }

  if (plan.on_start) {
    plan.on_start();
  }
  const auto started = Clock::now();
  for (unsigned i = 0; i < connections.size(); ++i) {
    spawn(i, [](Connection& c) { return c.work(); });
  }
  run_to_completion(contexts);
  const auto elapsed = Clock::now() - started;
  if (plan.on_finish) {
    plan.on_finish();
  }
  LoadResult result;
  for (auto& per_thread : idle) {
    for (auto& connection : per_thread) {
      if (connection->open_on_server()) {
        ++result.idle_open_at_end;
      }
    }
  }
  for (auto& connection : connections) {
    connection->close();
  }
  for (auto& per_thread : idle) {
    for (auto& connection : per_thread) {
      connection->close();
    }
  }
  for (auto& tally : idle_tallies) {
    for (const auto& [kind, count] : tally.errors) {
      result.idle_errors[kind] += count;
    }
  }
  std::uint64_t idle_failed = 0;
  for (const auto& [kind, count] : result.idle_errors) {
    idle_failed += count;
  }
  result.idle_opened = plan.idle_connections - idle_failed;
  if (shared.failure) {
    std::rethrow_exception(shared.failure);
  }

  result.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed);
  for (auto& tally : tallies) {
    result.latencies_ns.insert(result.latencies_ns.end(), tally.latencies_ns.begin(),
                               tally.latencies_ns.end());
    for (const auto& [kind, count] : tally.errors) {
      result.errors[kind] += count;
    }
  }
  result.bodies = std::move(shared.bodies);
  if (shared.facts) {
    result.tls = std::move(*shared.facts);
  }
  return result;
}

}  // namespace estfleet::bench
