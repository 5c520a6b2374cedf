#include "policy/policy_template.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string_view>

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
  const char* resource;
  Action action;
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
    // Its own ThingName as the whole segment after a fixed namespace, and anything below it.
    {"client/DeviceAlpha", Action::connect, true},
    {"client/${ThingName}", Action::connect, true},
    {"client/${iot:Connection.Thing.ThingName}", Action::connect, true},
    {"topic/sensors/DeviceAlpha", Action::publish, true},
    {"topic/sensors/DeviceAlpha/telemetry", Action::publish, true},
    {"topic/sensors/${ThingName}/telemetry", Action::publish, true},
    {"topic/sensors/DeviceAlpha/a/b/c", Action::publish, true},
    {"topic/sensors/DeviceAlpha/*", Action::publish, true},
    {"topic/sensors/DeviceAlpha/#", Action::publish, true},
    {"topic/sensors/DeviceAlpha/?", Action::publish, true},
    // Below its own name every level is its own, whatever it spells; empty levels too.
    {"topic/sensors/DeviceAlpha/DeviceBeta", Action::publish, true},
    {"topic/sensors/DeviceAlpha/", Action::publish, true},
    {"topic/sensors/DeviceAlpha//x", Action::publish, true},
    {"topic/commands/DeviceAlpha", Action::receive, true},
    {"topic/commands/DeviceAlpha/reboot", Action::receive, true},
    {"topic/broadcast", Action::receive, true},
    {"topicfilter/commands/DeviceAlpha", Action::subscribe, true},
    {"topicfilter/commands/DeviceAlpha/#", Action::subscribe, true},
    {"topicfilter/commands/DeviceAlpha/+/x", Action::subscribe, true},
    {"topicfilter/broadcast", Action::subscribe, true},

    // Another device's subtree with its own name below: a whole segment, but not after a fixed
    // namespace, so another device's command topics (the old permissive reading admitted these).
    {"topic/DeviceBeta/DeviceAlpha", Action::publish, false},
    {"topic/commands/DeviceBeta/DeviceAlpha", Action::publish, false},
    {"topic/commands/DeviceBeta/DeviceAlpha", Action::receive, false},
    {"topicfilter/commands/DeviceBeta/DeviceAlpha", Action::subscribe, false},
    {"topic/sensors/DeviceBeta/DeviceAlpha", Action::publish, false},
    // Its own name with no namespace, or in a namespace its action does not use.
    {"topic/DeviceAlpha", Action::publish, false},
    {"topic/DeviceAlpha/#", Action::publish, false},
    {"topic/a/b/DeviceAlpha", Action::publish, false},
    {"topicfilter/DeviceAlpha/#", Action::subscribe, false},
    {"topic/commands/DeviceAlpha", Action::publish, false},
    {"topic/sensors/DeviceAlpha", Action::receive, false},
    {"topicfilter/sensors/DeviceAlpha/+", Action::subscribe, false},

    // Wildcards that reach past its own subtree.
    {"topic/*", Action::publish, false},
    {"topic/#", Action::publish, false},
    {"topic/+", Action::publish, false},
    {"*", Action::publish, false},
    {"topic/sensors/*", Action::publish, false},
    {"topic/sensors/#", Action::publish, false},
    {"topic/sensors/+", Action::publish, false},
    {"topic/sensors/+/telemetry", Action::publish, false},
    {"topic/sensors/*/telemetry", Action::publish, false},
    {"topic/sensors/DeviceAlpha*", Action::publish, false},
    {"topic/sensors/DeviceAlpha?", Action::publish, false},
    {"topic/sensors/DeviceAlpha#", Action::publish, false},
    {"topic/sensors/*DeviceAlpha", Action::publish, false},
    {"topic/sensors/Device?lpha", Action::publish, false},
    {"topic/s?nsors/DeviceAlpha", Action::publish, false},
    {"topic/*/DeviceAlpha", Action::publish, false},
    {"topic/+/DeviceAlpha", Action::publish, false},
    {"topic/#/DeviceAlpha", Action::publish, false},
    {"client/*", Action::connect, false},
    {"client/DeviceAlpha*", Action::connect, false},
    {"client/DeviceAlph?", Action::connect, false},
    {"client/+", Action::connect, false},
    {"topic/commands/*", Action::receive, false},
    {"topic/commands/+", Action::receive, false},
    {"topic/*/DeviceAlpha", Action::receive, false},
    {"topic/broadcast/x", Action::receive, false},
    {"topic/broadcast*", Action::receive, false},
    {"topic/*/broadcast", Action::receive, false},
    {"topicfilter/#", Action::subscribe, false},
    {"topicfilter/+", Action::subscribe, false},
    {"topicfilter/commands/#", Action::subscribe, false},
    {"topicfilter/commands/+", Action::subscribe, false},
    {"topicfilter/commands/+/DeviceAlpha", Action::subscribe, false},
    {"topicfilter/+/DeviceAlpha", Action::subscribe, false},
    {"topicfilter/+/DeviceAlpha/#", Action::subscribe, false},
    {"topicfilter/#/DeviceAlpha", Action::subscribe, false},
    {"topicfilter/broadcast/#", Action::subscribe, false},
    {"topicfilter/broadcast/+", Action::subscribe, false},
    {"topicfilter/broadcas+", Action::subscribe, false},
    // Another device's name, its own name as part of a longer segment, or in another case.
    {"topic/sensors/DeviceBeta/telemetry", Action::publish, false},
    {"topic/sensors/DeviceAlphaX/t", Action::publish, false},
    {"topic/sensors/XDeviceAlpha/t", Action::publish, false},
    {"topic/sensors/DeviceAlpha.x", Action::publish, false},
    {"topic/sensors/deviceAlpha", Action::publish, false},
    {"topic/Sensors/DeviceAlpha", Action::publish, false},
    {"client/DeviceBeta", Action::connect, false},
    {"client/DeviceAlphaX", Action::connect, false},
    {"client/DeviceAlpha/x", Action::connect, false},
    {"client/devicealpha", Action::connect, false},
    {"topic/commands/DeviceBeta", Action::receive, false},
    {"topicfilter/commands/DeviceBeta", Action::subscribe, false},
    // Dot segments a bridge may resolve, and empty levels or slashes in front of its name.
    {"topic/sensors/DeviceAlpha/../DeviceBeta", Action::publish, false},
    {"topic/sensors/DeviceAlpha/../../commands/DeviceBeta", Action::publish, false},
    {"topic/sensors/DeviceAlpha/./x", Action::publish, false},
    {"topic/sensors/DeviceAlpha/..", Action::publish, false},
    {"topic/sensors//DeviceAlpha", Action::publish, false},
    {"topic//sensors/DeviceAlpha", Action::publish, false},
    {"topic/sensors/DeviceAlpha/../../sensors/DeviceAlpha", Action::publish, false},
    // The right name under the wrong prefix, and prefixes the broadcast exception does not cover.
    {"topic/DeviceAlpha", Action::connect, false},
    {"topicfilter/sensors/DeviceAlpha", Action::publish, false},
    {"topic/commands/DeviceAlpha", Action::subscribe, false},
    {"topic/broadcast", Action::publish, false},
    {"topic/broadcast", Action::subscribe, false},
    {"DeviceAlpha", Action::connect, false},
    // Variables the profile cannot pin down.
    {"topic/sensors/${iot:ClientId}", Action::publish, false},
    {"topic/sensors/${ThingName", Action::publish, false},
    {"topic/sensors/DeviceAlpha/${iot:ClientId}", Action::publish, false},
};

INSTANTIATE_TEST_SUITE_P(Table, DefaultTemplate, ::testing::ValuesIn(kDefaultTemplateCases));

// examples/client_config.json, read from the file, is the fleet every guide starts from.
TEST(DefaultTemplate, AdmitsBothExampleDevices) {
  const auto config = testing::example_client_config();
  const auto& devices = config.at("Devices");
  ASSERT_EQ(devices.size(), 2U);
  std::size_t allowed_entries = 0;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    auto details = parse_iot_details(devices[i].at("IoTDetails"));
    const auto violation = check_against_template(details, default_template());
    EXPECT_FALSE(violation.has_value()) << details.thing_name << ": " << violation->message;
    // DeviceAlpha lists Receive and Subscribe topics under null policies; they pass too once
    // allowed, so every entry of the file is checked, not only those that happen to be on.
    for (auto& [action, policy] : details.policies) {
      policy = true;
      allowed_entries += details.topics.contains(action) ? details.topics.at(action).size() : 0;
    }
    const auto all_on = check_against_template(details, default_template());
    EXPECT_FALSE(all_on.has_value()) << details.thing_name << ": " << all_on->message;
  }
  EXPECT_EQ(allowed_entries, 10U) << "the file's entries: 4 for DeviceAlpha, 6 for DeviceBeta";
}

TEST(DefaultTemplate, GrantsTheExampleDevicesExactlyWhatTheyListed) {
  const auto texts = testing::example_iot_details_texts();
  ASSERT_EQ(texts.size(), 2U);
  const auto beta = parse_iot_details_text(texts.at(1));
  ASSERT_FALSE(check_against_template(beta, default_template()));
  const auto document = build_policy_document(beta);
  const auto allowed = [&](Action action, const std::string& resource) {
    return evaluate(document, Request{action, resource, "DeviceBeta"}) == Decision::allowed;
  };
  EXPECT_TRUE(allowed(Action::receive, "topic/broadcast"));
  EXPECT_TRUE(allowed(Action::subscribe, "topicfilter/broadcast"));
  EXPECT_TRUE(allowed(Action::subscribe, "topicfilter/commands/DeviceBeta"));
  EXPECT_TRUE(allowed(Action::publish, "topic/sensors/DeviceBeta/telemetry"));
  EXPECT_FALSE(allowed(Action::receive, "topic/commands/DeviceAlpha"));
  EXPECT_FALSE(allowed(Action::publish, "topic/broadcast"));
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

// Names that are fixed segments of the default template: a device so named is refused whatever it
// asks for, here for the very resources that would reach every device's topics.
TEST(DefaultTemplate, RefusesThingNamesThatAreItsFixedSegments) {
  const struct {
    const char* name;
    Action action;
    const char* resource;
  } cases[] = {
      {"commands", Action::receive, "topic/commands/commands/*"},
      {"commands", Action::subscribe, "topicfilter/commands/commands/#"},
      {"commands", Action::connect, "client/commands"},
      {"sensors", Action::publish, "topic/sensors/sensors/#"},
      {"sensors", Action::connect, "client/sensors"},
      {"broadcast", Action::receive, "topic/commands/broadcast"},
      {"broadcast", Action::connect, "client/broadcast"},
      {"Commands", Action::connect, "client/Commands"},
      {"SENSORS", Action::connect, "client/SENSORS"},
      {"BroadCast", Action::connect, "client/BroadCast"},
  };
  for (const auto& c : cases) {
    const auto violation =
        check_against_template(asking(c.action, c.resource, c.name), default_template());
    ASSERT_TRUE(violation.has_value()) << c.name;
    EXPECT_EQ(violation->entry, "ThingName") << c.name;
    EXPECT_NE(violation->message.find("the ThingName " + std::string(c.name) + " is reserved"),
              std::string::npos)
        << violation->message;
    try {
      default_details(default_template(), c.name);
      ADD_FAILURE() << "default details for " << c.name;
    } catch (const PolicyError& e) {
      EXPECT_EQ(e.path(), "$.ThingName");
      EXPECT_NE(e.message().find("reserved"), std::string::npos) << e.message();
    }
  }
  EXPECT_EQ(check_against_template(asking(Action::receive, "topic/commands/*", "commands"),
                                   default_template())
                ->message,
            "the ThingName commands is reserved by this profile: it is a fixed segment of "
            "topic/commands/${ThingName}");
}

TEST(DefaultTemplate, NamesNearTheReservedOnesAreOrdinary) {
  // The resource types (client, topic, topicfilter) are not segments a name can stand for.
  for (const char* name : {"command", "commands1", "sensor", "broadcasts", "client", "topic",
                           "topicfilter", "ThingName"}) {
    EXPECT_FALSE(reserved_by(default_template(), name)) << name;
    const auto details = default_details(default_template(), name);
    EXPECT_FALSE(check_against_template(details, default_template())) << name;
  }
}

// Exhaustively over requests of up to three levels built from names, namespaces, wildcards and
// path tricks: whatever the default template admits for DeviceAlpha reaches, among every concrete
// resource of up to four levels, only what DeviceAlpha owns for that action, with '+' and '#' read
// as MQTT does as well as '*' and '?' as AWS IoT does.
std::regex as_regex(std::string_view request) {
  std::string text;
  for (const char c : request) {
    switch (c) {
      case '*':
        text += ".*";
        break;
      case '#':  // MQTT: "a/#" matches "a" as well
        if (text.ends_with('/')) {
          text.pop_back();
          text += "(/.*)?";
        } else {
          text += ".*";
        }
        break;
      case '?':
        text += ".";
        break;
      case '+':
        text += "[^/]*";
        break;
      default:
        if (std::string_view("\\^$.|()[]{}").find(c) != std::string_view::npos) {
          text += '\\';
        }
        text += c;
    }
  }
  return std::regex(text);
}

// The concrete resources DeviceAlpha owns for each action under the default template.
bool is_alphas_own(Action action, const std::string& resource) {
  const auto at_or_below = [&](const std::string& base) {
    return resource == base || resource.starts_with(base + "/");
  };
  switch (action) {
    case Action::connect:
      return resource == "client/DeviceAlpha";
    case Action::publish:
      return at_or_below("topic/sensors/DeviceAlpha");
    case Action::receive:
      return at_or_below("topic/commands/DeviceAlpha") || resource == "topic/broadcast";
    case Action::subscribe:
      return at_or_below("topicfilter/commands/DeviceAlpha") || resource == "topicfilter/broadcast";
  }
  return false;
}

TEST(DefaultTemplate, NoAdmittedRequestReachesAnotherDevicesTopic) {
  const std::vector<std::string> request_levels{"sensors",
                                                "commands",
                                                "broadcast",
                                                "DeviceAlpha",
                                                "DeviceBeta",
                                                "x",
                                                "",
                                                "*",
                                                "#",
                                                "+",
                                                "?",
                                                "..",
                                                ".",
                                                "DeviceAlpha*",
                                                "*DeviceAlpha",
                                                "DeviceAlph?",
                                                "Device+"};
  const std::vector<std::string> topic_levels{"sensors",    "commands", "broadcast", "DeviceAlpha",
                                              "DeviceBeta", "x",        ""};
  const struct {
    Action action;
    const char* type;
  } kinds[] = {{Action::publish, "topic"},
               {Action::receive, "topic"},
               {Action::subscribe, "topicfilter"},
               {Action::connect, "client"}};
  for (const auto& kind : kinds) {
    std::vector<std::string> requests{std::string(kind.type)};
    std::vector<std::string> topics{std::string(kind.type)};
    for (std::size_t depth = 0, start = 0; depth < 3; ++depth) {
      const auto end = requests.size();
      for (auto i = start; i < end; ++i) {
        for (const auto& level : request_levels) {
          requests.push_back(requests[i] + "/" + level);
        }
      }
      start = end;
    }
    for (std::size_t depth = 0, start = 0; depth < 4; ++depth) {
      const auto end = topics.size();
      for (auto i = start; i < end; ++i) {
        for (const auto& level : topic_levels) {
          topics.push_back(topics[i] + "/" + level);
        }
      }
      start = end;
    }
    std::size_t admitted = 0;
    for (const auto& request : requests) {
      if (check_against_template(asking(kind.action, request), default_template())) {
        continue;
      }
      ++admitted;
      const auto reach = as_regex(request);
      for (const auto& topic : topics) {
        if (std::regex_match(topic, reach)) {
          EXPECT_TRUE(is_alphas_own(kind.action, topic))
              << to_string(kind.action) << " " << request << " reaches " << topic;
        }
      }
    }
    EXPECT_GT(admitted, 0U) << to_string(kind.action) << ": the sweep admitted nothing";
  }
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

TEST(CheckAgainstTemplate, NamesADotSegment) {
  const auto violation = check_against_template(
      asking(Action::publish, "topic/sensors/DeviceAlpha/../../commands/DeviceBeta"),
      default_template());
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "Topics.Publish.Name1");
  EXPECT_EQ(violation->message,
            "Publish on topic/sensors/DeviceAlpha/../../commands/DeviceBeta holds a '.' or '..' "
            "segment, which a bridge may resolve to another device's path");
}

TEST(CheckAgainstTemplate, AnActionTheTemplateLacksIsNamedByItsPolicy) {
  auto restricted = default_template();
  restricted.allowed.erase(Action::publish);
  const auto violation =
      check_against_template(asking(Action::publish, "topic/sensors/DeviceAlpha"), restricted);
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "Policies.Publish");

  restricted.allowed[Action::publish] = {};
  EXPECT_EQ(check_against_template(asking(Action::publish, "topic/sensors/DeviceAlpha"), restricted)
                ->entry,
            "Policies.Publish");
}

TEST(CheckAgainstTemplate, DenyAndNullAreAlwaysWithin) {
  const auto details = parse_iot_details_text(R"({"ThingName": "DeviceAlpha",
      "Policies": {"Publish": false, "Subscribe": null},
      "Topics": {"Publish": {"N": "#"}, "Subscribe": {"N": "#"}, "Receive": {"N": "*"}}})");
  EXPECT_FALSE(check_against_template(details, PolicyTemplate{}).has_value());
}

TEST(CheckAgainstTemplate, UnresolvableVariableIsNamed) {
  const auto violation = check_against_template(
      asking(Action::publish, "topic/sensors/${iot:ClientId}"), default_template());
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
      // A '*' with no ${ThingName} before it covers anything, wildcards included.
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
      // A '*' after the last ${ThingName} covers anything below the name.
      {"topic/${ThingName}/*", "topic/DeviceAlpha/c/#", true},
      {"topic/${ThingName}/*", "topic/DeviceAlpha/DeviceBeta", true},
      {"topic/${iot:Connection.Thing.ThingName}/*", "topic/DeviceAlpha/#", true},
      {"topic/${ThingName}/a?b", "topic/DeviceAlpha/a/b", true},
      // Before it, a '*' or '?' covers literal characters within one segment: it may name one
      // namespace, never a path into another device's subtree, and never a wildcard.
      {"topic/*/${ThingName}", "topic/sensors/DeviceAlpha", true},
      {"topic/*/${ThingName}", "topic/DeviceBeta/DeviceAlpha", true},
      {"topic/*/${ThingName}", "topic/commands/DeviceBeta/DeviceAlpha", false},
      {"topic/*/${ThingName}", "topic/a/b/DeviceAlpha", false},
      {"topic/*/${ThingName}/*", "topic/a/DeviceAlpha/c/#", true},
      {"topic/*/${ThingName}/*", "topic/a/b/DeviceAlpha/c", false},
      {"topic/*/${ThingName}/*", "topic/+/DeviceAlpha/c", false},
      {"topic/*/${ThingName}/*", "topic/#/DeviceAlpha/c", false},
      {"topic/*/${ThingName}/*", "topic/a*/DeviceAlpha/c", false},
      {"topic/a?b/${ThingName}", "topic/axb/DeviceAlpha", true},
      {"topic/a?b/${ThingName}", "topic/a/b/DeviceAlpha", false},
      {"topic/${ThingName}/*/${ThingName}/*", "topic/DeviceAlpha/x/DeviceAlpha/#", true},
      {"topic/${ThingName}/*/${ThingName}/*", "topic/DeviceAlpha/x/y/DeviceAlpha/z", false},
      {"topic/${ThingName}/*/${ThingName}/*", "topic/DeviceAlpha/+/DeviceAlpha/y", false},
      // A star of each reach in one pattern: the check must not commit to the wrong one.
      {"topic/*/${ThingName}/*", "topic/DeviceAlpha/DeviceAlpha/DeviceAlpha#", true},
      {"topic/*a/${ThingName}/*", "topic/aaa/DeviceAlpha/#", true},
      {"topic/*a/${ThingName}/*", "topic/a#a/DeviceAlpha/x", false},
      // Patterns where ${ThingName} is not a whole segment, or with another variable, cover
      // nothing (the server's configuration refuses them).
      {"topic/${ThingName}*", "topic/DeviceAlpha", false},
      {"topic/${ThingName}*", "topic/DeviceAlpha2", false},
      {"topic/${ThingName}?", "topic/DeviceAlpha2", false},
      {"topic/*${ThingName}", "topic/MyDeviceAlpha", false},
      {"topic/*${ThingName}/*", "topic/DeviceAlpha/x", false},
      {"topic/dev-${ThingName}", "topic/dev-DeviceAlpha", false},
      {"topic/${ThingName}-x", "topic/DeviceAlpha-x", false},
      {"topic/${iot:ClientId}/*", "topic/x/y", false},
      {"topic/${ThingName", "topic/${ThingName", false},
  };
  for (const auto& c : cases) {
    PolicyTemplate custom;
    custom.allowed[Action::publish] = {c.pattern};
    const auto violation = check_against_template(asking(Action::publish, c.resource), custom);
    EXPECT_EQ(!violation.has_value(), c.within) << c.pattern << " covering " << c.resource;
  }
}

TEST(TemplatePatternProblem, NamesWhatIsWrong) {
  EXPECT_FALSE(template_pattern_problem("topic/sensors/${ThingName}/*"));
  EXPECT_FALSE(template_pattern_problem("topic/${iot:Connection.Thing.ThingName}"));
  EXPECT_FALSE(template_pattern_problem("${ThingName}/x"));
  EXPECT_FALSE(template_pattern_problem("topic/*/${ThingName}/${ThingName}"));
  EXPECT_FALSE(template_pattern_problem("topic/fleet/*"));
  EXPECT_EQ(template_pattern_problem("topic/${ThingName}*"),
            "a '*' right after ${ThingName} also matches longer names (DeviceAlpha2's topics for "
            "DeviceAlpha)");
  EXPECT_EQ(template_pattern_problem("topic/${ThingName}?/x"),
            "a '?' right after ${ThingName} also matches longer names (DeviceAlpha2's topics for "
            "DeviceAlpha)");
  EXPECT_EQ(template_pattern_problem("topic/*${ThingName}"),
            "a '*' right before ${ThingName} also matches names that end with it (MyDeviceAlpha's "
            "topics for DeviceAlpha)");
  EXPECT_EQ(template_pattern_problem("topic/dev-${ThingName}"),
            "${ThingName} must be a whole path segment, with '/' or nothing on either side");
  EXPECT_EQ(template_pattern_problem("topic/${ThingName}/x/${ThingName}.y"),
            "${ThingName} must be a whole path segment, with '/' or nothing on either side");
  EXPECT_EQ(template_pattern_problem("topic/${iot:ClientId}"),
            "it holds a variable other than ${ThingName}, so nobody can tell what it reaches");
  EXPECT_EQ(template_pattern_problem("topic/${ThingName"),
            "it holds a variable other than ${ThingName}, so nobody can tell what it reaches");
}

TEST(ReservedBy, FixedSegmentsOfAnyPatternAfterTheResourceType) {
  // A template that mixes a namespace-free subtree with a fixed namespace: without the
  // reservation, a device named "sensors" would own topic/sensors/*, every device's sensors.
  PolicyTemplate mixed;
  mixed.allowed[Action::publish] = {"topic/${ThingName}/*", "topic/sensors/${ThingName}/*"};
  mixed.default_grants[Action::receive] = {"topic/alerts/${ThingName}"};
  EXPECT_EQ(reserved_by(mixed, "sensors"), "topic/sensors/${ThingName}/*");
  EXPECT_EQ(reserved_by(mixed, "Alerts"), "topic/alerts/${ThingName}");
  EXPECT_FALSE(reserved_by(mixed, "topic"));
  EXPECT_FALSE(reserved_by(mixed, "DeviceAlpha"));
  const auto violation =
      check_against_template(asking(Action::publish, "topic/sensors/#", "sensors"), mixed);
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->entry, "ThingName");
  // Segments with a wildcard or a variable reserve nothing.
  PolicyTemplate wild;
  wild.allowed[Action::publish] = {"topic/*/${ThingName}", "topic/a?/x"};
  EXPECT_FALSE(reserved_by(wild, "a1"));
  EXPECT_EQ(reserved_by(wild, "x"), "topic/a?/x");
}

TEST(CheckAgainstTemplate, WhatItAdmitsTheEvaluatorAllowsOnlyInside) {
  // Sample concrete topics: anything a covered request allows, the template's own document
  // (its patterns as Allow statements) allows too.
  const auto tmpl = default_template();
  PolicyDocument ceiling;
  for (const auto& [action, patterns] : tmpl.allowed) {
    ceiling.statements.push_back({Effect::allow, {std::string(iot_action_name(action))}, patterns});
  }
  const char* requests[] = {"topic/sensors/DeviceAlpha/*", "topic/sensors/DeviceAlpha/#",
                            "topic/sensors/DeviceAlpha", "topic/sensors/DeviceAlpha/?"};
  const char* topics[] = {"topic/sensors/DeviceAlpha/t",  "topic/sensors/DeviceAlpha/#",
                          "topic/sensors/DeviceAlpha",    "topic/sensors/DeviceBeta/x",
                          "topic/sensors/DeviceAlpha/",   "topic/sensors/DeviceAlphaX/t",
                          "topic/commands/DeviceAlpha/x", "topic/sensors/DeviceAlpha/a/b"};
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
  custom.default_grants[Action::publish] = {"topic/${ThingName}*"};
  try {
    default_details(custom, "D");
    ADD_FAILURE() << "a grant with '*' right after ${ThingName} was used";
  } catch (const PolicyError& e) {
    EXPECT_EQ(e.path(), "default_grants.Publish");
    EXPECT_NE(e.message().find("right after ${ThingName}"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace estfleet::policy
