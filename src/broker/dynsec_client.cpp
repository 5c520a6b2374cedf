#include "broker/dynsec_client.hpp"

namespace estfleet::broker {

struct DynsecClient::State {};

DynsecClient::DynsecClient(BrokerEndpoint endpoint)
    : endpoint_(std::move(endpoint)), state_(std::make_unique<State>()) {
  throw BrokerUnavailable(endpoint_.host + ":" + std::to_string(endpoint_.port) +
                          ": the dynsec client is not built yet");
}
DynsecClient::~DynsecClient() = default;
std::vector<CommandResult> DynsecClient::execute(const std::vector<nlohmann::json>&) {
  return {};
}

}  // namespace estfleet::broker
