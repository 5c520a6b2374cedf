#include "broker/dynsec_client.hpp"

#include <mosquitto.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "broker/dynsec_commands.hpp"
#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::broker {
namespace {

void init_library_once() {
  static std::once_flag once;
  // mosquitto_lib_cleanup is never called: other DynsecClients may live until exit.
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

struct DynsecClient::State {
  struct mosquitto* mosq = nullptr;
  std::string client_id;
  std::string where;  // "host:port", for messages

  std::mutex mutex;
  std::condition_variable changed;
  std::optional<int> connack;  // CONNACK reason, once it arrived
  bool subscribed = false;
  bool subscribe_refused = false;
  bool disconnected = false;
  std::string last_log;  // the library's last warning or error, for a message
  std::uint64_t batch = 0;
  // Answers by correlationData, for the batch being waited for.
  std::map<std::string, CommandResult> answers;

  static State& of(void* userdata) { return *static_cast<State*>(userdata); }

  static void on_connect(struct mosquitto*, void* userdata, int rc) {
    auto& state = of(userdata);
    const std::lock_guard lock(state.mutex);
    state.connack = rc;
    state.changed.notify_all();
  }
  static void on_disconnect(struct mosquitto*, void* userdata, int) {
    auto& state = of(userdata);
    const std::lock_guard lock(state.mutex);
    state.disconnected = true;
    state.changed.notify_all();
  }
  static void on_subscribe(struct mosquitto*, void* userdata, int, int count, const int* granted) {
    auto& state = of(userdata);
    const std::lock_guard lock(state.mutex);
    state.subscribed = true;
    state.subscribe_refused = count < 1 || granted[0] > 2;
    state.changed.notify_all();
  }
  static void on_log(struct mosquitto*, void* userdata, int level, const char* text) {
    if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) == 0 || text == nullptr) {
      return;
    }
    auto& state = of(userdata);
    const std::lock_guard lock(state.mutex);
    state.last_log = text;
  }
  static void on_message(struct mosquitto*, void* userdata, const struct mosquitto_message* msg) {
    auto& state = of(userdata);
    if (msg == nullptr || msg->payload == nullptr || msg->payloadlen <= 0) {
      return;
    }
    const std::string_view payload(static_cast<const char*>(msg->payload),
                                   static_cast<std::size_t>(msg->payloadlen));
    // Every admin client subscribed to the response topic sees every answer; ours carry our
    // correlationData, anything else (another admin's answers, unparsable text) is skipped.
    const auto json = nlohmann::json::parse(payload, nullptr, false);
    if (json.is_discarded() || !json.contains("responses") || !json["responses"].is_array()) {
      return;
    }
    const std::lock_guard lock(state.mutex);
    for (const auto& response : json["responses"]) {
      if (!response.is_object() || !response.contains("correlationData") ||
          !response["correlationData"].is_string()) {
        continue;
      }
      const auto correlation = response["correlationData"].get<std::string>();
      auto pending = state.answers.find(correlation);
      if (pending == state.answers.end()) {
        continue;
      }
      auto& result = pending->second;
      result.command = response.value("command", std::string());
      result.error = response.contains("error") && response["error"].is_string()
                         ? response["error"].get<std::string>()
                         : std::string();
      result.data = response.value("data", nlohmann::json());
      if (result.command.empty()) {
        result.command = "(unnamed)";
      }
    }
    state.changed.notify_all();
  }

  [[noreturn]] void fail(const std::string& cause) const {
    throw BrokerUnavailable("broker " + where + ": " + cause);
  }

  std::string cause_locked(const std::string& fallback) const {
    return last_log.empty() ? fallback : fallback + " (" + last_log + ")";
  }
};

DynsecClient::DynsecClient(BrokerEndpoint endpoint)
    : endpoint_(std::move(endpoint)), state_(std::make_unique<State>()) {
  init_library_once();
  auto& state = *state_;
  state.where = endpoint_.host + ":" + std::to_string(endpoint_.port);
  state.client_id = "est-fleet-admin-" + crypto::hex_encode(crypto::random_bytes(8));
  state.mosq = mosquitto_new(state.client_id.c_str(), true, &state);
  if (state.mosq == nullptr) {
    state.fail("cannot create an MQTT client: " + std::string(std::strerror(errno)));
  }
  auto destroy_on_error = [&](const std::string& cause) {
    mosquitto_loop_stop(state.mosq, true);
    mosquitto_destroy(state.mosq);
    state.mosq = nullptr;
    state.fail(cause);
  };
  mosquitto_connect_callback_set(state.mosq, &State::on_connect);
  mosquitto_disconnect_callback_set(state.mosq, &State::on_disconnect);
  mosquitto_subscribe_callback_set(state.mosq, &State::on_subscribe);
  mosquitto_message_callback_set(state.mosq, &State::on_message);
  mosquitto_log_callback_set(state.mosq, &State::on_log);
  if (mosquitto_username_pw_set(state.mosq, endpoint_.username.c_str(),
                                endpoint_.password.c_str()) != MOSQ_ERR_SUCCESS) {
    destroy_on_error("cannot set the admin username and password");
  }
  if (!endpoint_.ca_file.empty()) {
    const int rc = mosquitto_tls_set(state.mosq, endpoint_.ca_file.c_str(), nullptr, nullptr,
                                     nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      destroy_on_error("cannot use CA file " + endpoint_.ca_file + ": " + mosquitto_strerror(rc));
    }
  }
  int rc = mosquitto_loop_start(state.mosq);
  if (rc != MOSQ_ERR_SUCCESS) {
    destroy_on_error(std::string("cannot start the network thread: ") + mosquitto_strerror(rc));
  }
  rc = mosquitto_connect_async(state.mosq, endpoint_.host.c_str(), endpoint_.port, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    destroy_on_error(std::string("cannot connect: ") +
                     (rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
  }
  std::unique_lock lock(state.mutex);
  const auto deadline = std::chrono::steady_clock::now() + endpoint_.timeout;
  if (!state.changed.wait_until(lock, deadline,
                                [&] { return state.connack.has_value() || state.disconnected; })) {
    const auto cause = state.cause_locked("no answer to CONNECT within " +
                                          std::to_string(endpoint_.timeout.count()) + " ms");
    lock.unlock();
    destroy_on_error(cause);
  }
  if (!state.connack) {
    const auto cause = state.cause_locked("the connection closed before the broker answered");
    lock.unlock();
    destroy_on_error(cause);
  }
  if (*state.connack != 0) {
    const auto cause = std::string("the broker refused the admin login: ") +
                       mosquitto_connack_string(*state.connack);
    lock.unlock();
    destroy_on_error(cause);
  }
  lock.unlock();
  rc = mosquitto_subscribe(state.mosq, nullptr, kDynsecResponseTopic, 1);
  lock.lock();
  if (rc != MOSQ_ERR_SUCCESS ||
      !state.changed.wait_until(lock, deadline,
                                [&] { return state.subscribed || state.disconnected; }) ||
      state.subscribe_refused || state.disconnected) {
    const auto cause = rc != MOSQ_ERR_SUCCESS
                           ? std::string("cannot subscribe: ") + mosquitto_strerror(rc)
                       : state.subscribe_refused
                           ? std::string("the admin client may not subscribe to ") +
                                 kDynsecResponseTopic + " (does it hold the dynsec admin role?)"
                           : state.cause_locked("no SUBACK within " +
                                                std::to_string(endpoint_.timeout.count()) + " ms");
    lock.unlock();
    destroy_on_error(cause);
  }
}

DynsecClient::~DynsecClient() {
  if (state_ && state_->mosq != nullptr) {
    mosquitto_disconnect(state_->mosq);
    mosquitto_loop_stop(state_->mosq, false);
    mosquitto_destroy(state_->mosq);
  }
}

std::vector<CommandResult> DynsecClient::execute(const std::vector<nlohmann::json>& commands) {
  if (commands.empty()) {
    return {};
  }
  auto& state = *state_;
  std::vector<std::string> correlations;
  auto batch = nlohmann::json::array();
  {
    const std::lock_guard lock(state.mutex);
    if (state.disconnected) {
      state.fail(state.cause_locked("the admin connection was lost"));
    }
    ++state.batch;
    state.answers.clear();
    for (std::size_t i = 0; i < commands.size(); ++i) {
      if (!commands[i].is_object() || !commands[i].contains("command") ||
          !commands[i]["command"].is_string()) {
        throw std::invalid_argument("dynsec command " + std::to_string(i) +
                                    " is not an object with a \"command\" string");
      }
      auto command = commands[i];
      auto correlation =
          state.client_id + "-" + std::to_string(state.batch) + "-" + std::to_string(i);
      command["correlationData"] = correlation;
      state.answers.emplace(correlation, CommandResult{});
      correlations.push_back(std::move(correlation));
      batch.push_back(std::move(command));
    }
  }
  const auto payload = nlohmann::json{{"commands", batch}}.dump();
  const int rc = mosquitto_publish(state.mosq, nullptr, kDynsecControlTopic,
                                   static_cast<int>(payload.size()), payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    state.fail(std::string("cannot publish the commands: ") + mosquitto_strerror(rc));
  }
  std::unique_lock lock(state.mutex);
  const auto all_answered = [&] {
    for (const auto& correlation : correlations) {
      if (state.answers[correlation].command.empty()) {
        return false;
      }
    }
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + endpoint_.timeout;
  if (!state.changed.wait_until(lock, deadline,
                                [&] { return all_answered() || state.disconnected; })) {
    state.fail("no answer to " + std::to_string(commands.size()) + " dynsec command(s) within " +
               std::to_string(endpoint_.timeout.count()) + " ms");
  }
  if (!all_answered()) {
    state.fail(state.cause_locked("the admin connection was lost before the broker answered"));
  }
  std::vector<CommandResult> results;
  results.reserve(correlations.size());
  for (const auto& correlation : correlations) {
    results.push_back(std::move(state.answers[correlation]));
  }
  state.answers.clear();
  return results;
}

}  // namespace estfleet::broker
