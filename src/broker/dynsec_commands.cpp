#include "broker/dynsec_commands.hpp"

namespace estfleet::broker {

std::vector<nlohmann::json> commands_to_apply(const BrokerGrant&) {
  return {};
}
std::vector<nlohmann::json> commands_to_remove(std::string_view) {
  return {};
}
nlohmann::json list_clients_command() {
  return {{"command", "listClients"}, {"verbose", false}, {"count", -1}, {"offset", 0}};
}
bool is_benign_error(std::string_view, std::string_view) {
  return false;
}

}  // namespace estfleet::broker
