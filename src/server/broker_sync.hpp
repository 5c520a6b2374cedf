// Keeps the Mosquitto broker in step with the registry (docs/broker.md). Level-triggered: the
// registry says which things changed since the broker last confirmed them (their broker sync
// generations), and applying a thing always pushes its whole current state — its policy as
// dynsec ACLs while it is enabled and holds an active certificate, its removal otherwise — so
// any number of changes while the broker was away collapse into one idempotent application.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/dynsec_client.hpp"
#include "registry/store.hpp"
#include "server/config.hpp"

namespace estfleet::server {

// The dynsec endpoint [broker] names, with the admin password read from its file.
broker::BrokerEndpoint broker_endpoint(const BrokerConfig& broker);

// What the broker should hold for one thing, from the registry as it is now.
struct ThingPlan {
  std::string thing;
  bool remove = false;  // disabled, no active certificate, or no policy: no client at all
  std::string why;      // for a removal: one phrase ("disabled", "no active certificate")
  std::vector<nlohmann::json> commands;
};
// Throws std::runtime_error when the thing's stored policy cannot be read or translated.
ThingPlan plan_for_thing(registry::Store& store, const std::string& thing_name);

enum class BrokerChange { unchanged, added, updated, removed, absent, failed };
std::string_view to_string(BrokerChange change);

struct ThingSyncResult {
  std::string thing;
  BrokerChange change = BrokerChange::unchanged;
  std::string error;  // failed only
};

// Applies the thing's plan and, when the broker accepted it, records the generation it was read
// at. With `compare_first` it reads the broker's client and role and sends nothing when they
// already match (what `broker sync` reports as unchanged); without, it sends the idempotent
// commands. Throws broker::BrokerUnavailable when the broker is lost.
ThingSyncResult apply_thing(registry::Store& store, broker::DynsecClient& client,
                            const registry::BrokerSyncState& state, bool compare_first);

struct SyncSummary {
  std::vector<ThingSyncResult> things;
  std::vector<std::string> strays_removed;  // broker clients that were no registered thing
  std::int64_t pending_after = 0;
  std::size_t count(BrokerChange change) const;
  bool changed_anything() const;
  std::string text() const;  // the summary `broker sync` prints
};

// `est-server broker sync`: every thing, compared and applied; broker clients that are not
// registered things (except the admin) are removed. Throws broker::BrokerUnavailable.
SyncSummary sync_everything(registry::Store& store, const BrokerConfig& broker);

// serve's broker thread: applies pending things, retries with backoff while the broker is away,
// and delivers each newly published CRL to the broker (copy + SIGHUP). Never on a request path:
// enrollments only write the registry, which the thread reads every second (so changes made by
// admin commands in other processes are picked up the same way).
class BrokerWorker {
 public:
  BrokerWorker(BrokerConfig config, registry::Store& store);
  ~BrokerWorker();  // stops and joins
  BrokerWorker(const BrokerWorker&) = delete;
  BrokerWorker& operator=(const BrokerWorker&) = delete;

  void start();

  // For /metrics and /readyz: things pending, and the last failure while some are pending.
  struct Health {
    std::int64_t pending = 0;
    std::string problem;  // empty: in sync, or catching up without errors
  };
  Health health();

 private:
  void run();
  bool deliver_crl_if_new();
  // One pass over the pending things; false when something failed (back off).
  bool apply_pending();

  BrokerConfig config_;
  registry::Store& store_;
  std::unique_ptr<broker::DynsecClient> client_;  // only the worker thread touches it
  std::int64_t delivered_crl_ = 0;

  std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace estfleet::server
