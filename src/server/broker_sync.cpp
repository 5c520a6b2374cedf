#include "server/broker_sync.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "broker/acl_translation.hpp"
#include "broker/dynsec_commands.hpp"
#include "policy/document.hpp"
#include "policy/thing_name.hpp"
#include "server/broker_setup.hpp"

namespace estfleet::server {
namespace {

// How many pending things one pass takes, how often the registry is looked at when nothing
// happens, and the longest wait between attempts while the broker is away.
constexpr std::size_t kBatch = 500;
constexpr std::chrono::milliseconds kPollInterval{1000};
constexpr std::chrono::milliseconds kFirstRetry{1000};
constexpr std::chrono::milliseconds kLongestRetry{30000};

const nlohmann::json* find_command(const std::vector<nlohmann::json>& commands,
                                   std::string_view name) {
  for (const auto& command : commands) {
    if (command.value("command", "") == name) {
      return &command;
    }
  }
  return nullptr;
}

using AclKey = std::tuple<std::string, std::string, std::int64_t, bool>;

std::multiset<AclKey> acl_keys(const nlohmann::json& acls) {
  std::multiset<AclKey> keys;
  if (!acls.is_array()) {
    return keys;
  }
  for (const auto& acl : acls) {
    keys.emplace(acl.value("acltype", ""), acl.value("topic", ""),
                 acl.value("priority", std::int64_t{-1}), acl.value("allow", false));
  }
  return keys;
}

std::multiset<std::pair<std::string, std::int64_t>> role_keys(const nlohmann::json& roles) {
  std::multiset<std::pair<std::string, std::int64_t>> keys;
  if (!roles.is_array()) {
    return keys;
  }
  for (const auto& role : roles) {
    keys.emplace(role.value("rolename", ""), role.value("priority", std::int64_t{-1}));
  }
  return keys;
}

// Whether the broker already holds what `plan` asks for: unchanged (or absent, for a removal),
// or nullopt when the plan must be sent.
std::optional<BrokerChange> already_in_place(broker::DynsecClient& client, const ThingPlan& plan) {
  const auto role = broker::role_name_for(plan.thing);
  const auto answers = client.execute({{{"command", "getClient"}, {"username", plan.thing}},
                                       {{"command", "getRole"}, {"rolename", role}}});
  if (answers.size() != 2) {
    return std::nullopt;
  }
  const bool has_client = answers[0].error.empty();
  const bool has_role = answers[1].error.empty();
  if (plan.remove) {
    return !has_client && !has_role ? std::optional(BrokerChange::absent) : std::nullopt;
  }
  if (!has_client || !has_role) {
    return std::nullopt;
  }
  const auto* create_role = find_command(plan.commands, "createRole");
  const auto* create_client = find_command(plan.commands, "createClient");
  if (create_role == nullptr || create_client == nullptr) {
    return std::nullopt;
  }
  const auto& held_client = answers[0].data.value("client", nlohmann::json::object());
  const auto& held_role = answers[1].data.value("role", nlohmann::json::object());
  if (acl_keys(held_role.value("acls", nlohmann::json::array())) !=
      acl_keys(create_role->value("acls", nlohmann::json::array()))) {
    return std::nullopt;
  }
  if (role_keys(held_client.value("roles", nlohmann::json::array())) !=
      role_keys(create_client->value("roles", nlohmann::json::array()))) {
    return std::nullopt;
  }
  if (create_client->value("clientid", "") != held_client.value("clientid", "")) {
    return std::nullopt;
  }
  return BrokerChange::unchanged;
}

// Why an MQTT client of the thing's name that was on the broker before est-fleet's createClient
// is not the thing's own, or nullopt when it is (the client a previous sync made: exactly the
// thing's role, no groups). A client made by hand (say `backend`, with wide rights) is never
// adopted: a device that enrolled its name would log in with those rights.
std::optional<std::string> foreign_client_problem(broker::DynsecClient& client,
                                                  const ThingPlan& plan) {
  const auto* create_client = find_command(plan.commands, "createClient");
  const auto answers = client.execute({{{"command", "getClient"}, {"username", plan.thing}}});
  if (create_client == nullptr || answers.size() != 1 || !answers[0].error.empty()) {
    return std::nullopt;  // gone meanwhile: the next sync creates it
  }
  const auto& held = answers[0].data.value("client", nlohmann::json::object());
  const auto groups = held.value("groups", nlohmann::json::array());
  if (role_keys(held.value("roles", nlohmann::json::array())) ==
          role_keys(create_client->value("roles", nlohmann::json::array())) &&
      (!groups.is_array() || groups.empty())) {
    return std::nullopt;
  }
  return "the broker already holds an MQTT client named " + plan.thing +
         " with roles or groups est-fleet did not give it; it is not adopted (a device enrolled "
         "under that name would log in with them): remove or rename that client on the broker, "
         "or disable the thing";
}

}  // namespace

broker::BrokerEndpoint broker_endpoint(const BrokerConfig& broker) {
  broker::BrokerEndpoint endpoint;
  endpoint.host = broker.admin_host;
  endpoint.port = broker.admin_port;
  endpoint.username = broker.admin_username;
  endpoint.password = read_broker_admin_password(broker);
  endpoint.timeout = broker.timeout;
  return endpoint;
}

std::string_view to_string(BrokerChange change) {
  switch (change) {
    case BrokerChange::unchanged:
      return "unchanged";
    case BrokerChange::added:
      return "added";
    case BrokerChange::updated:
      return "updated";
    case BrokerChange::removed:
      return "removed";
    case BrokerChange::absent:
      return "absent";
    case BrokerChange::failed:
      return "failed";
  }
  return "failed";
}

ThingPlan plan_for_thing(registry::Store& store, const std::string& thing_name) {
  ThingPlan plan;
  plan.thing = thing_name;
  const auto removal = [&plan](std::string why) {
    plan.remove = true;
    plan.why = std::move(why);
    plan.commands = broker::commands_to_remove(plan.thing);
    return plan;
  };
  const auto thing = store.find_thing(thing_name);
  if (!thing) {
    return removal("not a registered thing");
  }
  if (thing->status == registry::ThingStatus::disabled) {
    return removal("disabled");
  }
  if (!store.active_certificate(thing_name)) {
    return removal("no active certificate");
  }
  if (thing->policy_name.empty()) {
    return removal("no policy");
  }
  const auto versions = store.policy_versions(thing->policy_name);
  const auto version = std::find_if(
      versions.begin(), versions.end(),
      [&thing](const registry::PolicyVersion& v) { return v.version == thing->policy_version; });
  if (version == versions.end()) {
    throw std::runtime_error("thing " + thing_name + "'s policy " + thing->policy_name +
                             " version " + std::to_string(thing->policy_version) +
                             " is not in the registry");
  }
  const auto document = policy::parse_policy_document(version->document);
  plan.commands = broker::commands_to_apply(broker::translate_policy(thing_name, document));
  return plan;
}

ThingSyncResult apply_thing(registry::Store& store, broker::DynsecClient& client,
                            const registry::BrokerSyncState& state, bool compare_first) {
  ThingSyncResult result;
  result.thing = state.thing_name;
  ThingPlan plan;
  try {
    plan = plan_for_thing(store, state.thing_name);
  } catch (const broker::BrokerUnavailable&) {
    throw;
  } catch (const std::exception& e) {
    result.change = BrokerChange::failed;
    result.error = e.what();
    return result;
  }
  std::optional<BrokerChange> change;
  if (compare_first) {
    change = already_in_place(client, plan);
  }
  if (!change) {
    const auto answers = client.execute(plan.commands);
    bool existed = false;
    for (const auto& answer : answers) {
      if (answer.error.empty()) {
        continue;
      }
      if (!broker::is_benign_error(answer.command, answer.error)) {
        result.change = BrokerChange::failed;
        result.error = "the broker refused " + answer.command + ": " + answer.error;
        return result;
      }
      // "Client already exists" / "Client not found": the client was (not) there before.
      existed = existed || answer.command == "createClient";
      if (answer.command == "deleteClient") {
        change = BrokerChange::absent;
      }
    }
    if (existed && !plan.remove) {
      if (auto problem = foreign_client_problem(client, plan)) {
        result.change = BrokerChange::failed;
        result.error = std::move(*problem);
        return result;  // stays pending, and the backlog says so, until an operator acts
      }
    }
    if (!change) {
      change = plan.remove ? BrokerChange::removed
                           : (existed ? BrokerChange::updated : BrokerChange::added);
    }
  }
  store.mark_broker_applied(state.thing_name, state.desired);
  result.change = *change;
  return result;
}

std::size_t SyncSummary::count(BrokerChange change) const {
  return static_cast<std::size_t>(
      std::count_if(things.begin(), things.end(),
                    [change](const ThingSyncResult& r) { return r.change == change; }));
}

bool SyncSummary::changed_anything() const {
  return !strays_removed.empty() || count(BrokerChange::added) > 0 ||
         count(BrokerChange::updated) > 0 || count(BrokerChange::removed) > 0;
}

std::string SyncSummary::text() const {
  std::string out;
  for (const auto& thing : things) {
    if (thing.change == BrokerChange::unchanged || thing.change == BrokerChange::absent) {
      continue;
    }
    out += thing.thing + ": " + std::string(to_string(thing.change)) +
           (thing.error.empty() ? "" : " (" + thing.error + ")") + "\n";
  }
  for (const auto& stray : strays_removed) {
    out += stray + ": removed (not a registered thing)\n";
  }
  out += "broker sync: " + std::to_string(things.size()) +
         " thing(s): " + std::to_string(count(BrokerChange::added)) + " added, " +
         std::to_string(count(BrokerChange::updated)) + " updated, " +
         std::to_string(count(BrokerChange::removed)) + " removed, " +
         std::to_string(count(BrokerChange::unchanged) + count(BrokerChange::absent)) +
         " unchanged, " + std::to_string(count(BrokerChange::failed)) + " failed; " +
         std::to_string(strays_removed.size()) + " stray client(s) removed; " +
         std::to_string(pending_after) + " pending\n";
  return out;
}

SyncSummary sync_everything(registry::Store& store, const BrokerConfig& broker) {
  broker::DynsecClient client(broker_endpoint(broker));
  SyncSummary summary;
  std::set<std::string, std::less<>> registered;
  for (const auto& state : store.broker_sync_states(false, 0)) {
    registered.insert(state.thing_name);
    summary.things.push_back(apply_thing(store, client, state, true));
  }
  const auto listed = client.execute({broker::list_clients_command()});
  if (listed.size() != 1 || !listed[0].error.empty()) {
    throw std::runtime_error("the broker did not list its clients: " +
                             (listed.empty() ? std::string("no answer") : listed[0].error));
  }
  for (const auto& entry : listed[0].data.value("clients", nlohmann::json::array())) {
    const std::string username =
        entry.is_string() ? entry.get<std::string>() : entry.value("username", "");
    if (username.empty() || username == broker.admin_username || registered.contains(username)) {
      continue;
    }
    // A client only a ThingName can be (every other name is refused by commands_to_remove):
    // deleting it also disconnects it.
    const auto commands =
        policy::is_valid_thing_name(username)
            ? broker::commands_to_remove(username)
            : std::vector<nlohmann::json>{{{"command", "deleteClient"}, {"username", username}}};
    for (const auto& answer : client.execute(commands)) {
      if (!answer.error.empty() && !broker::is_benign_error(answer.command, answer.error)) {
        throw std::runtime_error("the broker refused to remove stray client " + username + ": " +
                                 answer.error);
      }
    }
    summary.strays_removed.push_back(username);
  }
  summary.pending_after = store.broker_pending_count();
  return summary;
}

BrokerWorker::BrokerWorker(BrokerConfig config, registry::Store& store)
    : config_(std::move(config)), store_(store) {}

BrokerWorker::~BrokerWorker() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void BrokerWorker::start() {
  thread_ = std::thread([this] { run(); });
}

BrokerWorker::Health BrokerWorker::health() {
  Health health;
  health.pending = store_.broker_pending_count();
  if (health.pending > 0) {
    const std::lock_guard lock(mutex_);
    health.problem = last_error_;
  }
  return health;
}

void BrokerWorker::run() {
  std::chrono::milliseconds retry{0};
  while (true) {
    const bool crl_ok = deliver_crl_if_new();
    const bool things_ok = apply_pending();
    const bool ok = crl_ok && things_ok;
    retry = ok ? std::chrono::milliseconds(0) : std::clamp(retry * 2, kFirstRetry, kLongestRetry);
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, ok ? kPollInterval : retry, [this] { return stopping_; })) {
      return;
    }
  }
}

bool BrokerWorker::deliver_crl_if_new() {
  try {
    const auto published = store_.published_crl();
    if (!published || published->number <= delivered_crl_) {
      return true;
    }
    const auto delivery = deliver_crl_to_broker(config_, published->pem);
    if (!delivery.ok) {
      spdlog::warn("broker: CRL {}: {}", published->number, delivery.message);
      return false;
    }
    delivered_crl_ = published->number;
    spdlog::info("broker: CRL {} {}", published->number, delivery.message);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("broker: cannot read the published CRL: {}", e.what());
    return false;
  }
}

bool BrokerWorker::apply_pending() {
  std::string error;
  bool ok = true;
  try {
    const auto pending = store_.broker_sync_states(true, kBatch);
    if (!pending.empty()) {
      if (!client_) {
        client_ = std::make_unique<broker::DynsecClient>(broker_endpoint(config_));
        spdlog::info("broker: connected to {}:{}; {} thing(s) to apply", config_.admin_host,
                     config_.admin_port, pending.size());
      }
      for (const auto& state : pending) {
        const auto result = apply_thing(store_, *client_, state, false);
        if (result.change == BrokerChange::failed) {
          ok = false;
          error = "thing " + result.thing + ": " + result.error;
          spdlog::warn("broker: cannot apply {}", error);
        } else {
          spdlog::info("broker: thing {} {}", result.thing, to_string(result.change));
        }
      }
    }
  } catch (const broker::BrokerUnavailable& e) {
    client_.reset();
    ok = false;
    error = e.what();
  } catch (const std::exception& e) {
    ok = false;
    error = e.what();
  }
  const std::lock_guard lock(mutex_);
  if (!ok && error != last_error_) {
    // Once per distinct failure, not once per retry.
    spdlog::warn("broker: {} (changes stay queued in the registry and are retried)", error);
  }
  if (ok && !last_error_.empty()) {
    spdlog::info("broker: in sync again");
  }
  last_error_ = ok ? std::string() : error;
  return ok;
}

}  // namespace estfleet::server
