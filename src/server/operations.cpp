#include "server/operations.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "crypto/signature.hpp"
#include "est/route.hpp"

namespace estfleet::server {
namespace {

using common::metrics::kContentType;

// From a millisecond to ten seconds: enrollments sign and commit (a few ms); a slow disk or an
// RSA key shows in the upper buckets.
constexpr std::array kDurationBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

std::string profile_label(const std::string& label) {
  return label.empty() ? "default" : label;
}

bool is_enrollment(est::Operation operation) {
  return operation == est::Operation::simpleenroll || operation == est::Operation::simplereenroll ||
         operation == est::Operation::serverkeygen;
}

std::string enrollment_result(const est::Outcome& outcome) {
  const int status = outcome.response.status;
  if (status == 200) {
    return outcome.repeated ? "repeated" : "issued";
  }
  if (status == 202) {
    return "pending";
  }
  return std::to_string(status);
}

http::Response text(int status, std::string body) {
  return http::Response{status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body)};
}

}  // namespace

std::string operation_label(const std::string& target) {
  if (const auto route = est::parse_route(target)) {
    return std::string(est::operation_name(route->operation));
  }
  const auto path = http::path_of(target);
  if (path == "/crl") {
    return "crl";
  }
  if (path == "/ocsp" || path.starts_with("/ocsp/")) {
    return "ocsp";
  }
  if (path == "/healthz") {
    return "healthz";
  }
  return "other";
}

ServiceMetrics::ServiceMetrics(registry::Store& store, std::set<std::string> profiles,
                               WallClock clock, std::chrono::seconds stats_ttl)
    : store_(store),
      profiles_(std::move(profiles)),
      clock_(std::move(clock)),
      stats_ttl_(stats_ttl),
      enrollments_(registry_.counter("est_enrollments_total",
                                     "Enrollment requests by profile, operation and result "
                                     "(issued, repeated: a lost answer sent again, "
                                     "pending, or the refusal's HTTP status).",
                                     {"profile", "operation", "result"})),
      durations_(registry_.histogram(
          "est_request_duration_seconds", "Time to answer a request on the EST port, by operation.",
          {kDurationBuckets.begin(), kDurationBuckets.end()}, {"operation"})),
      auth_failures_(registry_.counter("est_auth_failures_total",
                                       "Requests refused because authentication failed, by "
                                       "profile and method (basic, tls-client).",
                                       {"profile", "method"})),
      rate_limited_(registry_.counter(
          "est_auth_rate_limited_total",
          "Enrollment requests refused with 429 because their source address failed "
          "authentication more often than [limits] allows, by profile.",
          {"profile"})),
      handshake_failures_(
          registry_.counter("est_tls_handshake_failures_total",
                            "TLS handshakes on the EST port that failed or timed out.")),
      things_(registry_.gauge("est_registry_things", "Things in the registry.")),
      certificates_(registry_.gauge("est_registry_certificates",
                                    "Certificates in the registry by status.", {"status"})),
      expiring_(registry_.gauge("est_certificates_expiring",
                                "Active certificates that expire within the window.", {"within"})),
      stats_failures_(registry_.counter(
          "est_registry_stats_failures_total",
          "Scrapes whose registry counts could not be read (the previous counts are shown).")),
      broker_backlog_(registry_.gauge("est_broker_sync_backlog",
                                      "Things whose policy or revocation changes the MQTT broker "
                                      "has not yet confirmed (0 without a [broker]).")) {
  registry_.gauge("process_start_time_seconds", "Start time of the process since the unix epoch.")
      .get()
      .set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
               .count());
  registry_.on_collect([this] { collect(); });
}

void ServiceMetrics::count_handshake_failures_with(std::function<std::uint64_t()> read) {
  const std::lock_guard lock(stats_mutex_);
  read_handshake_failures_ = std::move(read);
}

void ServiceMetrics::watch_broker(BrokerProbe probe) {
  const std::lock_guard lock(stats_mutex_);
  broker_probe_ = std::move(probe);
}

void ServiceMetrics::observe(const http::Request& request, const est::Outcome& outcome,
                             std::chrono::steady_clock::duration took) {
  const auto route = est::parse_route(request.target);
  const std::string operation =
      route ? std::string(est::operation_name(route->operation)) : operation_label(request.target);
  durations_.with({operation}).observe(std::chrono::duration<double>(took).count());
  if (!route || !profiles_.contains(route->label)) {
    return;
  }
  if (is_enrollment(route->operation)) {
    enrollments_.with({profile_label(route->label), operation, enrollment_result(outcome)})
        .increment();
  }
  if (!outcome.auth_failure.empty()) {
    auth_failures_.with({profile_label(route->label), outcome.auth_failure}).increment();
  }
  if (is_enrollment(route->operation) && outcome.response.status == 429) {
    rate_limited_.with({profile_label(route->label)}).increment();
  }
}

void ServiceMetrics::collect() {
  const std::lock_guard lock(stats_mutex_);
  if (read_handshake_failures_) {
    auto& counter = handshake_failures_.get();
    const auto now = read_handshake_failures_();
    if (now > counter.value()) {
      counter.increment(now - counter.value());
    }
  }
  if (broker_probe_) {
    // An indexed count, cheap enough for every scrape: the backlog is what an operator watches
    // while the broker is away.
    try {
      broker_backlog_.get().set(static_cast<double>(broker_probe_().pending));
    } catch (const std::exception& e) {
      spdlog::warn("metrics: cannot read the broker backlog: {}", e.what());
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (stats_valid_ && now - stats_read_at_ < stats_ttl_) {
    return;
  }
  try {
    const auto stats = store_.stats(
        std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count());
    things_.get().set(static_cast<double>(stats.things));
    for (const auto& [status, count] : stats.certificates) {
      certificates_.with({std::string(registry::to_string(status))})
          .set(static_cast<double>(count));
    }
    expiring_.with({"7d"}).set(static_cast<double>(stats.expiring_within_7d));
    expiring_.with({"30d"}).set(static_cast<double>(stats.expiring_within_30d));
    stats_read_at_ = now;
    stats_valid_ = true;
  } catch (const std::exception& e) {
    stats_failures_.get().increment();
    spdlog::warn("metrics: cannot read the registry counts: {}", e.what());
  }
}

std::string ServiceMetrics::render() {
  return registry_.render();
}

std::vector<std::string> readiness_problems(registry::Store& store, const ca::Authority& authority,
                                            const BrokerProbe& broker) {
  std::vector<std::string> problems;
  try {
    store.ping();
  } catch (const std::exception& e) {
    problems.push_back(std::string("registry: ") + e.what());
  }
  try {
    const std::string probe = "est-fleet readiness probe";
    const auto signature = crypto::sign_message(authority.issuing_key(), probe);
    if (!crypto::verify_message(authority.issuing_certificate().public_key(), probe, signature)) {
      problems.emplace_back(
          "ca key: its signature does not verify with the issuing CA certificate");
    }
  } catch (const std::exception& e) {
    problems.push_back(std::string("ca key: cannot sign: ") + e.what());
  }
  if (broker) {
    try {
      const auto health = broker();
      if (!health.problem.empty()) {
        problems.push_back("broker: " + std::to_string(health.pending) +
                           " thing(s) not applied: " + health.problem);
      }
    } catch (const std::exception& e) {
      problems.push_back(std::string("broker: cannot read the backlog: ") + e.what());
    }
  }
  return problems;
}

http::Handler operations_handler(ServiceMetrics& metrics, registry::Store& store,
                                 const ca::Authority& authority, BrokerProbe broker) {
  return [&metrics, &store, &authority, broker = std::move(broker)](const http::Request& request,
                                                                    const http::TlsPeer&) {
    const auto path = http::path_of(request.target);
    if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
      return text(404, "no operations endpoint at this path; try /metrics, /healthz or /readyz\n");
    }
    if (request.method != "GET") {
      auto response = text(405, std::string(path) + " takes GET\n");
      response.headers.emplace_back("Allow", "GET");
      return response;
    }
    if (path == "/metrics") {
      return http::Response{200, {{"Content-Type", kContentType}}, metrics.render()};
    }
    if (path == "/healthz") {
      return text(200, "ok\n");
    }
    const auto problems = readiness_problems(store, authority, broker);
    if (problems.empty()) {
      return text(200, "ready: registry, ca key and broker checks passed\n");
    }
    std::string body;
    for (const auto& problem : problems) {
      body += problem + "\n";
    }
    return text(503, body);
  };
}

}  // namespace estfleet::server
