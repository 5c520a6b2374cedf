#include "broker/acl_translation.hpp"

#include <gtest/gtest.h>
#include <mosquitto.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dynsec_model.hpp"
#include "policy/evaluator.hpp"
#include "policy/policy_template.hpp"

namespace estfleet::broker {
namespace {

using policy::Effect;
using policy::PolicyDocument;
using policy::Statement;
using testing::Check;
using testing::dynsec_allows;

constexpr const char* kThing = "DeviceAlpha";

Statement allow(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {Effect::allow, std::move(actions), std::move(resources)};
}
Statement deny(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {Effect::deny, std::move(actions), std::move(resources)};
}
// A document that lets the thing connect as itself, plus `statements`.
PolicyDocument connected(std::vector<Statement> statements) {
  PolicyDocument document;
  document.statements.push_back(allow({"iot:Connect"}, {std::string("client/") + kThing}));
  for (auto& statement : statements) {
    document.statements.push_back(std::move(statement));
  }
  return document;
}

AclEntry allow_acl(AclType type, std::string topic) {
  return {type, std::move(topic), kAllowPriority, true};
}
AclEntry deny_acl(AclType type, std::string topic) {
  return {type, std::move(topic), kDenyPriority, false};
}

bool narrowed(const BrokerGrant& grant, std::string_view resource) {
  return std::any_of(grant.narrowed.begin(), grant.narrowed.end(),
                     [&](const Narrowing& n) { return n.resource == resource; });
}

TEST(AclTranslation, DynsecTypeNamesAndRoleNames) {
  EXPECT_EQ(dynsec_acl_type(AclType::publish_client_send), "publishClientSend");
  EXPECT_EQ(dynsec_acl_type(AclType::publish_client_receive), "publishClientReceive");
  EXPECT_EQ(dynsec_acl_type(AclType::subscribe_pattern), "subscribePattern");
  EXPECT_EQ(dynsec_acl_type(AclType::subscribe_literal), "subscribeLiteral");
  EXPECT_EQ(dynsec_acl_type(AclType::unsubscribe_pattern), "unsubscribePattern");
  EXPECT_EQ(role_name_for("DeviceAlpha"), "thing:DeviceAlpha");
  EXPECT_EQ(role_name_for("DeviceAlpha"), role_name_for("DeviceAlpha"));
  EXPECT_NE(role_name_for("DeviceAlpha"), role_name_for("DeviceBeta"));
}

TEST(AclTranslation, RefusesANameThatIsNotAThingName) {
  EXPECT_THROW(translate_policy("", connected({})), std::invalid_argument);
  EXPECT_THROW(translate_policy("a/b", connected({})), std::invalid_argument);
  EXPECT_THROW(translate_policy("est-fleet.admin", connected({})), std::invalid_argument);
}

TEST(AclTranslation, DefaultTemplateGrantIsExact) {
  const auto details = policy::default_details(policy::default_template(), kThing);
  const auto grant = translate_policy(kThing, policy::build_policy_document(details));
  EXPECT_EQ(grant.username, kThing);
  EXPECT_EQ(grant.client_ids, std::vector<std::string>{kThing});
  EXPECT_TRUE(grant.narrowed.empty());
  const std::vector<AclEntry> expected{
      allow_acl(AclType::publish_client_send, "sensors/DeviceAlpha/+/#"),
      allow_acl(AclType::publish_client_receive, "commands/DeviceAlpha"),
      allow_acl(AclType::subscribe_literal, "commands/DeviceAlpha"),
      allow_acl(AclType::unsubscribe_pattern, "commands/DeviceAlpha"),
  };
  EXPECT_EQ(grant.acls, expected);
}

TEST(AclTranslation, ConnectKeepsExactClientIdsOnly) {
  PolicyDocument document;
  document.statements.push_back(
      allow({"iot:Connect"}, {"client/DeviceAlpha", "client/DeviceAlpha-2", "client/Dev*",
                              "client/DeviceAlph?", "client/${iot:ClientId}"}));
  document.statements.push_back(allow({"iot:Publish"}, {"topic/a"}));
  const auto grant = translate_policy(kThing, document);
  EXPECT_EQ(grant.client_ids, (std::vector<std::string>{"DeviceAlpha", "DeviceAlpha-2"}));
  EXPECT_TRUE(narrowed(grant, "client/Dev*"));
  EXPECT_TRUE(narrowed(grant, "client/DeviceAlph?"));
  EXPECT_TRUE(narrowed(grant, "client/${iot:ClientId}"));
  // The broker connects the thing as DeviceAlpha only: the other id is recorded as unused.
  EXPECT_TRUE(narrowed(grant, "client/DeviceAlpha-2"));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a")});
}

TEST(AclTranslation, ThingNameVariableInAClientId) {
  PolicyDocument document;
  document.statements.push_back(
      allow({"iot:Connect"}, {"client/${iot:Connection.Thing.ThingName}"}));
  EXPECT_EQ(translate_policy(kThing, document).client_ids, std::vector<std::string>{kThing});
}

TEST(AclTranslation, NoRightToConnectAsItselfMeansNoRightsAtAll) {
  PolicyDocument no_connect;
  no_connect.statements.push_back(allow({"iot:Publish"}, {"topic/a"}));
  auto grant = translate_policy(kThing, no_connect);
  EXPECT_TRUE(grant.client_ids.empty());
  EXPECT_TRUE(grant.acls.empty());
  EXPECT_TRUE(narrowed(grant, "client/DeviceAlpha"));

  // Only another client id: the broker would connect the thing as DeviceAlpha, which AWS refuses.
  PolicyDocument other_id;
  other_id.statements.push_back(allow({"iot:Connect"}, {"client/other"}));
  other_id.statements.push_back(allow({"iot:Publish"}, {"topic/a"}));
  grant = translate_policy(kThing, other_id);
  EXPECT_EQ(grant.client_ids, std::vector<std::string>{"other"});
  EXPECT_TRUE(grant.acls.empty());

  // Connect allowed and denied: Deny wins.
  auto denied =
      connected({allow({"iot:Publish"}, {"topic/a"}), deny({"iot:Connect"}, {"client/*"})});
  grant = translate_policy(kThing, denied);
  EXPECT_TRUE(grant.client_ids.empty());
  EXPECT_TRUE(grant.acls.empty());
}

TEST(AclTranslation, PublishAndReceiveTopics) {
  const auto grant = translate_policy(
      kThing, connected({allow({"iot:Publish"}, {"topic/sensors/DeviceAlpha/telemetry"}),
                         allow({"iot:Receive"}, {"topic/commands/${ThingName}"})}));
  const std::vector<AclEntry> expected{
      allow_acl(AclType::publish_client_send, "sensors/DeviceAlpha/telemetry"),
      allow_acl(AclType::publish_client_receive, "commands/DeviceAlpha"),
  };
  EXPECT_EQ(grant.acls, expected);
  EXPECT_TRUE(grant.narrowed.empty());
}

// AWS '*' matches any characters, '/' included, but at least the characters written: topic/a/*
// matches "a/", "a/x" and "a/x/y", never "a". MQTT's "a/#" also matches "a", so the exact filter
// is "a/+/#": one level (possibly empty) or more below a.
TEST(AclTranslation, TrailingStarIsOneLevelOrMoreNeverTheParent) {
  const auto grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/b/*"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a/b/+/#")});
  EXPECT_TRUE(grant.narrowed.empty());
  for (const std::string topic : {"a/b", "a/b/", "a/b/c", "a/b/c/d", "a/bc", "a/b//", "a"}) {
    EXPECT_EQ(testing::mqtt_matches("a/b/+/#", topic), policy::glob_match("a/b/*", topic)) << topic;
  }
  EXPECT_FALSE(policy::glob_match("a/b/*", "a/b"));
  EXPECT_TRUE(testing::mqtt_matches("a/b/#", "a/b"));  // why "a/b/#" would be wider
}

TEST(AclTranslation, WholeStarSegments) {
  auto grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/*"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "#")});
  EXPECT_TRUE(grant.narrowed.empty());

  // Two trailing stars: two levels or more below a, exactly.
  grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/*/*"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a/+/+/#")});
  EXPECT_TRUE(grant.narrowed.empty());

  // A star between levels matches several levels in AWS, one in MQTT: narrowed to '+'.
  grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/*/c"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a/+/c")});
  EXPECT_TRUE(narrowed(grant, "topic/a/*/c"));
}

TEST(AclTranslation, StarInsideALevelKeepsTheLiteralPart) {
  auto grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/b*"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a/b/#")});
  EXPECT_TRUE(narrowed(grant, "topic/a/b*"));

  grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/*b"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a/b")});
  EXPECT_TRUE(narrowed(grant, "topic/a/*b"));

  grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/b*/c"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a/b/c")});
  EXPECT_TRUE(narrowed(grant, "topic/a/b*/c"));
}

TEST(AclTranslation, WhatMqttCannotSayIsDroppedAndRecorded) {
  const auto grant = translate_policy(
      kThing, connected({allow(
                  {"iot:Publish"},
                  {"topic/a/?", "topic/$SYS/x", "topic/$CONTROL/dynamic-security/v1", "topic/a/+",
                   "topic/a/#", "topic/", "topic/${iot:ClientId}/x", "topic/x\ty"})}));
  EXPECT_TRUE(grant.acls.empty());
  for (const auto* resource :
       {"topic/a/?", "topic/$SYS/x", "topic/$CONTROL/dynamic-security/v1", "topic/a/+", "topic/a/#",
        "topic/", "topic/${iot:ClientId}/x", "topic/x\ty"}) {
    EXPECT_TRUE(narrowed(grant, resource)) << resource;
  }
  for (const auto& n : grant.narrowed) {
    EXPECT_EQ(n.action, "iot:Publish");
    EXPECT_FALSE(n.reason.empty());
  }
}

TEST(AclTranslation, SubscribeFilters) {
  auto grant = translate_policy(
      kThing, connected({allow({"iot:Subscribe"},
                               {"topicfilter/commands/DeviceAlpha", "topicfilter/broadcast/+"})}));
  std::vector<AclEntry> expected{
      allow_acl(AclType::subscribe_literal, "commands/DeviceAlpha"),
      allow_acl(AclType::unsubscribe_pattern, "commands/DeviceAlpha"),
      allow_acl(AclType::subscribe_literal, "broadcast/+"),
      allow_acl(AclType::unsubscribe_pattern, "broadcast/+"),
  };
  EXPECT_EQ(grant.acls, expected);
  EXPECT_TRUE(grant.narrowed.empty());
  // A literal '+' filter lets the thing subscribe to exactly that filter, not to broadcast/x.
  EXPECT_TRUE(dynsec_allows(grant.acls, Check::subscribe, "broadcast/+"));
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::subscribe, "broadcast/x"));

  grant = translate_policy(kThing, connected({allow({"iot:Subscribe"}, {"topicfilter/a/*"})}));
  expected = {
      allow_acl(AclType::subscribe_pattern, "a/+/#"),
      allow_acl(AclType::unsubscribe_pattern, "a/+/#"),
      allow_acl(AclType::subscribe_literal, "a/#"),
      allow_acl(AclType::unsubscribe_pattern, "a/#"),
  };
  EXPECT_EQ(grant.acls, expected);
  EXPECT_TRUE(grant.narrowed.empty());
  for (const std::string filter : {"a/x", "a/+", "a/#", "a/x/#", "a/+/y", "a/"}) {
    EXPECT_TRUE(dynsec_allows(grant.acls, Check::subscribe, filter)) << filter;
  }
  for (const std::string filter : {"a", "#", "+", "b/x", "+/x"}) {
    EXPECT_FALSE(dynsec_allows(grant.acls, Check::subscribe, filter)) << filter;
  }

  // topic/ under Subscribe matches nothing: the document holds topicfilter/ resources.
  grant = translate_policy(kThing, connected({allow({"iot:Subscribe"}, {"topic/a"})}));
  EXPECT_TRUE(grant.acls.empty());

  grant = translate_policy(kThing, connected({allow({"iot:Subscribe"}, {"topicfilter/a/+/b*"})}));
  EXPECT_TRUE(grant.acls.empty());
  EXPECT_TRUE(narrowed(grant, "topicfilter/a/+/b*"));

  grant = translate_policy(kThing, connected({allow({"iot:Subscribe"}, {"topicfilter/a/#/b"})}));
  EXPECT_TRUE(grant.acls.empty());
  EXPECT_TRUE(narrowed(grant, "topicfilter/a/#/b"));
}

TEST(AclTranslation, DenyOutranksEveryAllow) {
  const auto grant = translate_policy(
      kThing,
      connected({allow({"iot:Publish"}, {"topic/a/*"}), deny({"iot:Publish"}, {"topic/a/secret"}),
                 deny({"iot:Subscribe"}, {"topicfilter/a/secret"}),
                 allow({"iot:Subscribe"}, {"topicfilter/a/*"})}));
  ASSERT_FALSE(grant.acls.empty());
  EXPECT_EQ(grant.acls.front(), deny_acl(AclType::publish_client_send, "a/secret"));
  int lowest_deny = 1000;
  int highest_allow = -1000;
  for (const auto& entry : grant.acls) {
    (entry.allow ? highest_allow : lowest_deny) = entry.allow
                                                      ? std::max(highest_allow, entry.priority)
                                                      : std::min(lowest_deny, entry.priority);
  }
  EXPECT_GT(lowest_deny, highest_allow);
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::publish_send, "a/secret"));
  EXPECT_TRUE(dynsec_allows(grant.acls, Check::publish_send, "a/public"));
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::subscribe, "a/secret"));
  EXPECT_TRUE(dynsec_allows(grant.acls, Check::subscribe, "a/public"));
}

TEST(AclTranslation, DenyThatMqttCannotSayIsWidened) {
  auto grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a/*"}),
                                                   deny({"iot:Publish"}, {"topic/a/b*"})}));
  EXPECT_EQ(grant.acls.front(), deny_acl(AclType::publish_client_send, "a/+/#"));
  EXPECT_TRUE(narrowed(grant, "topic/a/b*"));
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::publish_send, "a/bx"));
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::publish_send, "a/c"));  // the price of widening

  grant = translate_policy(
      kThing, connected({allow({"iot:Publish"}, {"topic/*"}), deny({"iot:Publish"}, {"topic/?"})}));
  EXPECT_EQ(grant.acls.front(), deny_acl(AclType::publish_client_send, "#"));

  // A literal subscribeLiteral allow is dropped where a Deny applies: dynsec checks literal
  // entries before any pattern, whatever their priority.
  grant = translate_policy(kThing, connected({allow({"iot:Subscribe"}, {"topicfilter/a/#"}),
                                              deny({"iot:Subscribe"}, {"topicfilter/a*"})}));
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::subscribe, "a/#"));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{deny_acl(AclType::subscribe_pattern, "#")});

  // A Deny whose variable cannot be resolved denies nothing (AWS IoT), so it adds no entry.
  grant = translate_policy(kThing, connected({allow({"iot:Publish"}, {"topic/a"}),
                                              deny({"iot:Publish"}, {"topic/${iot:ClientId}"})}));
  EXPECT_EQ(grant.acls, std::vector<AclEntry>{allow_acl(AclType::publish_client_send, "a")});
}

TEST(AclTranslation, ActionGlobsAndResourcesWithoutPrefix) {
  const auto grant = translate_policy(
      kThing, connected({allow({"IOT:PUB*"}, {"topic/p"}), allow({"iot:*"}, {"*"})}));
  EXPECT_EQ(grant.client_ids, std::vector<std::string>{kThing});
  EXPECT_TRUE(narrowed(grant, "*"));  // "client/*": no client id pattern
  const std::vector<AclEntry> expected{
      allow_acl(AclType::publish_client_send, "p"),    allow_acl(AclType::publish_client_send, "#"),
      allow_acl(AclType::publish_client_receive, "#"), allow_acl(AclType::subscribe_pattern, "#"),
      allow_acl(AclType::unsubscribe_pattern, "#"),
  };
  EXPECT_EQ(grant.acls, expected);
  // The broker's own topics stay out of reach of "#".
  EXPECT_FALSE(dynsec_allows(grant.acls, Check::publish_send, "$CONTROL/dynamic-security/v1"));
  EXPECT_FALSE(
      dynsec_allows(grant.acls, Check::publish_receive, "$CONTROL/dynamic-security/v1/response"));
}

// The property the data plane rests on: for every document of a sweep and every topic or filter of
// up to three levels, what the broker (modelled after dynsec's own checks, with libmosquitto's
// matcher) allows, the AWS evaluator allows; and where the translation records no narrowing, it
// allows everything AWS does (topics outside the broker's $ namespace).
TEST(AclTranslation, SweepNeverAllowsWhatTheDocumentDoesNot) {
  const std::vector<std::string> patterns{"a",
                                          "a/b",
                                          "a/*",
                                          "a/b/*",
                                          "a/*/c",
                                          "*",
                                          "a*",
                                          "a/b*",
                                          "a/*b",
                                          "a/?",
                                          "a/b?c",
                                          "*/b",
                                          "a/+",
                                          "a/#",
                                          "a/+/c",
                                          "#",
                                          "+/b",
                                          "$SYS/*",
                                          "a//b",
                                          "a/",
                                          "${ThingName}/*",
                                          "${iot:ClientId}/x",
                                          "a/*/*",
                                          "*/*",
                                          "a/b*/c",
                                          "+/*",
                                          "**",
                                          "a/**"};
  const std::vector<std::string> words{"a", "b", "bc", "c", "", "DeviceAlpha", "+", "#", "$SYS"};
  std::vector<std::string> topics;
  for (const auto& w1 : words) {
    topics.push_back(w1);
    for (const auto& w2 : words) {
      topics.push_back(w1 + "/" + w2);
      for (const auto& w3 : words) {
        topics.push_back(w1 + "/" + w2 + "/" + w3);
      }
    }
  }
  struct Kind {
    policy::Action action;
    const char* iot;
    const char* prefix;
    Check check;
  };
  const Kind kinds[] = {
      {policy::Action::publish, "iot:Publish", "topic/", Check::publish_send},
      {policy::Action::receive, "iot:Receive", "topic/", Check::publish_receive},
      {policy::Action::subscribe, "iot:Subscribe", "topicfilter/", Check::subscribe},
  };
  std::size_t checks = 0;
  std::size_t exact_documents = 0;
  for (const auto& kind : kinds) {
    std::vector<PolicyDocument> documents;
    for (const auto& p : patterns) {
      documents.push_back(connected({allow({kind.iot}, {kind.prefix + p})}));
      for (const auto& q : patterns) {
        documents.push_back(
            connected({allow({kind.iot}, {kind.prefix + p}), deny({kind.iot}, {kind.prefix + q})}));
      }
    }
    for (const auto& document : documents) {
      const auto grant = translate_policy(kThing, document);
      exact_documents += grant.narrowed.empty() ? 1 : 0;
      for (const auto& topic : topics) {
        const bool valid = kind.check == Check::subscribe
                               ? mosquitto_sub_topic_check(topic.c_str()) == MOSQ_ERR_SUCCESS
                               : mosquitto_pub_topic_check(topic.c_str()) == MOSQ_ERR_SUCCESS;
        // MQTT topic names and filters are at least one character long (MQTT 3.1.1 §4.7.3).
        if (!valid || topic.empty()) {
          continue;
        }
        ++checks;
        const bool broker = dynsec_allows(grant.acls, kind.check, topic);
        const bool aws = policy::evaluate(document, {kind.action, kind.prefix + topic, kThing}) ==
                         policy::Decision::allowed;
        if (broker) {
          ASSERT_TRUE(aws) << "broker allows " << topic << " for " << kind.iot << " of "
                           << policy::to_json_text(document);
          if (kind.check == Check::subscribe) {
            ASSERT_TRUE(dynsec_allows(grant.acls, Check::unsubscribe, topic)) << topic;
          }
        } else if (aws && grant.narrowed.empty() && topic.front() != '$') {
          FAIL() << "broker refuses " << topic << " for " << kind.iot
                 << " although nothing was narrowed, of " << policy::to_json_text(document);
        }
      }
    }
  }
  EXPECT_GT(checks, 500000U);
  EXPECT_GT(exact_documents, 100U);
}

}  // namespace
}  // namespace estfleet::broker
