// Plain sockets and OpenSSL, no Asio: the device clients this imitates (libest, firmware built on
// OpenSSL's examples) are written that way, and an event loop would change when bytes leave.
#include "estbench/device_load.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/ossl.hpp"

namespace estfleet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using SslCtxPtr = std::unique_ptr<SSL_CTX, crypto::OsslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, crypto::OsslDeleter<SSL_free>>;

class Socket {
 public:
  Socket() = default;
  ~Socket() { reset(-1); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int get() const noexcept { return fd_; }
  void reset(int fd) noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;
};

std::vector<Address> resolve(const Endpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int status =
      ::getaddrinfo(endpoint.host.c_str(), std::to_string(endpoint.port).c_str(), &hints, &found);
  if (status != 0) {
    throw std::runtime_error("cannot resolve " + endpoint.host + ": " + ::gai_strerror(status));
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  std::vector<Address> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    Address address;
    std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
    address.length = entry->ai_addrlen;
    address.family = entry->ai_family;
    addresses.push_back(address);
  }
  return addresses;
}

SslCtxPtr make_tls_context(const Endpoint& endpoint) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    throw std::runtime_error("cannot create a TLS client context");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const auto& anchor : crypto::Certificate::chain_from_pem(endpoint.trust_anchors_pem)) {
    X509_STORE_add_cert(store, anchor.get());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // A full handshake on every connection, as a device that keeps no session: nothing cached, no
  // TLS 1.2 ticket asked for, and the TLS 1.3 tickets the server sends are read and dropped.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // A server that closes TCP after its answer without close_notify has still answered in full:
  // the end of a body without Content-Length is the close, whichever way it comes.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  return ctx;
}

// With SO_RCVTIMEO/SO_SNDTIMEO, a blocking call that runs out of time fails as if it would block.
std::string tls_failure(SSL* ssl, int ret, const char* phase) {
  const int code = SSL_get_error(ssl, ret);
  ERR_clear_error();
  return code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ? "timeout" : phase;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

struct Outcome {
  std::optional<std::string> failure;
  int status = 0;
  std::string content_type;
  Clock::time_point answered;  // when the last byte of the body was read
};

// The status line and headers (without the blank line); false if they are not HTTP/1.x.
bool parse_head(std::string_view head, Outcome& outcome, std::optional<std::size_t>& length) {
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  constexpr std::size_t kCodeAt = std::string_view("HTTP/1.x ").size();
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < kCodeAt + 3 ||
      std::from_chars(status_line.data() + kCodeAt, status_line.data() + kCodeAt + 3,
                      outcome.status)
              .ec != std::errc()) {
    return false;
  }
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return false;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimmed(line.substr(colon + 1));
    if (equals_ignoring_case(name, "Content-Type")) {
      outcome.content_type = std::string(value);
    } else if (equals_ignoring_case(name, "Content-Length")) {
      std::size_t parsed = 0;
      const auto [end_of_number, ec] =
          std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc() || end_of_number != value.data() + value.size()) {
        return false;
      }
      length = parsed;
    }
  }
  return true;
}

// Reads the response to the end of its body; the body itself is dropped, as nothing in the timed
// phase needs it.
void read_response(SSL* ssl, Outcome& outcome) {
  std::string received;
  std::optional<std::size_t> body_at;
  std::optional<std::size_t> length;
  std::array<char, 16384> chunk{};
  while (!body_at || !length || received.size() < *body_at + *length) {
    const int n = SSL_read(ssl, chunk.data(), static_cast<int>(chunk.size()));
    if (n <= 0) {
      if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN && body_at && !length) {
        break;
      }
      outcome.failure = tls_failure(ssl, n, "read");
      return;
    }
    received.append(chunk.data(), static_cast<std::size_t>(n));
    if (received.size() > kMaxResponseBytes) {
      outcome.failure = "bad_response";
      return;
    }
    if (!body_at) {
      const auto head_end = received.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        continue;
      }
      body_at = head_end + 4;
      if (!parse_head(std::string_view(received).substr(0, head_end), outcome, length)) {
        outcome.failure = "bad_response";
        return;
      }
    }
  }
  outcome.answered = Clock::now();
}

// One thread's share of the results; merged after the threads are joined.
struct Tally {
  std::vector<std::int64_t> latencies_ns;
  std::map<std::string, std::uint64_t> errors;
};

struct Shared {
  Shared(const Endpoint& e, const std::vector<Job>& j, const LoadPlan& p)
      : endpoint(e),
        jobs(j),
        plan(p),
        tls(make_tls_context(e)),
        addresses(resolve(e)),
        host_header(bench::host_header(e)) {}

  const Endpoint& endpoint;
  const std::vector<Job>& jobs;
  const LoadPlan& plan;
  SslCtxPtr tls;
  std::vector<Address> addresses;
  std::string host_header;
  Nagle nagle = Nagle::off;
  std::atomic<std::size_t> next_job{0};

  std::mutex mutex;  // guards failure
  std::exception_ptr failure;
};

// nullopt once `socket` is connected, else the failure kind. Why TCP_NODELAY is a choice here:
// see the header.
std::optional<std::string> connect_socket(const Shared& shared, Socket& socket) {
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(shared.plan.timeout);
  const timeval limit{static_cast<time_t>(timeout.count() / 1'000'000),
                      static_cast<suseconds_t>(timeout.count() % 1'000'000)};
  int error = 0;
  for (const auto& address : shared.addresses) {
    socket.reset(::socket(address.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (socket.get() < 0) {
      error = errno;
      continue;
    }
    // SO_SNDTIMEO bounds connect and every write, SO_RCVTIMEO every read.
    const int nodelay = shared.nagle == Nagle::off ? 1 : 0;
    if (::setsockopt(socket.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0 ||
        ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0 ||
        ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay) != 0) {
      error = errno;
      continue;
    }
    if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address.storage),
                  address.length) == 0) {
      return std::nullopt;
    }
    error = errno;
  }
  socket.reset(-1);
  return error == EINPROGRESS || error == EAGAIN ? "timeout" : "connect";
}

std::string request_text(const Shared& shared, const Job& job) {
  std::string text = job.method + " " + job.target + " HTTP/1.1\r\nHost: " + shared.host_header +
                     "\r\nUser-Agent: est-bench/0.1 (device)\r\nConnection: close\r\n";
  if (!job.authorization.empty()) {
    text += "Authorization: " + job.authorization + "\r\n";
  }
  if (!job.content_type.empty()) {
    text += "Content-Type: " + job.content_type +
            "\r\nContent-Length: " + std::to_string(job.body.size()) + "\r\n\r\n" + job.body;
  } else {
    text += "\r\n";
  }
  return text;
}

// One job on its own TCP + TLS connection.
Outcome carry(const Shared& shared, const Job& job) {
  Outcome outcome;
  Socket socket;
  if (auto failed = connect_socket(shared, socket)) {
    outcome.failure = std::move(failed);
    return outcome;
  }
  const SslPtr ssl(SSL_new(shared.tls.get()));
  if (!ssl || SSL_set_fd(ssl.get(), socket.get()) != 1) {
    throw std::runtime_error("cannot set up a TLS connection");
  }
  const std::string& host = shared.endpoint.host;
  // set1_ip_asc refuses anything but an IP literal, which is then checked as a DNS name.
  if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) != 1) {
    ERR_clear_error();
    SSL_set1_host(ssl.get(), host.c_str());
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  }
  if (job.identity != nullptr &&
      (SSL_use_certificate(ssl.get(), job.identity->certificate.get()) != 1 ||
       SSL_use_PrivateKey(ssl.get(), job.identity->key.get()) != 1)) {
    ERR_clear_error();
    outcome.failure = "client_identity";
    return outcome;
  }
  if (const int ret = SSL_connect(ssl.get()); ret != 1) {
    outcome.failure = tls_failure(ssl.get(), ret, "tls_handshake");
    return outcome;
  }
  // One write for the whole request, as device clients build it: a request split over two
  // writes would, with Nagle on, add this client's own wait to what is measured.
  const std::string request = request_text(shared, job);
  if (const int ret = SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
      ret <= 0) {
    outcome.failure = tls_failure(ssl.get(), ret, "write");
    return outcome;
  }
  read_response(ssl.get(), outcome);
  if (!outcome.failure) {
    // close_notify, without waiting for the server's: the answer is already complete.
    SSL_shutdown(ssl.get());
    ERR_clear_error();
  }
  return outcome;
}

void work(Shared& shared, Tally& tally) {
  for (auto index = shared.next_job++; index < shared.jobs.size(); index = shared.next_job++) {
    const auto started = Clock::now();
    const Outcome outcome = carry(shared, shared.jobs[index]);
    if (outcome.failure) {
      ++tally.errors[*outcome.failure];
      continue;
    }
    if (outcome.status != 200 || !outcome.content_type.starts_with(kSuccessType)) {
      ++tally.errors[outcome.status == 200 ? "bad_response" : std::to_string(outcome.status)];
      continue;
    }
    tally.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(outcome.answered - started).count());
  }
}

}  // namespace

LoadResult run_device_load(const Endpoint& endpoint, const std::vector<Job>& jobs,
                           const LoadPlan& plan, Nagle nagle) {
  if (plan.idle_connections > 0 || plan.keep_bodies) {
    throw std::invalid_argument("the device client holds no idle connections and keeps no bodies");
  }
  // OpenSSL's socket BIO writes with write(2): a server that reset the connection would raise
  // SIGPIPE and end est-bench, where the write should fail with EPIPE and count as an error.
  std::signal(SIGPIPE, SIG_IGN);
  Shared shared(endpoint, jobs, plan);
  shared.nagle = nagle;
  const unsigned threads = std::max(1U, plan.connections);
  std::vector<Tally> tallies(threads);

  if (plan.on_start) {
    plan.on_start();
  }
  const auto started = Clock::now();
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    workers.emplace_back([&shared, &tally = tallies[i]] {
      try {
        work(shared, tally);
      } catch (...) {
        std::lock_guard lock(shared.mutex);
        shared.failure = std::current_exception();
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  const auto elapsed = Clock::now() - started;
  if (plan.on_finish) {
    plan.on_finish();
  }
  if (shared.failure) {
    std::rethrow_exception(shared.failure);
  }

  LoadResult result;
  result.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed);
  for (auto& tally : tallies) {
    result.latencies_ns.insert(result.latencies_ns.end(), tally.latencies_ns.begin(),
                               tally.latencies_ns.end());
    for (const auto& [kind, count] : tally.errors) {
      result.errors[kind] += count;
    }
  }
  return result;
}

}  // namespace estfleet::bench
