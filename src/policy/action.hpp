// The four MQTT actions an IoT policy speaks about, and the resource kind each one names.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace estfleet::policy {

enum class Action { connect, publish, receive, subscribe };

inline constexpr std::array kAllActions{Action::connect, Action::publish, Action::receive,
                                        Action::subscribe};

// "Connect", "Publish", "Receive", "Subscribe": the keys of IoTDetails.Policies and .Topics.
std::string_view to_string(Action action);
// "iot:Connect", ...: the action names of an AWS IoT policy document.
std::string_view iot_action_name(Action action);
// Exactly one of the names above (case-sensitive); nullopt for anything else.
std::optional<Action> parse_action(std::string_view name);
std::optional<Action> parse_iot_action_name(std::string_view name);
// "client/", "topic/", "topic/", "topicfilter/".
std::string_view resource_prefix(Action action);

}  // namespace estfleet::policy
