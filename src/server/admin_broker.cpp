#include "server/admin_broker.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "broker/dynsec_client.hpp"
#include "server/broker_sync.hpp"
#include "server/registry_access.hpp"

namespace estfleet::server {
namespace {

const BrokerConfig& configured_broker(const AdminSession& session) {
  if (!session.config.broker) {
    throw std::runtime_error((session.config.data_dir / kConfigFileName).string() +
                             " has no [broker] table; run 'est-server broker config --data " +
                             session.config.data_dir.string() + " --out DIR' first");
  }
  return *session.config.broker;
}

}  // namespace

std::string configure_broker(const BrokerSetupOptions& options) {
  const auto result = write_broker_setup(options);
  const auto conf = result.mosquitto_conf.string();
  const auto folder = result.mosquitto_conf.parent_path().string();
  return "broker configuration written: " + conf + "\n" + "broker server certificate " +
         result.certificate_serial + " (server.pem, key server.key 0600)\n" +
         (result.kept_dynsec_state
              ? "kept dynamic-security.json and the admin password (existing broker state)\n"
              : "new dynamic-security.json; admin password in " +
                    (options.data_dir / "broker/admin.password").string() + " (0600)\n") +
         "est-server.toml: [broker] table written\n"
         "start the broker (as the user that owns " +
         folder +
         "; it must be able to write there):\n"
         "  mosquitto -c " +
         conf +
         "\n"
         "then `est-server serve` keeps it in step with the registry; "
         "`est-server broker sync --data " +
         options.data_dir.string() + "` applies everything now\n";
}

BrokerSyncOutcome sync_broker(const std::filesystem::path& data_dir, bool json) {
  const auto session = open_admin_session(data_dir);
  const auto& broker = configured_broker(session);
  SyncSummary summary;
  try {
    summary = sync_everything(*session.store, broker);
  } catch (const broker::BrokerUnavailable& e) {
    throw std::runtime_error(std::string(e.what()) + "; " +
                             std::to_string(session.store->broker_pending_count()) +
                             " thing(s) stay pending");
  }
  BrokerSyncOutcome outcome;
  outcome.failed = summary.count(BrokerChange::failed) > 0;
  if (!json) {
    outcome.text = summary.text();
    return outcome;
  }
  auto things = nlohmann::json::array();
  for (const auto& thing : summary.things) {
    nlohmann::json entry{{"name", thing.thing}, {"change", to_string(thing.change)}};
    if (!thing.error.empty()) {
      entry["error"] = thing.error;
    }
    things.push_back(entry);
  }
  outcome.text = nlohmann::json{{"things", things},
                                {"strays_removed", summary.strays_removed},
                                {"changed", summary.changed_anything()},
                                {"pending", summary.pending_after}}
                     .dump(2) +
                 "\n";
  return outcome;
}

std::string broker_status(const std::filesystem::path& data_dir, bool json) {
  const auto session = open_admin_session(data_dir);
  const auto& broker = configured_broker(session);
  const auto pending = session.store->broker_sync_states(true, 0);
  const auto pid = running_broker_pid(broker);
  if (json) {
    auto names = nlohmann::json::array();
    for (const auto& state : pending) {
      names.push_back(state.thing_name);
    }
    return nlohmann::json{{"pending", pending.size()},
                          {"pending_things", names},
                          {"broker_pid", pid ? nlohmann::json(*pid) : nlohmann::json(nullptr)},
                          {"admin", broker.admin_host + ":" + std::to_string(broker.admin_port)}}
               .dump(2) +
           "\n";
  }
  std::string text = std::to_string(pending.size()) + " thing(s) pending for the broker";
  for (std::size_t i = 0; i < pending.size(); ++i) {
    text += (i == 0 ? ": " : ", ") + pending[i].thing_name;
  }
  text += "\nbroker " +
          (pid ? "running (pid " + std::to_string(*pid) + ")" : std::string("not running")) +
          ", admin listener " + broker.admin_host + ":" + std::to_string(broker.admin_port) + "\n";
  return text;
}

}  // namespace estfleet::server
