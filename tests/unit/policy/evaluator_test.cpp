#include "policy/evaluator.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace estfleet::policy {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool matches;
};

TEST(GlobMatch, AwsIotWildcards) {
  const GlobCase cases[] = {
      {"", "", true},
      {"", "a", false},
      {"*", "", true},
      {"*", "topic/a/b/c", true},
      {"topic/*", "topic/", true},
      {"topic/*", "topic/a/b", true},
      {"topic/*", "topicfilter/a", false},
      {"topic/a*", "topic/abc/def", true},
      {"topic/*/x", "topic/a/b/x", true},
      {"topic/*/x", "topic/x", false},
      {"topic/sensor?", "topic/sensor1", true},
      {"topic/sensor?", "topic/sensor", false},
      {"topic/sensor?", "topic/sensor12", false},
      {"topic/??", "topic/ab", true},
      {"topic/?", "topic//", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXcYYb", false},
      {"*a", "bab", false},
      {"*a", "baba", true},
      {"*ab", "aab", true},
      {"a**b", "ab", true},
      {"topic/+", "topic/+", true},
      {"topic/+", "topic/a", false},
      {"topicfilter/#", "topicfilter/#", true},
      {"topicfilter/#", "topicfilter/a/b", false},
      {"Topic/A", "topic/a", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.text), c.matches) << c.pattern << " ~ " << c.text;
  }
}

TEST(GlobMatch, PathologicalPatternStaysFast) {
  const std::string text(20000, 'a');
  std::string pattern;
  for (int i = 0; i < 30; ++i) {
    pattern += "*a";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(glob_match(pattern + "*b", text));
  EXPECT_TRUE(glob_match(pattern + "*", text));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

struct SubstituteCase {
  const char* pattern;
  const char* thing;
  std::optional<std::string> expected;
};

TEST(SubstituteVariables, OnlyTheThingNameResolves) {
  const SubstituteCase cases[] = {
      {"topic/plain", "D", "topic/plain"},
      {"client/${iot:Connection.Thing.ThingName}", "D", "client/D"},
      {"topic/${ThingName}/${ThingName}", "D", "topic/D/D"},
      {"topic/$aws/things/${ThingName}/shadow", "D", "topic/$aws/things/D/shadow"},
      {"topic/${iot:ClientId}", "D", std::nullopt},
      {"topic/${iot:Connection.Thing.Attributes[x]}", "D", std::nullopt},
      {"topic/${thingname}", "D", std::nullopt},
      {"topic/${ThingName", "D", std::nullopt},
      {"topic/${ThingName}", "", std::nullopt},
      {"topic/plain", "", "topic/plain"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(substitute_variables(c.pattern, c.thing), c.expected) << c.pattern;
  }
}

PolicyDocument document_of(std::vector<Statement> statements) {
  PolicyDocument document;
  document.statements = std::move(statements);
  return document;
}

struct EvaluateCase {
  const char* name;
  std::vector<Statement> statements;
  Request request;
  Decision expected;
};

void PrintTo(const EvaluateCase& c, std::ostream* out) {
  *out << c.name;
}

class Evaluate : public ::testing::TestWithParam<EvaluateCase> {};

TEST_P(Evaluate, FollowsAwsIotSemantics) {
  const auto& c = GetParam();
  EXPECT_EQ(to_string(evaluate(document_of(c.statements), c.request)), to_string(c.expected));
}

const Statement kAllowPublishFoo{Effect::allow, {"iot:Publish"}, {"topic/foo"}};

const EvaluateCase kEvaluateCases[] = {
    {"NoStatementsAllowNothing", {}, {Action::connect, "client/D", "D"}, Decision::not_allowed},
    {"AllowOnTheExactTopic",
     {kAllowPublishFoo},
     {Action::publish, "topic/foo", "D"},
     Decision::allowed},
    {"NoMatchingResource",
     {kAllowPublishFoo},
     {Action::publish, "topic/bar", "D"},
     Decision::not_allowed},
    {"NoMatchingAction",
     {kAllowPublishFoo},
     {Action::receive, "topic/foo", "D"},
     Decision::not_allowed},
    {"ExplicitDenyOverridesAllow",
     {kAllowPublishFoo, {Effect::deny, {"iot:Publish"}, {"topic/foo"}}},
     {Action::publish, "topic/foo", "D"},
     Decision::denied_explicitly},
    {"DenyOnTopicStarBeatsAllowOnASpecificTopic",
     {{Effect::deny, {"iot:Publish"}, {"topic/*"}}, kAllowPublishFoo},
     {Action::publish, "topic/foo", "D"},
     Decision::denied_explicitly},
    {"DenyElsewhereLeavesTheAllow",
     {{Effect::deny, {"iot:Publish"}, {"topic/secret/*"}}, kAllowPublishFoo},
     {Action::publish, "topic/foo", "D"},
     Decision::allowed},
    {"DenyAloneIsStillExplicit",
     {{Effect::deny, {"iot:*"}, {"*"}}},
     {Action::connect, "client/D", "D"},
     Decision::denied_explicitly},
    {"WildcardActionIotStar",
     {{Effect::allow, {"iot:*"}, {"client/D"}}},
     {Action::connect, "client/D", "D"},
     Decision::allowed},
    {"WildcardActionPrefix",
     {{Effect::allow, {"iot:Pub*"}, {"topic/*"}}},
     {Action::publish, "topic/a", "D"},
     Decision::allowed},
    {"WildcardActionPrefixMissesSubscribe",
     {{Effect::allow, {"iot:Pub*"}, {"*"}}},
     {Action::subscribe, "topicfilter/a", "D"},
     Decision::not_allowed},
    {"ActionNamesIgnoreCase",
     {{Effect::allow, {"IOT:publish"}, {"topic/a"}}},
     {Action::publish, "topic/a", "D"},
     Decision::allowed},
    {"ResourcesRespectCase",
     {{Effect::allow, {"iot:Publish"}, {"topic/A"}}},
     {Action::publish, "topic/a", "D"},
     Decision::not_allowed},
    {"QuestionMarkIsOneCharacter",
     {{Effect::allow, {"iot:Publish"}, {"topic/sensor?"}}},
     {Action::publish, "topic/sensor1", "D"},
     Decision::allowed},
    {"QuestionMarkIsNotTwo",
     {{Effect::allow, {"iot:Publish"}, {"topic/sensor?"}}},
     {Action::publish, "topic/sensor12", "D"},
     Decision::not_allowed},
    {"ThingNameVariable",
     {{Effect::allow, {"iot:Connect"}, {"client/${iot:Connection.Thing.ThingName}"}}},
     {Action::connect, "client/DeviceAlpha", "DeviceAlpha"},
     Decision::allowed},
    {"ThingNameVariableIsNotAnotherThing",
     {{Effect::allow, {"iot:Connect"}, {"client/${iot:Connection.Thing.ThingName}"}}},
     {Action::connect, "client/DeviceBeta", "DeviceAlpha"},
     Decision::not_allowed},
    {"ThingNameVariableWithoutAThing",
     {{Effect::allow, {"iot:Connect"}, {"client/${iot:Connection.Thing.ThingName}"}}},
     {Action::connect, "client/", ""},
     Decision::not_allowed},
    {"UnresolvableVariableMatchesNothing",
     {{Effect::allow, {"iot:Connect"}, {"client/${iot:ClientId}", "client/Other"}}},
     {Action::connect, "client/${iot:ClientId}", "D"},
     Decision::not_allowed},
    {"UnresolvableDenyDoesNotDeny",
     {{Effect::deny, {"iot:Publish"}, {"topic/${iot:ClientId}"}}, kAllowPublishFoo},
     {Action::publish, "topic/foo", "D"},
     Decision::allowed},
    {"MqttPlusIsLiteralInPolicies",
     {{Effect::allow, {"iot:Subscribe"}, {"topicfilter/a/+"}}},
     {Action::subscribe, "topicfilter/a/b", "D"},
     Decision::not_allowed},
    {"MqttPlusMatchesItself",
     {{Effect::allow, {"iot:Subscribe"}, {"topicfilter/a/+"}}},
     {Action::subscribe, "topicfilter/a/+", "D"},
     Decision::allowed},
    {"ResourcePrefixMatters",
     {{Effect::allow, {"iot:Subscribe"}, {"topic/a"}}},
     {Action::subscribe, "topicfilter/a", "D"},
     Decision::not_allowed},
    {"StarResourceMatchesEveryPrefix",
     {{Effect::allow, {"iot:Receive"}, {"*"}}},
     {Action::receive, "topic/anything/at/all", "D"},
     Decision::allowed},
    {"OneOfSeveralActions",
     {{Effect::allow, {"iot:Publish", "iot:Receive"}, {"topic/a"}}},
     {Action::receive, "topic/a", "D"},
     Decision::allowed},
};

INSTANTIATE_TEST_SUITE_P(Table, Evaluate, ::testing::ValuesIn(kEvaluateCases),
                         [](const auto& instance) { return std::string(instance.param.name); });

TEST(Decision, HasReadableNames) {
  EXPECT_EQ(to_string(Decision::allowed), "allowed");
  EXPECT_EQ(to_string(Decision::denied_explicitly), "denied explicitly");
  EXPECT_EQ(to_string(Decision::not_allowed), "not allowed");
}

}  // namespace
}  // namespace estfleet::policy
