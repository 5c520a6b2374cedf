#include "policy/action.hpp"

namespace estfleet::policy {

std::string_view to_string(Action action) {
  switch (action) {
    case Action::connect:
      return "Connect";
    case Action::publish:
      return "Publish";
    case Action::receive:
      return "Receive";
    case Action::subscribe:
      return "Subscribe";
  }
  return "Unknown";
}

std::string_view iot_action_name(Action action) {
  switch (action) {
    case Action::connect:
      return "iot:Connect";
    case Action::publish:
      return "iot:Publish";
    case Action::receive:
      return "iot:Receive";
    case Action::subscribe:
      return "iot:Subscribe";
  }
  return "iot:Unknown";
}

std::optional<Action> parse_action(std::string_view name) {
  for (const auto action : kAllActions) {
    if (to_string(action) == name) {
      return action;
    }
  }
  return std::nullopt;
}

std::optional<Action> parse_iot_action_name(std::string_view name) {
  for (const auto action : kAllActions) {
    if (iot_action_name(action) == name) {
      return action;
    }
  }
  return std::nullopt;
}

std::string_view resource_prefix(Action action) {
  switch (action) {
    case Action::connect:
      return "client/";
    case Action::publish:
    case Action::receive:
      return "topic/";
    case Action::subscribe:
      return "topicfilter/";
  }
  return "";
}

}  // namespace estfleet::policy
