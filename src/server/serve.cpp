#include "server/serve.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <set>

#include "ca/authority.hpp"
#include "common/files.hpp"
#include "common/printable.hpp"
#include "est/media.hpp"
#include "est/route.hpp"
#include "est/service.hpp"
#include "http/plain_server.hpp"
#include "http/server.hpp"
#include "server/auth_rate_limit.hpp"
#include "server/broker_sync.hpp"
#include "server/ca_rollover.hpp"
#include "server/config.hpp"
#include "server/log_format.hpp"
#include "server/operations.hpp"
#include "server/registry_access.hpp"
#include "server/revocation_service.hpp"
#include "server/tls_identity.hpp"

namespace estfleet::server {
namespace {

// The access log's line for one request: the text line as it always was, or a JSON object with
// the same facts as fields.
void log_access(const http::Request& request, const http::TlsPeer& peer,
                const est::Outcome& outcome, std::int64_t micros) {
  const int status = outcome.response.status;
  const auto level = status >= 500   ? spdlog::level::err
                     : status >= 400 ? spdlog::level::warn
                                     : spdlog::level::info;
  // Every field that a client's bytes can reach goes out escaped and bounded (common/printable).
  std::string reason = status >= 400
                           ? outcome.response.body.substr(0, outcome.response.body.find('\n'))
                           : std::string();
  if (!outcome.log_detail.empty()) {
    reason += " (" + outcome.log_detail + ")";
  }
  reason = common::printable(reason);
  const std::string path = common::printable(http::path_of(request.target));
  const std::string thing = common::printable(outcome.thing_name);
  const std::string by = common::printable(outcome.principal);
  if (current_log_format() == LogFormat::json) {
    LogFields fields{{"method", request.method},
                     {"path", path},
                     {"status", status},
                     {"thing", thing},
                     {"serial", outcome.serial},
                     {"by", by},
                     {"from", peer.remote_address},
                     {"ms", static_cast<double>(micros) / 1000.0}};
    if (!reason.empty()) {
      fields.emplace_back("reason", reason);
    }
    log_event(level, request.method + " " + path + " " + std::to_string(status), fields);
    return;
  }
  spdlog::log(level, "{} {} {} thing={} serial={} by={} from={} {:.1f}ms{}{}", request.method, path,
              status, thing.empty() ? "-" : thing, outcome.serial.empty() ? "-" : outcome.serial,
              by.empty() ? "-" : by, peer.remote_address, static_cast<double>(micros) / 1000.0,
              reason.empty() ? "" : ": ", reason);
}

// A request from a source whose failed authentications ran over [limits]: refused with 429 before
// its credentials are looked at. Only the enrollment operations authenticate, so only they are
// refused; the first refusal of each limited window is audited (one row, not one per request).
// The operations that authenticate, and so are rate-limited.
bool is_authenticated_operation(const std::optional<est::Route>& route) {
  return route && (route->operation == est::Operation::simpleenroll ||
                   route->operation == est::Operation::simplereenroll ||
                   route->operation == est::Operation::serverkeygen);
}

std::optional<est::Outcome> refuse_if_limited(AuthFailureLimiter& limiter, registry::Store& store,
                                              const std::optional<est::Route>& route,
                                              const http::TlsPeer& peer, const est::Clock& clock) {
  if (!is_authenticated_operation(route)) {
    return std::nullopt;
  }
  const auto decision = limiter.admit(peer.remote_address);
  if (!decision.limited) {
    return std::nullopt;  // a token is reserved: the caller settles it
  }
  const std::string wait = std::to_string(decision.retry_after.count());
  const std::string sentence = "too many failed authentications from " + peer.remote_address +
                               "; enrollment from this address is refused for " + wait + " s";
  if (decision.window_started) {
    registry::AuditEvent event;
    event.time =
        std::chrono::duration_cast<std::chrono::seconds>(clock().time_since_epoch()).count();
    event.source_address = peer.remote_address;
    event.operation = std::string(est::operation_name(route->operation));
    event.profile = route->label;
    event.result = "rate-limited";
    event.reason = sentence;
    try {
      store.append_audit(event);
    } catch (const std::exception&) {
      // The refusal stands whether or not it could be logged.
    }
  }
  est::Outcome outcome;
  outcome.response = est::error_response(429, sentence);
  outcome.response.headers.emplace_back("Retry-After", wait);
  return outcome;
}

// Routes /crl and /ocsp to the revocation service, /healthz to a liveness answer and the rest to
// EST, with the access log (one line per request) and the metrics. A renewal supersedes a
// certificate, which the CRL must come to show.
http::Handler logged(const est::EstService& service, RevocationService& revocation,
                     ServiceMetrics& metrics, AuthFailureLimiter& limiter, registry::Store& store,
                     const est::Clock& clock) {
  return [&service, &revocation, &metrics, &limiter, &store, &clock](const http::Request& request,
                                                                     const http::TlsPeer& peer) {
    const auto started = std::chrono::steady_clock::now();
    est::Outcome outcome;
    if (request.method == "GET" && http::path_of(request.target) == "/healthz") {
      outcome.response = {200, {{"Content-Type", "text/plain; charset=utf-8"}}, "ok\n"};
    } else if (RevocationService::serves(request.target)) {
      outcome.response = revocation.handle(request);
    } else if (const auto route = est::parse_route(request.target);
               auto refused = refuse_if_limited(limiter, store, route, peer, clock)) {
      outcome = std::move(*refused);
    } else {
      // The token admission reserved is settled as soon as authentication is decided, not after
      // signing and the registry's commit: a source's concurrent requests hold it only that long.
      bool settled = false;
      outcome = service.handle(request, peer, [&](bool refused) {
        settled = true;
        limiter.settle(peer.remote_address, refused);
      });
      if (!settled && is_authenticated_operation(route)) {
        limiter.settle(peer.remote_address, false);  // refused before authenticating (404, 405)
      }
      if (outcome.response.status == 200 &&
          http::path_of(request.target).ends_with("/simplereenroll")) {
        revocation.revocation_changed();
      }
    }
    const auto took = std::chrono::steady_clock::now() - started;
    metrics.observe(request, outcome, took);
    log_access(request, peer, outcome,
               std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    return std::move(outcome.response);
  };
}

// Stops the keeper when it goes out of scope.
struct StopKeeperOnExit {
  TlsIdentityKeeper& keeper;
  ~StopKeeperOnExit() { keeper.stop(); }
};

std::string show_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

void write_port_file(const std::filesystem::path& file, std::uint16_t port) {
  common::write_file_atomically(
      file, std::to_string(port) + "\n",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
          std::filesystem::perms::group_read | std::filesystem::perms::others_read);
}

}  // namespace

void serve(const ServeOptions& options) {
  // A write past RLIMIT_FSIZE must fail (EFBIG: the registry reports it and answers 503), not kill
  // the server with SIGXFSZ's default action.
  std::signal(SIGXFSZ, SIG_IGN);
  auto config = load_config(options.data_dir);
  if (options.listen) {
    apply_listen_address(*options.listen, config.http);
  }
  if (options.metrics_listen) {
    apply_metrics_listen(*options.metrics_listen, config.metrics);
  }
  if (options.metrics_port_file && !config.metrics.enabled) {
    throw std::runtime_error(
        "--metrics-port-file needs the metrics listener: set [metrics] listen or --metrics-listen");
  }
  // With the CA a rollover replaced, while its transition runs (ca_rollover.hpp).
  const auto authority = load_authority(config);
  auto store = open_registry(config);
  const est::Clock clock =
      options.clock ? options.clock : [] { return std::chrono::system_clock::now(); };
  const est::EstService service(authority, *store, build_profiles(config), clock);
  RevocationService revocation(config, authority, *store, clock);

  std::set<std::string> labels;
  for (const auto& profile : config.profiles) {
    labels.insert(profile.label);
  }
  ServiceMetrics metrics(*store, std::move(labels), clock);
  // The broker thread (docs/broker.md): applies what the registry queued for the broker and
  // delivers every new CRL to it. Requests never wait for it.
  std::optional<BrokerWorker> broker;
  BrokerProbe broker_probe;
  if (config.broker) {
    broker.emplace(*config.broker, *store);
    broker_probe = [&broker] {
      const auto health = broker->health();
      return BrokerHealth{health.pending, health.problem};
    };
    metrics.watch_broker(broker_probe);
  }

  AuthFailureLimiter limiter(config.auth_limits);
  // Before the listener loads it: a certificate from before the EST server's mark, near its end,
  // or for a key that was replaced, is renewed now; then hourly, the listener reloading it.
  http::Server* listener = nullptr;
  TlsIdentityKeeper tls_identity(config, authority, clock, [&listener] {
    if (listener != nullptr) {
      listener->reload_tls_identity();
    }
  });
  tls_identity.check_now();
  http::Server server(config.http, logged(service, revocation, metrics, limiter, *store, clock));
  listener = &server;
  // The keeper's thread reaches the listener: it stops before the listener goes, however serve
  // ends.
  const StopKeeperOnExit stop_keeper{tls_identity};
  metrics.count_handshake_failures_with([&server] { return server.handshake_failures(); });
  // The operations listener: plain HTTP on its own address, only when configured.
  std::optional<http::PlainServer> operations;
  if (config.metrics.enabled) {
    http::PlainServerOptions operations_options;
    operations_options.listen_host = config.metrics.listen_host;
    operations_options.listen_port = config.metrics.listen_port;
    operations.emplace(operations_options,
                       operations_handler(metrics, *store, authority, broker_probe));
  }
  revocation.start();
  tls_identity.start();
  if (broker) {
    broker->start();
    spdlog::info("broker: keeping {}:{} in step with the registry", config.broker->admin_host,
                 config.broker->admin_port);
  }
  spdlog::info("est-server listening on https://{}:{} (data {}, {} profile(s))",
               show_host(config.http.listen_host), server.port(), options.data_dir.string(),
               config.profiles.size());
  if (operations) {
    operations->start();
    spdlog::info("metrics, healthz and readyz on http://{}:{}",
                 show_host(config.metrics.listen_host), operations->port());
  }
  if (options.port_file) {
    write_port_file(*options.port_file, server.port());
  }
  if (options.metrics_port_file) {
    write_port_file(*options.metrics_port_file, operations->port());
  }
  server.run();
  if (operations) {
    operations->stop();
  }
  spdlog::info("est-server stopped");
}

}  // namespace estfleet::server
