#include "policy/iot_details.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/client_config.hpp"
#include "policy/policy_error.hpp"

namespace estfleet::policy {
namespace {

IotDetails alpha_details() {
  IotDetails details;
  details.thing_name = "DeviceAlpha";
  details.policies = {{Action::connect, true},
                      {Action::publish, true},
                      {Action::receive, std::nullopt},
                      {Action::subscribe, std::nullopt}};
  details.topics = {
      {Action::connect, {{"Name1", "client/DeviceAlpha"}}},
      {Action::publish, {{"Name1", "topic/sensors/DeviceAlpha/telemetry"}}},
      {Action::receive, {{"Name1", "topic/commands/DeviceAlpha"}}},
      {Action::subscribe, {{"Name1", "topicfilter/commands/DeviceAlpha"}}},
  };
  return details;
}

TEST(IotDetails, ParsesTheExampleClientConfig) {
  const auto config = testing::example_client_config();
  const auto& devices = config.at("Devices");
  ASSERT_EQ(devices.size(), 2U);
  EXPECT_EQ(parse_iot_details(devices[0].at("IoTDetails"), "$.Devices[0].IoTDetails"),
            alpha_details());

  const auto beta = parse_iot_details(devices[1].at("IoTDetails"), "$.Devices[1].IoTDetails");
  EXPECT_EQ(beta.thing_name, "DeviceBeta");
  for (const auto action : kAllActions) {
    EXPECT_EQ(beta.policies.at(action), true) << to_string(action);
  }
  const std::vector<TopicEntry> receive{{"Name1", "topic/commands/DeviceBeta"},
                                        {"Name2", "topic/broadcast"}};
  EXPECT_EQ(beta.topics.at(Action::receive), receive);
}

TEST(IotDetails, AbsentPoliciesAndTopicsRequestNothing) {
  const auto details = parse_iot_details_text(R"({"ThingName": "DeviceAlpha"})");
  EXPECT_EQ(details.policies.size(), 4U);
  for (const auto& [action, policy] : details.policies) {
    EXPECT_EQ(policy, std::nullopt) << to_string(action);
  }
  EXPECT_TRUE(details.topics.empty());
}

TEST(IotDetails, KeepsTopicsInWrittenOrder) {
  const auto details = parse_iot_details_text(R"({"ThingName": "D", "Policies": {"Publish": true},
      "Topics": {"Publish": {"Zeta": "z", "Name10": "ten", "Name2": "two", "Alpha": "a"}}})");
  const std::vector<TopicEntry> expected{
      {"Zeta", "topic/z"}, {"Name10", "topic/ten"}, {"Name2", "topic/two"}, {"Alpha", "topic/a"}};
  EXPECT_EQ(details.topics.at(Action::publish), expected);
  EXPECT_EQ(parse_iot_details_text(to_json_text(details)), details);
}

TEST(IotDetails, ASortedJsonObjectGivesSortedTopics) {
  // nlohmann::json has sorted its keys before the parser sees them: the documented limit.
  const auto sorted =
      nlohmann::json::parse(R"({"ThingName": "D", "Topics": {"Publish": {"B": "b", "A": "a"}}})");
  const auto details = parse_iot_details(sorted);
  ASSERT_EQ(details.topics.at(Action::publish).size(), 2U);
  EXPECT_EQ(details.topics.at(Action::publish)[0].key, "A");
}

TEST(IotDetails, TopicsOfANullActionAreKept) {
  const auto details = alpha_details();
  EXPECT_EQ(details.topics.at(Action::receive).size(), 1U);
  EXPECT_EQ(parse_iot_details(to_json(details)), details);
}

TEST(IotDetails, RoundTrips) {
  for (const auto& text : testing::example_iot_details_texts()) {
    const auto details = parse_iot_details_text(text);
    EXPECT_EQ(parse_iot_details(to_json(details)), details);
    EXPECT_EQ(parse_iot_details_text(to_json_text(details)), details);
    EXPECT_EQ(nlohmann::ordered_json::parse(to_json_text(details)),
              nlohmann::ordered_json::parse(text))
        << "the example is already in normal form, so it is written back unchanged";
  }
}

TEST(IotDetails, ToJsonTextIsCompactInClientConfigOrder) {
  IotDetails details;
  details.thing_name = "D";
  details.policies = {{Action::publish, false}};
  details.topics = {{Action::publish, {{"Name1", "topic/x"}}}};
  EXPECT_EQ(to_json_text(details),
            R"({"ThingName":"D","Policies":{"Connect":null,"Publish":false,"Receive":null,)"
            R"("Subscribe":null},"Topics":{"Publish":{"Name1":"topic/x"}}})");
}

TEST(IotDetails, NormalisesResourcesWhileParsing) {
  const auto details = parse_iot_details_text(R"({"ThingName": "D",
      "Topics": {"Connect": {"N": "D"}, "Publish": {"N": "a/b"}, "Receive": {"N": "topic/c"},
                 "Subscribe": {"N": "topic/d/#", "M": "e/+"}}})");
  EXPECT_EQ(details.topics.at(Action::connect)[0].resource, "client/D");
  EXPECT_EQ(details.topics.at(Action::publish)[0].resource, "topic/a/b");
  EXPECT_EQ(details.topics.at(Action::receive)[0].resource, "topic/c");
  EXPECT_EQ(details.topics.at(Action::subscribe)[0].resource, "topicfilter/d/#");
  EXPECT_EQ(details.topics.at(Action::subscribe)[1].resource, "topicfilter/e/+");
}

struct ParseErrorCase {
  const char* name;
  const char* json;
  const char* path;
  const char* message_part;
};

void PrintTo(const ParseErrorCase& c, std::ostream* out) {
  *out << c.name;
}

class IotDetailsErrors : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(IotDetailsErrors, NameTheirJsonPath) {
  const auto& param = GetParam();
  try {
    const auto document = nlohmann::ordered_json::parse(param.json);
    parse_iot_details(document.at("Devices")[1].at("IoTDetails"), "$.Devices[1].IoTDetails");
    FAIL() << "accepted " << param.json;
  } catch (const PolicyError& error) {
    EXPECT_EQ(error.path(), param.path);
    EXPECT_NE(error.message().find(param.message_part), std::string::npos) << error.message();
    EXPECT_EQ(std::string(error.what()), error.path() + ": " + error.message());
  }
}

// Each case is the second device of a config, so paths carry the caller's prefix.
#define DEVICE(details) R"({"Devices": [{}, {"IoTDetails": )" details "}]}"
const ParseErrorCase kParseErrors[] = {
    {"NotAnObject", DEVICE("[]"), "$.Devices[1].IoTDetails", "object"},
    {"MissingThingName", DEVICE("{}"), "$.Devices[1].IoTDetails.ThingName", "required"},
    {"ThingNameNotString", DEVICE(R"({"ThingName": 7})"), "$.Devices[1].IoTDetails.ThingName",
     "string"},
    {"ThingNameWithSlash", DEVICE(R"({"ThingName": "a/b"})"), "$.Devices[1].IoTDetails.ThingName",
     "A-Z"},
    {"ThingNameEmpty", DEVICE(R"({"ThingName": ""})"), "$.Devices[1].IoTDetails.ThingName", "1 to"},
    {"UnknownTopLevelKey", DEVICE(R"({"ThingName": "D", "Policy": {}})"),
     "$.Devices[1].IoTDetails.Policy", "not an IoTDetails key"},
    {"UnknownKeyWithSpace", DEVICE(R"({"ThingName": "D", "my key": 1})"),
     R"($.Devices[1].IoTDetails["my key"])", "not an IoTDetails key"},
    {"UnknownKeyWithControlCharacter", DEVICE(R"({"ThingName": "D", "a\nb": 1})"),
     R"($.Devices[1].IoTDetails["a\nb"])", "not an IoTDetails key"},
    {"PoliciesNotObject", DEVICE(R"({"ThingName": "D", "Policies": true})"),
     "$.Devices[1].IoTDetails.Policies", "object"},
    {"UnknownAction", DEVICE(R"({"ThingName": "D", "Policies": {"Jump": true}})"),
     "$.Devices[1].IoTDetails.Policies.Jump", "not an action"},
    {"LowerCaseAction", DEVICE(R"({"ThingName": "D", "Policies": {"publish": true}})"),
     "$.Devices[1].IoTDetails.Policies.publish", "not an action"},
    {"PolicyString", DEVICE(R"({"ThingName": "D", "Policies": {"Publish": "Allow"}})"),
     "$.Devices[1].IoTDetails.Policies.Publish", "true (Allow)"},
    {"PolicyNumber", DEVICE(R"({"ThingName": "D", "Policies": {"Connect": 1}})"),
     "$.Devices[1].IoTDetails.Policies.Connect", "true (Allow)"},
    {"AllowWithoutTopics", DEVICE(R"({"ThingName": "D", "Policies": {"Publish": true}})"),
     "$.Devices[1].IoTDetails.Policies.Publish", "lists no resource"},
    {"DenyWithEmptyTopics",
     DEVICE(R"({"ThingName": "D", "Policies": {"Receive": false}, "Topics": {"Receive": {}}})"),
     "$.Devices[1].IoTDetails.Policies.Receive", "is false (Deny)"},
    {"AllowWithOtherActionsTopics", DEVICE(R"({"ThingName": "D", "Policies": {"Subscribe": true},
                "Topics": {"Receive": {"Name1": "x"}}})"),
     "$.Devices[1].IoTDetails.Policies.Subscribe", "Topics.Subscribe"},
    {"TopicsNotObject", DEVICE(R"({"ThingName": "D", "Topics": []})"),
     "$.Devices[1].IoTDetails.Topics", "object"},
    {"TopicsUnknownAction", DEVICE(R"({"ThingName": "D", "Topics": {"Jump": {}}})"),
     "$.Devices[1].IoTDetails.Topics.Jump", "not an action"},
    {"TopicsActionNotObject", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": ["x"]}})"),
     "$.Devices[1].IoTDetails.Topics.Publish", "object"},
    {"TopicValueNotString", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name1": 3}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name1", "string"},
    {"TopicValueNull", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name1": null}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name1", "string"},
    {"TopicEmpty", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name1": ""}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name1", "empty"},
    {"TopicControlCharacter",
     DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name2": "a\u0000b"}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name2", "control character"},
    {"TopicDelete", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name1": "a\u007f"}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name1", "control character"},
    {"ClientUnderPublish",
     DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name1": "client/x"}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name1", "client/"},
    {"TopicFilterUnderReceive",
     DEVICE(R"({"ThingName": "D", "Topics": {"Receive": {"Name1": "topicfilter/x"}}})"),
     "$.Devices[1].IoTDetails.Topics.Receive.Name1", "topicfilter/"},
    {"PrefixOnly", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"Name1": "topic/"}}})"),
     "$.Devices[1].IoTDetails.Topics.Publish.Name1", "nothing after"},
    {"EmptyTopicKey", DEVICE(R"({"ThingName": "D", "Topics": {"Publish": {"": "x"}}})"),
     R"($.Devices[1].IoTDetails.Topics.Publish[""])", "name"},
};
#undef DEVICE

INSTANTIATE_TEST_SUITE_P(Table, IotDetailsErrors, ::testing::ValuesIn(kParseErrors),
                         [](const auto& instance) { return std::string(instance.param.name); });

struct TextErrorCase {
  const char* name;
  const char* text;
  const char* path;
};

void PrintTo(const TextErrorCase& c, std::ostream* out) {
  *out << c.name;
}

class IotDetailsTextErrors : public ::testing::TestWithParam<TextErrorCase> {};

TEST_P(IotDetailsTextErrors, NameTheirJsonPath) {
  try {
    parse_iot_details_text(GetParam().text);
    FAIL() << "accepted " << GetParam().text;
  } catch (const PolicyError& error) {
    EXPECT_EQ(error.path(), GetParam().path) << error.what();
  }
}

const TextErrorCase kTextErrors[] = {
    {"Empty", "", "$"},
    {"Truncated", R"({"ThingName": "D")", "$"},
    {"TrailingGarbage", R"({"ThingName": "D"} x)", "$"},
    {"InvalidUtf8", "{\"ThingName\": \"D\xff\"}", "$"},
    {"DuplicateThingName", R"({"ThingName": "DeviceAlpha", "ThingName": "DeviceBeta"})",
     "$.ThingName"},
    {"DuplicateTopic", R"({"ThingName": "D", "Topics": {"Publish": {"Name1": "a", "Name1": "b"}}})",
     "$.Topics.Publish.Name1"},
    {"DuplicateInsideArray", R"({"ThingName": "D", "X": [1, {"a": 1, "a": 2}]})", "$.X[1].a"},
    {"UnknownKeyAfterValidOnes", R"({"ThingName": "D", "Topics": {}, "Extra": null})", "$.Extra"},
};

INSTANTIATE_TEST_SUITE_P(Table, IotDetailsTextErrors, ::testing::ValuesIn(kTextErrors),
                         [](const auto& instance) { return std::string(instance.param.name); });

struct NormaliseCase {
  Action action;
  const char* value;
  const char* expected;  // nullptr: a PolicyError
};

TEST(NormaliseResource, AddsOrChecksThePrefix) {
  const NormaliseCase cases[] = {
      {Action::connect, "DeviceAlpha", "client/DeviceAlpha"},
      {Action::connect, "client/DeviceAlpha", "client/DeviceAlpha"},
      {Action::connect, "topic/x", nullptr},
      {Action::connect, "topicfilter/x", nullptr},
      {Action::publish, "sensors/x", "topic/sensors/x"},
      {Action::publish, "topic/sensors/x", "topic/sensors/x"},
      {Action::publish, "client/x", nullptr},
      {Action::publish, "topicfilter/x", nullptr},
      {Action::publish, "/leading/slash", "topic//leading/slash"},
      {Action::publish, "topics/x", "topic/topics/x"},
      {Action::publish, "clientx", "topic/clientx"},
      {Action::receive, "commands/x", "topic/commands/x"},
      {Action::receive, "topic/commands/x", "topic/commands/x"},
      {Action::receive, "topicfilter/x", nullptr},
      {Action::receive, "client/x", nullptr},
      {Action::subscribe, "commands/#", "topicfilter/commands/#"},
      {Action::subscribe, "topic/commands/+", "topicfilter/commands/+"},
      {Action::subscribe, "topicfilter/commands/x", "topicfilter/commands/x"},
      {Action::subscribe, "client/x", nullptr},
      {Action::subscribe, "topicfilter/", nullptr},
      {Action::subscribe, "topic/", nullptr},
      {Action::connect, "client/", nullptr},
      {Action::publish, "", nullptr},
      {Action::publish, "a\tb", nullptr},
      {Action::publish, "a\rb", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.action)) + " " + c.value);
    if (c.expected == nullptr) {
      EXPECT_THROW(normalise_resource(c.action, c.value, "$.x"), PolicyError);
    } else {
      EXPECT_EQ(normalise_resource(c.action, c.value, "$.x"), c.expected);
    }
  }
}

TEST(NormaliseResource, ErrorsCarryTheGivenPath) {
  try {
    normalise_resource(Action::publish, "client/DeviceAlpha", "$.Topics.Publish.Name1");
    FAIL();
  } catch (const PolicyError& error) {
    EXPECT_EQ(error.path(), "$.Topics.Publish.Name1");
    EXPECT_EQ(error.message(),
              "a client/ resource does not belong under Publish, which takes topic/");
  }
}

}  // namespace
}  // namespace estfleet::policy
