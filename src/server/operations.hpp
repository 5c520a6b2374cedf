// The operations endpoints: the metrics the service keeps about itself (Prometheus text format)
// and the health and readiness probes, served on their own plain-HTTP listener (`[metrics]
// listen`), never on the public EST port.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ca/authority.hpp"
#include "common/metrics.hpp"
#include "est/service.hpp"
#include "http/message.hpp"
#include "registry/store.hpp"

namespace estfleet::server {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// The broker integration's state for /metrics and /readyz (set when [broker] is configured):
// things waiting to be applied, and why the last attempt failed while some wait.
struct BrokerHealth {
  std::int64_t pending = 0;
  std::string problem;
};
using BrokerProbe = std::function<BrokerHealth()>;

class ServiceMetrics {
 public:
  // `profiles`: the configured labels ("" = default); requests naming another label are not
  // counted as enrollments, so a scanner cannot grow the series without bound. Registry counts
  // are read at scrape time and reused for `stats_ttl`.
  ServiceMetrics(registry::Store& store, std::set<std::string> profiles, WallClock clock,
                 std::chrono::seconds stats_ttl = std::chrono::seconds(15));

  // Reads the TLS listener's failed-handshake count at every scrape.
  void count_handshake_failures_with(std::function<std::uint64_t()> read);
  // Reads the broker backlog (est_broker_sync_backlog) at every scrape.
  void watch_broker(BrokerProbe probe);

  // One answered request on the public port: its duration by operation, the enrollment's result
  // (issued, pending or the refusal's status code), a failed authentication, and a refusal of a
  // source over the failed-authentication limit (429).
  void observe(const http::Request& request, const est::Outcome& outcome,
               std::chrono::steady_clock::duration took);

  // The exposition text (format 0.0.4).
  std::string render();

 private:
  void collect();

  registry::Store& store_;
  std::set<std::string> profiles_;
  WallClock clock_;
  std::chrono::seconds stats_ttl_;
  common::metrics::Registry registry_;
  common::metrics::CounterFamily& enrollments_;
  common::metrics::HistogramFamily& durations_;
  common::metrics::CounterFamily& auth_failures_;
  common::metrics::CounterFamily& rate_limited_;
  common::metrics::CounterFamily& handshake_failures_;
  common::metrics::GaugeFamily& things_;
  common::metrics::GaugeFamily& certificates_;
  common::metrics::GaugeFamily& expiring_;
  common::metrics::CounterFamily& stats_failures_;
  std::function<std::uint64_t()> read_handshake_failures_;
  common::metrics::GaugeFamily& broker_backlog_;
  BrokerProbe broker_probe_;
  std::mutex stats_mutex_;  // one registry read at a time; scrapes within the TTL reuse it
  std::chrono::steady_clock::time_point stats_read_at_{};
  bool stats_valid_ = false;
};

// The operation label of a request on the public port: the EST operation, "crl", "ocsp",
// "healthz", or "other".
std::string operation_label(const std::string& target);

// The failed readiness checks, one line each ("registry: ..."); empty when ready. Checks the
// registry answers a trivial query and the CA key signs a test message its certificate verifies.
// With a broker probe, the broker check fails while things wait and the last attempt to apply
// them failed (the broker is away or refused); without one (no [broker]) it passes.
std::vector<std::string> readiness_problems(registry::Store& store, const ca::Authority& authority,
                                            const BrokerProbe& broker = {});

// GET /metrics, /healthz and /readyz for the operations listener; 404 elsewhere, 405 for other
// methods.
http::Handler operations_handler(ServiceMetrics& metrics, registry::Store& store,
                                 const ca::Authority& authority, BrokerProbe broker = {});

}  // namespace estfleet::server
