// A $CONTROL client for the dynamic-security plugin over libmosquitto: one MQTT connection as the
// dynsec admin, commands published to $CONTROL/dynamic-security/v1, answers read from .../response.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace estfleet::broker {

struct BrokerEndpoint {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string username;  // a dynsec client with the admin role
  std::string password;
  std::string ca_file;  // empty = plain TCP (loopback admin listener); otherwise TLS to this CA
  std::chrono::milliseconds timeout{5000};
};

struct CommandResult {
  std::string command;
  std::string error;  // empty = ok
  nlohmann::json data;
};

// The broker cannot be reached, refused the admin login, or did not answer in time. The message
// names host:port and the cause.
class BrokerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DynsecClient {
 public:
  // Connects (and subscribes to the response topic) before returning; throws BrokerUnavailable.
  explicit DynsecClient(BrokerEndpoint endpoint);
  ~DynsecClient();
  DynsecClient(const DynsecClient&) = delete;
  DynsecClient& operator=(const DynsecClient&) = delete;

  // Publishes {"commands":[...]} and waits for the answer: one result per command, in order.
  // Throws BrokerUnavailable on a lost connection or timeout. An empty list sends nothing.
  std::vector<CommandResult> execute(const std::vector<nlohmann::json>& commands);

 private:
  struct State;
  BrokerEndpoint endpoint_;
  std::unique_ptr<State> state_;
};

}  // namespace estfleet::broker
