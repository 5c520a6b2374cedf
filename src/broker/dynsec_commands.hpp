// JSON commands for Mosquitto's dynamic-security plugin ($CONTROL/dynamic-security/v1), built from
// a BrokerGrant. Pure: no I/O. See docs/broker.md for the command sequence and its idempotence.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "broker/acl_translation.hpp"

namespace estfleet::broker {

// The dynsec topics: commands are published to the first, answers arrive on the second.
inline constexpr const char* kDynsecControlTopic = "$CONTROL/dynamic-security/v1";
inline constexpr const char* kDynsecResponseTopic = "$CONTROL/dynamic-security/v1/response";

// Commands that make the broker hold exactly this grant for the thing. Idempotent: re-running
// them changes nothing, and the only errors they can answer on a re-run are benign ones
// (is_benign_error).
std::vector<nlohmann::json> commands_to_apply(const BrokerGrant& grant);

// Commands that remove the thing's client and role; deleting the client disconnects it if online.
std::vector<nlohmann::json> commands_to_remove(std::string_view thing_name);

// listClients, all of them: for sync, which things the broker holds.
nlohmann::json list_clients_command();

// True when `error`, the answer to `command`, only says the broker already is in the state the
// command asks for ("Client already exists" to createClient, "Client not found" to deleteClient,
// ...). commands_to_apply and commands_to_remove are built so that such answers are harmless.
bool is_benign_error(std::string_view command, std::string_view error);

}  // namespace estfleet::broker
