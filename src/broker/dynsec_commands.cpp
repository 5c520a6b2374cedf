#include "broker/dynsec_commands.hpp"

#include <array>
#include <stdexcept>
#include <utility>

#include "policy/thing_name.hpp"

namespace estfleet::broker {
namespace {

nlohmann::json acl_json(const AclEntry& entry) {
  return {{"acltype", dynsec_acl_type(entry.type)},
          {"topic", entry.topic},
          {"priority", entry.priority},
          {"allow", entry.allow}};
}

}  // namespace

std::vector<nlohmann::json> commands_to_apply(const BrokerGrant& grant) {
  if (!policy::is_valid_thing_name(grant.username)) {
    throw std::invalid_argument("'" + grant.username +
                                "' is not a ThingName ([A-Za-z0-9:_-]{1,128})");
  }
  const auto role = role_name_for(grant.username);
  auto acls = nlohmann::json::array();
  for (const auto& entry : grant.acls) {
    acls.push_back(acl_json(entry));
  }
  // createRole only matters the first time ("Role already exists" afterwards); modifyRole then
  // replaces the role's whole ACL list in one command, which the broker applies at once and which
  // leaves the thing's connections open. createClient (no password: the thing logs in with its
  // certificate) holds the role from the start; "Client already exists" afterwards. No
  // modifyClient: Mosquitto 2.0.11 disconnects the client on every modifyClient, even one that
  // changes nothing, so a re-run would knock every device off.
  return {
      {{"command", "createRole"}, {"rolename", role}, {"acls", acls}},
      {{"command", "modifyRole"}, {"rolename", role}, {"acls", acls}},
      {{"command", "createClient"},
       {"username", grant.username},
       {"textname", "est-fleet thing " + grant.username},
       {"roles", nlohmann::json::array({{{"rolename", role}, {"priority", 1}}})}},
  };
}

std::vector<nlohmann::json> commands_to_remove(std::string_view thing_name) {
  if (!policy::is_valid_thing_name(thing_name)) {
    throw std::invalid_argument("'" + std::string(thing_name) +
                                "' is not a ThingName ([A-Za-z0-9:_-]{1,128})");
  }
  const std::string username(thing_name);
  // deleteClient disconnects the thing's online connections; the role goes after it.
  return {
      {{"command", "deleteClient"}, {"username", username}},
      {{"command", "deleteRole"}, {"rolename", role_name_for(thing_name)}},
  };
}

nlohmann::json list_clients_command() {
  return {{"command", "listClients"}, {"verbose", false}, {"count", -1}, {"offset", 0}};
}

bool is_benign_error(std::string_view command, std::string_view error) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kBenign{{
      {"createRole", "Role already exists"},
      {"createClient", "Client already exists"},
      {"deleteClient", "Client not found"},
      {"deleteRole", "Role not found"},
  }};
  for (const auto& [benign_command, benign_error] : kBenign) {
    if (command == benign_command && error == benign_error) {
      return true;
    }
  }
  return false;
}

}  // namespace estfleet::broker
