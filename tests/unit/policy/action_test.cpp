#include "policy/action.hpp"

#include <gtest/gtest.h>

namespace estfleet::policy {
namespace {

struct ActionNames {
  Action action;
  std::string_view key;
  std::string_view iot_name;
  std::string_view prefix;
};

constexpr std::array kActionNames{
    ActionNames{Action::connect, "Connect", "iot:Connect", "client/"},
    ActionNames{Action::publish, "Publish", "iot:Publish", "topic/"},
    ActionNames{Action::receive, "Receive", "iot:Receive", "topic/"},
    ActionNames{Action::subscribe, "Subscribe", "iot:Subscribe", "topicfilter/"},
};

TEST(Action, NamesRoundTrip) {
  for (const auto& names : kActionNames) {
    SCOPED_TRACE(names.key);
    EXPECT_EQ(to_string(names.action), names.key);
    EXPECT_EQ(iot_action_name(names.action), names.iot_name);
    EXPECT_EQ(resource_prefix(names.action), names.prefix);
    EXPECT_EQ(parse_action(names.key), names.action);
    EXPECT_EQ(parse_iot_action_name(names.iot_name), names.action);
  }
}

TEST(Action, RefusesAnythingButTheExactNames) {
  for (const std::string_view name :
       {"", "connect", "PUBLISH", "Jump", "Publish ", "iot:Publish", "iot:*", "Subscribe\n"}) {
    EXPECT_EQ(parse_action(name), std::nullopt) << name;
  }
  for (const std::string_view name : {"", "Publish", "iot:publish", "iot:*", "iot:Pub*"}) {
    EXPECT_EQ(parse_iot_action_name(name), std::nullopt) << name;
  }
}

}  // namespace
}  // namespace estfleet::policy
