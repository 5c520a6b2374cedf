// Translates a thing's AWS IoT policy document into what Mosquitto's dynamic-security plugin can
// enforce: the client ids it may connect with and a list of allow/deny ACLs. MQTT wildcards cannot
// say everything AWS globs can; whatever cannot be expressed exactly is made narrower (an allow
// smaller, a deny larger), never wider, and recorded in BrokerGrant::narrowed. See docs/broker.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/document.hpp"

namespace estfleet::broker {

enum class AclType {
  publish_client_send,
  publish_client_receive,
  subscribe_pattern,
  subscribe_literal,
  unsubscribe_pattern
};

// The plugin's name of the type: "publishClientSend", "publishClientReceive",
// "subscribePattern", "subscribeLiteral", "unsubscribePattern".
std::string_view dynsec_acl_type(AclType type);

struct AclEntry {
  AclType type = AclType::publish_client_send;
  std::string topic;  // an MQTT topic filter ('+' and '#' are wildcards; literal for *Literal)
  int priority = 0;   // higher is checked first
  bool allow = true;
  bool operator==(const AclEntry&) const = default;
};

// What MQTT could not express exactly, and how it was narrowed.
struct Narrowing {
  std::string action;    // "iot:Publish", ...
  std::string resource;  // the resource as written in the document
  std::string reason;    // one sentence: what the broker enforces instead
  bool operator==(const Narrowing&) const = default;
};

struct BrokerGrant {
  std::string username;                 // the ThingName (certificate CN = MQTT username)
  std::vector<std::string> client_ids;  // exact client ids iot:Connect allows (empty = none)
  std::vector<AclEntry> acls;           // deny entries outrank allow entries by priority
  std::vector<Narrowing> narrowed;
  bool operator==(const BrokerGrant&) const = default;
};

// Priorities of the entries translate_policy writes: every deny outranks every allow.
inline constexpr int kAllowPriority = 1;
inline constexpr int kDenyPriority = 2;

BrokerGrant translate_policy(std::string_view thing_name, const policy::PolicyDocument& document);

// The dynsec role that holds a thing's ACLs: "thing:<name>". Stable for a name.
std::string role_name_for(std::string_view thing_name);

}  // namespace estfleet::broker
