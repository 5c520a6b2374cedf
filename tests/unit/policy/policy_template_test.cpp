#include "policy/policy_template.hpp"

#include <gtest/gtest.h>

#include "policy/client_config.hpp"
#include "policy/document.hpp"
#include "policy/evaluator.hpp"
#include "policy/policy_error.hpp"

namespace estfleet::policy {
namespace {

// DeviceAlpha asking to Allow one action on one resource, exactly as written (no normalising, so
// the check itself is what is tested).
IotDetails asking(Action action, const std::string& resource,
                  const std::string& thing = "DeviceAlpha") {
  IotDetails details;
  details.thing_name = thing;
  for (const auto each : kAllActions) {
    details.policies[each] = std::nullopt;
  }
  details.policies[action] = true;
  details.topics[action] = {{"Name1", resource}};
  return details;
}

struct CoverageCase {
  Action action;
  const char* resource;
  bool within;
};

void PrintTo(const CoverageCase& c, std::ostream* out) {
  *out << to_string(c.action) << " " << c.resource;
}

class DefaultTemplate : public ::testing::TestWithParam<CoverageCase> {};

TEST_P(DefaultTemplate, AdmitsOnlyTheDevicesOwnSubtree) {
  const auto& c = GetParam();
  const auto violation = check_against_template(asking(c.action, c.resource), default_template());
  EXPECT_EQ(!violation.has_value(), c.within) << (violation ? violation->message : "no violation");
}

const CoverageCase kDefaultTemplateCases[] = {
    // Its own ThingName as a whole segment, anywhere after a concrete namespace.
    {Action::connect, "client/DeviceAlpha", true},
    {Action::connect, "client/${ThingName}", true},
    {Action::connect, "client/${iot:Connection.Thing.ThingName}", true},
    {Action::publish, "topic/DeviceAlpha", true},
    {Action::publish, "topic/DeviceAlpha/telemetry", true},
    {Action::publish, "topic/sensors/DeviceAlpha/telemetry", true},
    {Action::publish, "topic/a/b/DeviceAlpha", true},
    {Action::publish, "topic/sensors/${ThingName}/telemetry", true},
    {Action::publish, "topic/DeviceAlpha/*", true},
    {Action::publish, "topic/DeviceAlpha/#", true},
    {Action::publish, "topic/sensors/DeviceAlpha/*", true},
    {Action::publish, "topic/sensors/DeviceAlpha/?", true},
    {Action::receive, "topic/broadcast", true},
    {Action::receive, "topic/commands/DeviceAlpha", true},
    {Action::subscribe, "topicfilter/broadcast", true},
    {Action::subscribe, "topicfilter/commands/DeviceAlpha", true},
    {Action::subscribe, "topicfilter/DeviceAlpha/#", true},
    {Action::subscribe, "topicfilter/sensors/DeviceAlpha/+", true},
    {Action::subscribe, "topicfilter/sensors/DeviceAlpha/+/x/#", true},
    // The namespace in front of the name is another device's subtree, but a concrete one: the
    // DESIGN rule (its ThingName as a whole path segment) admits it.
    {Action::publish, "topic/DeviceBeta/DeviceAlpha", true},

    // Wildcards that reach past its own subtree.
    {Action::publish, "topic/*", false},
    {Action::publish, "topic/#", false},
    {Action::publish, "topic/+", false},
    {Action::publish, "*", false},
    {Action::publish, "topic/sensors/+/telemetry", false},
    {Action::publish, "topic/sensors/*/telemetry", false},
    {Action::publish, "topic/sensors/DeviceAlpha*", false},
    {Action::publish, "topic/sensors/DeviceAlpha?", false},
    {Action::publish, "topic/DeviceAlpha*", false},
    {Action::publish, "topic/*DeviceAlpha", false},
    {Action::publish, "topic/*/DeviceAlpha", false},
    {Action::publish, "topic/+/DeviceAlpha", false},
    {Action::publish, "topic/#/DeviceAlpha", false},
    {Action::publish, "topic/?/DeviceAlpha", false},
    {Action::publish, "topic/Device?lpha", false},
    {Action::connect, "client/*", false},
    {Action::connect, "client/DeviceAlpha*", false},
    {Action::connect, "client/DeviceAlph?", false},
    {Action::subscribe, "topicfilter/#", false},
    {Action::subscribe, "topicfilter/+", false},
    {Action::subscribe, "topicfilter/+/DeviceAlpha", false},
    {Action::subscribe, "topicfilter/+/DeviceAlpha/#", false},
    {Action::subscribe, "topicfilter/#/DeviceAlpha", false},
    {Action::subscribe, "topicfilter/broadcast/#", false},
    {Action::subscribe, "topicfilter/broadcas+", false},
    {Action::receive, "topic/broadcast/x", false},
    {Action::receive, "topic/broadcast*", false},
    // Another device's name, or its own name as part of a longer segment.
    {Action::publish, "topic/sensors/DeviceBeta/telemetry", false},
    {Action::publish, "topic/DeviceAlphaX/t", false},
    {Action::publish, "topic/XDeviceAlpha/t", false},
    {Action::publish, "topic/sensors/DeviceAlphaX", false},
    {Action::publish, "topic/DeviceAlpha.x", false},
    {Action::connect, "client/DeviceBeta", false},
    {Action::connect, "client/DeviceAlphaX", false},
    {Action::connect, "client/DeviceAlpha/x", false},
    {Action::publish, "topic/deviceAlpha", false},
    // The right name under the wrong prefix, and prefixes the broadcast exception does not cover.
    {Action::connect, "topic/DeviceAlpha", false},
    {Action::publish, "topicfilter/DeviceAlpha", false},
    {Action::subscribe, "topic/DeviceAlpha", false},
    {Action::publish, "topic/broadcast", false},
    {Action::connect, "DeviceAlpha", false},
    // Variables the profile cannot pin down.
    {Action::publish, "topic/${iot:ClientId}", false},
    {Action::publish, "topic/${ThingName", false},
    {Action::publish, "topic/DeviceAlpha/${iot:ClientId}", false},
};

INSTANTIATE_TEST_SUITE_P(Table, DefaultTemplate, ::testing::ValuesIn(kDefaultTemplateCases));

TEST(DefaultTemplate, AdmitsBothExampleDevices) {
  const auto config = testing::example_client_config();
  const auto& devices = config.at("Devices");
  ASSERT_EQ(devices.size(), 2U);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto details = parse_iot_details(devices[i].at("IoTDetails"));
    const auto violation = check_against_template(details, default_template());
    EXPECT_FALSE(violation.has_value()) << details.thing_name << ": " << violation->message;
  }
}

TEST(DefaultTemplate, RefusesOneDevicesRequestForAnother) {
  const auto texts = testing::example_iot_details_texts();
  auto beta_as_alpha = parse_iot_details_text(texts.at(1));
  beta_as_alpha.thing_name = "DeviceAlpha";
  const auto violation = check_against_template(beta_as_alpha, default_template());
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "Topics.Connect.Name1");
  EXPECT_EQ(violation->message,
            "Connect on client/DeviceBeta is beyond what the profile allows for DeviceAlpha");
}

TEST(CheckAgainstTemplate, NamesTheOffendingEntry) {
  const auto details = parse_iot_details_text(R"({"ThingName": "DeviceAlpha",
      "Policies": {"Connect": true, "Publish": true},
      "Topics": {"Connect": {"Name1": "DeviceAlpha"},
                 "Publish": {"Name1": "sensors/DeviceAlpha/x", "Name2": "sensors/OtherDevice/x"}}})");
  const auto violation = check_against_template(details, default_template());
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "Topics.Publish.Name2");
  EXPECT_EQ(violation->message,
            "Publish on topic/sensors/OtherDevice/x is beyond what the profile allows for "
            "DeviceAlpha");
}

TEST(CheckAgainstTemplate, AnActionTheTemplateLacksIsNamedByItsPolicy) {
  auto restricted = default_template();
  restricted.allowed.erase(Action::publish);
  const auto violation =
      check_against_template(asking(Action::publish, "topic/DeviceAlpha"), restricted);
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "Policies.Publish");

  restricted.allowed[Action::publish] = {};
  EXPECT_EQ(check_against_template(asking(Action::publish, "topic/DeviceAlpha"), restricted)->entry,
            "Policies.Publish");
}

TEST(CheckAgainstTemplate, DenyAndNullAreAlwaysWithin) {
  const auto details = parse_iot_details_text(R"({"ThingName": "DeviceAlpha",
      "Policies": {"Publish": false, "Subscribe": null},
      "Topics": {"Publish": {"N": "#"}, "Subscribe": {"N": "#"}, "Receive": {"N": "*"}}})");
  EXPECT_FALSE(check_against_template(details, PolicyTemplate{}).has_value());
}

TEST(CheckAgainstTemplate, UnresolvableVariableIsNamed) {
  const auto violation =
      check_against_template(asking(Action::publish, "topic/${iot:ClientId}"), default_template());
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "Topics.Publish.Name1");
  EXPECT_NE(violation->message.find("variable"), std::string::npos);
}

TEST(CheckAgainstTemplate, RefusesAnInvalidThingName) {
  EXPECT_EQ(
      check_against_template(asking(Action::connect, "client/*", "*"), default_template())->entry,
      "ThingName");
  EXPECT_EQ(
      check_against_template(asking(Action::connect, "client/", ""), default_template())->entry,
      "ThingName");
}

struct PatternCase {
  const char* pattern;
  const char* resource;
  bool within;
};

// Templates other than the default: the coverage rule itself, pattern by pattern.
TEST(CheckAgainstTemplate, CoverageRule) {
  const PatternCase cases[] = {
      // A '*' with no ${ThingName} after it covers anything, wildcards included.
      {"topic/fleet/*", "topic/fleet/a/b", true},
      {"topic/fleet/*", "topic/fleet/#", true},
      {"topic/fleet/*", "topic/fleet/*", true},
      {"topic/fleet/*", "topic/fleet", false},
      {"topic/fleet/*", "topic/fleetX", false},
      {"*", "topic/anything/#", true},
      // '?' covers exactly one literal character, never a wildcard.
      {"topic/room?", "topic/room1", true},
      {"topic/room?", "topic/room", false},
      {"topic/room?", "topic/room12", false},
      {"topic/room?", "topic/room?", false},
      {"topic/room?", "topic/room*", false},
      {"topic/room?", "topic/room+", false},
      {"topic/room?", "topic/room#", false},
      // Literal characters must be equal; the pattern's own '+'/'#' are literal and cannot
      // cover the request's.
      {"topic/a/+", "topic/a/+", false},
      {"topic/a/+", "topic/a/b", false},
      {"topic/a", "topic/a", true},
      {"topic/a", "topic/A", false},
      // A '*' before ${ThingName} covers literal text only; after it, anything.
      {"topic/*/${ThingName}/*", "topic/a/b/DeviceAlpha/c/#", true},
      {"topic/*/${ThingName}/*", "topic/+/DeviceAlpha/c", false},
      {"topic/*/${ThingName}/*", "topic/a*/DeviceAlpha/c", false},
      {"topic/${ThingName}/*/${ThingName}/*", "topic/DeviceAlpha/x/DeviceAlpha/#", true},
      {"topic/${ThingName}/*/${ThingName}/*", "topic/DeviceAlpha/+/DeviceAlpha/y", false},
      {"topic/${iot:Connection.Thing.ThingName}/*", "topic/DeviceAlpha/#", true},
      // A star of each strength in one pattern: the check must not commit to the later star.
      {"topic/*/${ThingName}*", "topic/x/DeviceAlpha/DeviceAlpha#", true},
      {"topic/*b${ThingName}*", "topic/b+bDeviceAlpha", false},
      {"topic/*${ThingName}/*", "topic/DeviceAlphaDeviceAlpha/x", true},
      // A template pattern with another variable covers nothing.
      {"topic/${iot:ClientId}/*", "topic/x/y", false},
  };
  for (const auto& c : cases) {
    PolicyTemplate custom;
    custom.allowed[Action::publish] = {c.pattern};
    const auto violation = check_against_template(asking(Action::publish, c.resource), custom);
    EXPECT_EQ(!violation.has_value(), c.within) << c.pattern << " covering " << c.resource;
  }
}

TEST(CheckAgainstTemplate, StarsOfBothStrengthsNeedTheRightSplit) {
  // The request's '-' before the name is literal, so the first star may take it; its '#' after
  // the name falls under the second star. A wildcard before the name fails whatever the split.
  PolicyTemplate custom;
  custom.allowed[Action::publish] = {"topic/*${ThingName}-*"};
  EXPECT_FALSE(check_against_template(asking(Action::publish, "topic/a-DeviceAlpha-#"), custom));
  EXPECT_TRUE(check_against_template(asking(Action::publish, "topic/#DeviceAlpha-x"), custom));
}

TEST(CheckAgainstTemplate, WhatItAdmitsTheEvaluatorAllowsOnlyInside) {
  // Sample concrete topics: anything a covered request allows, the template's own document
  // (its patterns as Allow statements) allows too.
  const auto tmpl = default_template();
  PolicyDocument ceiling;
  for (const auto& [action, patterns] : tmpl.allowed) {
    ceiling.statements.push_back({Effect::allow, {std::string(iot_action_name(action))}, patterns});
  }
  const char* requests[] = {"topic/sensors/DeviceAlpha/*", "topic/DeviceAlpha/#",
                            "topic/a/DeviceAlpha"};
  const char* topics[] = {"topic/sensors/DeviceAlpha/t", "topic/DeviceAlpha/#",
                          "topic/a/DeviceAlpha",         "topic/DeviceBeta/x",
                          "topic/sensors/DeviceAlpha/",  "topic/sensors/DeviceAlphaX/t"};
  for (const auto* requested : requests) {
    const auto details = asking(Action::publish, requested);
    ASSERT_FALSE(check_against_template(details, tmpl)) << requested;
    const auto granted = build_policy_document(details);
    for (const auto* topic : topics) {
      const Request request{Action::publish, topic, "DeviceAlpha"};
      if (evaluate(granted, request) == Decision::allowed) {
        EXPECT_EQ(evaluate(ceiling, request), Decision::allowed) << requested << " -> " << topic;
      }
    }
  }
}

TEST(DefaultDetails, GrantsTheDefaultsForTheThing) {
  const auto details = default_details(default_template(), "DeviceAlpha");
  EXPECT_EQ(details.thing_name, "DeviceAlpha");
  for (const auto action : kAllActions) {
    EXPECT_EQ(details.policies.at(action), true) << to_string(action);
  }
  EXPECT_EQ(details.topics.at(Action::connect),
            (std::vector<TopicEntry>{{"Name1", "client/DeviceAlpha"}}));
  EXPECT_EQ(details.topics.at(Action::publish),
            (std::vector<TopicEntry>{{"Name1", "topic/sensors/DeviceAlpha/*"}}));
  EXPECT_EQ(details.topics.at(Action::receive),
            (std::vector<TopicEntry>{{"Name1", "topic/commands/DeviceAlpha"}}));
  EXPECT_EQ(details.topics.at(Action::subscribe),
            (std::vector<TopicEntry>{{"Name1", "topicfilter/commands/DeviceAlpha"}}));
  EXPECT_FALSE(check_against_template(details, default_template()).has_value());
  EXPECT_EQ(parse_iot_details_text(to_json_text(details)), details);
}

TEST(DefaultDetails, NumbersEntriesAndLeavesUngrantedActionsNull) {
  PolicyTemplate custom;
  custom.default_grants[Action::publish] = {"topic/a/${ThingName}", "b/${ThingName}"};
  custom.default_grants[Action::receive] = {};
  const auto details = default_details(custom, "D");
  EXPECT_EQ(details.policies.at(Action::publish), true);
  EXPECT_EQ(details.policies.at(Action::receive), std::nullopt);
  EXPECT_EQ(details.policies.at(Action::connect), std::nullopt);
  EXPECT_EQ(details.topics.at(Action::publish),
            (std::vector<TopicEntry>{{"Name1", "topic/a/D"}, {"Name2", "topic/b/D"}}));
}

TEST(DefaultDetails, RefusesBadInput) {
  EXPECT_THROW(default_details(default_template(), "bad/name"), PolicyError);
  PolicyTemplate custom;
  custom.default_grants[Action::publish] = {"topic/${iot:ClientId}"};
  EXPECT_THROW(default_details(custom, "D"), PolicyError);
}

}  // namespace
}  // namespace estfleet::policy
