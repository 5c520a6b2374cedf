#include "policy/document.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/client_config.hpp"
#include "policy/policy_error.hpp"

namespace estfleet::policy {
namespace {

TEST(PolicyDocument, BuildsOneStatementPerDecidedAction) {
  const auto texts = testing::example_iot_details_texts();
  const auto alpha = build_policy_document(parse_iot_details_text(texts.at(0)));
  const PolicyDocument expected_alpha{
      "2012-10-17",
      {{Effect::allow, {"iot:Connect"}, {"client/DeviceAlpha"}},
       {Effect::allow, {"iot:Publish"}, {"topic/sensors/DeviceAlpha/telemetry"}}}};
  EXPECT_EQ(alpha, expected_alpha) << "Receive and Subscribe are null: no statement";

  const auto beta = build_policy_document(parse_iot_details_text(texts.at(1)));
  ASSERT_EQ(beta.statements.size(), 4U);
  EXPECT_EQ(beta.statements[2],
            (Statement{
                Effect::allow, {"iot:Receive"}, {"topic/commands/DeviceBeta", "topic/broadcast"}}));
  EXPECT_EQ(beta.statements[3].actions, std::vector<std::string>{"iot:Subscribe"});
}

TEST(PolicyDocument, FalseIsDenyAndOrderIsFixed) {
  const auto details = parse_iot_details_text(R"({"ThingName": "D",
      "Policies": {"Subscribe": false, "Connect": true, "Publish": null},
      "Topics": {"Subscribe": {"N": "topicfilter/#"}, "Connect": {"N": "D"},
                 "Publish": {"N": "ignored"}}})");
  const auto document = build_policy_document(details);
  ASSERT_EQ(document.statements.size(), 2U);
  EXPECT_EQ(document.statements[0].actions[0], "iot:Connect");
  EXPECT_EQ(document.statements[1].effect, Effect::deny);
  EXPECT_EQ(document.statements[1].resources[0], "topicfilter/#");
  EXPECT_EQ(build_policy_document(details), document);
}

TEST(PolicyDocument, AnActionWithoutResourcesGetsNoStatement) {
  IotDetails details;
  details.thing_name = "D";
  details.policies = {{Action::publish, true}};
  EXPECT_TRUE(build_policy_document(details).statements.empty());
}

TEST(PolicyDocument, TextIsPrettyAndStable) {
  const PolicyDocument document{"2012-10-17",
                                {{Effect::allow, {"iot:Connect"}, {"client/DeviceAlpha"}},
                                 {Effect::deny, {"iot:Publish"}, {"topic/a", "topic/b"}}}};
  EXPECT_EQ(to_json_text(document), R"({
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iot:Connect"
      ],
      "Resource": [
        "client/DeviceAlpha"
      ]
    },
    {
      "Effect": "Deny",
      "Action": [
        "iot:Publish"
      ],
      "Resource": [
        "topic/a",
        "topic/b"
      ]
    }
  ]
})");
  EXPECT_EQ(to_json(document).at("Statement").at(1).at("Effect"), "Deny");
}

TEST(PolicyDocument, RoundTrips) {
  for (const auto& text : testing::example_iot_details_texts()) {
    const auto document = build_policy_document(parse_iot_details_text(text));
    EXPECT_EQ(parse_policy_document(to_json_text(document)), document);
    EXPECT_EQ(parse_policy_document(to_json(document).dump()), document);
  }
  const PolicyDocument empty;
  EXPECT_EQ(parse_policy_document(to_json_text(empty)), empty);
}

TEST(PolicyDocument, ReadsHandWrittenForms) {
  const auto document = parse_policy_document(R"({
    "Version": "2012-10-17",
    "Statement": [
      {"Sid": "connect", "Effect": "Allow", "Action": "iot:Connect",
       "Resource": "arn:aws:iot:eu-west-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
      {"Effect": "Deny", "Action": ["iot:Publish", "iot:Receive"],
       "Resource": ["arn:aws-cn:iot:*:*:topic/secret/*", "topic/plain", "*"]}
    ]})");
  const PolicyDocument expected{
      "2012-10-17",
      {{Effect::allow, {"iot:Connect"}, {"client/${iot:Connection.Thing.ThingName}"}},
       {Effect::deny, {"iot:Publish", "iot:Receive"}, {"topic/secret/*", "topic/plain", "*"}}}};
  EXPECT_EQ(document, expected);

  const auto single = parse_policy_document(
      R"({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:*",
          "Resource": "*"}})");
  ASSERT_EQ(single.statements.size(), 1U);
  EXPECT_EQ(single.statements[0].actions[0], "iot:*");
}

struct DocumentErrorCase {
  const char* name;
  const char* text;
  const char* path;
};

void PrintTo(const DocumentErrorCase& c, std::ostream* out) {
  *out << c.name;
}

class PolicyDocumentErrors : public ::testing::TestWithParam<DocumentErrorCase> {};

TEST_P(PolicyDocumentErrors, NameTheirJsonPath) {
  try {
    parse_policy_document(GetParam().text);
    FAIL() << "accepted " << GetParam().text;
  } catch (const PolicyError& error) {
    EXPECT_EQ(error.path(), GetParam().path) << error.what();
  }
}

#define STATEMENT(s)                                                                                             \
  R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}, )" s \
  "]}"
const DocumentErrorCase kDocumentErrors[] = {
    {"NotJson", "{", "$"},
    {"NotObject", "[]", "$"},
    {"MissingVersion", R"({"Statement": []})", "$.Version"},
    {"OldVersion", R"({"Version": "2008-10-17", "Statement": []})", "$.Version"},
    {"VersionNumber", R"({"Version": 2012, "Statement": []})", "$.Version"},
    {"MissingStatement", R"({"Version": "2012-10-17"})", "$.Statement"},
    {"StatementString", R"({"Version": "2012-10-17", "Statement": "x"})", "$.Statement"},
    {"UnknownTopLevelKey", R"({"Version": "2012-10-17", "Statement": [], "Id": "x"})", "$.Id"},
    {"DuplicateVersion", R"({"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []})",
     "$.Version"},
    {"StatementNotObject", STATEMENT("7"), "$.Statement[1]"},
    {"MissingEffect", STATEMENT(R"({"Action": "iot:Connect", "Resource": "*"})"), "$.Statement[1]"},
    {"MissingResource", STATEMENT(R"({"Effect": "Deny", "Action": "iot:Connect"})"),
     "$.Statement[1]"},
    {"LowerCaseEffect",
     STATEMENT(R"({"Effect": "allow", "Action": "iot:Connect", "Resource": "*"})"),
     "$.Statement[1].Effect"},
    {"EffectNotString", STATEMENT(R"({"Effect": true, "Action": "iot:Connect", "Resource": "*"})"),
     "$.Statement[1].Effect"},
    {"ActionNumber", STATEMENT(R"({"Effect": "Allow", "Action": 1, "Resource": "*"})"),
     "$.Statement[1].Action"},
    {"ActionEmptyArray", STATEMENT(R"({"Effect": "Allow", "Action": [], "Resource": "*"})"),
     "$.Statement[1].Action"},
    {"ActionElementNotString",
     STATEMENT(R"({"Effect": "Allow", "Action": ["iot:Connect", null], "Resource": "*"})"),
     "$.Statement[1].Action[1]"},
    {"ResourceEmptyString",
     STATEMENT(R"({"Effect": "Allow", "Action": "iot:Connect", "Resource": ["*", ""]})"),
     "$.Statement[1].Resource[1]"},
    {"MalformedArn",
     STATEMENT(R"({"Effect": "Allow", "Action": "iot:Connect", "Resource": ["arn:aws:iot:x"]})"),
     "$.Statement[1].Resource[0]"},
    {"ArnOfAnotherService",
     STATEMENT(R"({"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:s3:::b/k"})"),
     "$.Statement[1].Resource"},
    {"ArnWithoutResource",
     STATEMENT(R"({"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:r:a:"})"),
     "$.Statement[1].Resource"},
    {"Condition",
     STATEMENT(R"({"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {}})"),
     "$.Statement[1].Condition"},
    {"NotResource",
     STATEMENT(R"({"Effect": "Deny", "Action": "iot:Connect", "NotResource": "client/a"})"),
     "$.Statement[1].NotResource"},
    {"SidNotString",
     STATEMENT(R"({"Sid": 1, "Effect": "Allow", "Action": "iot:Connect", "Resource": "*"})"),
     "$.Statement[1].Sid"},
    {"DuplicateEffect",
     STATEMENT(
         R"({"Effect": "Deny", "Effect": "Allow", "Action": "iot:Connect", "Resource": "*"})"),
     "$.Statement[1].Effect"},
};
#undef STATEMENT

INSTANTIATE_TEST_SUITE_P(Table, PolicyDocumentErrors, ::testing::ValuesIn(kDocumentErrors),
                         [](const auto& instance) { return std::string(instance.param.name); });

}  // namespace
}  // namespace estfleet::policy
