#include "policy/iot_details.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "policy/json_path.hpp"
#include "policy/policy_error.hpp"
#include "policy/strict_json.hpp"
#include "policy/text.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::policy {
namespace {

using detail::member_path;
using OrderedJson = nlohmann::ordered_json;

Action action_key(std::string_view key, const std::string& path) {
  const auto action = parse_action(key);
  if (!action) {
    throw PolicyError(path, "is not an action; use Connect, Publish, Receive or Subscribe");
  }
  return *action;
}

void parse_policies(const OrderedJson& json, const std::string& path, IotDetails& details) {
  if (!json.is_object()) {
    throw PolicyError(path, "must be an object of action -> true, false or null");
  }
  for (const auto& member : json.items()) {
    const auto member_at = member_path(path, member.key());
    const auto action = action_key(member.key(), member_at);
    const auto& value = member.value();
    if (value.is_boolean()) {
      details.policies[action] = value.get<bool>();
    } else if (!value.is_null()) {
      throw PolicyError(member_at, "must be true (Allow), false (Deny) or null (no statement)");
    }
  }
}

void parse_topics(const OrderedJson& json, const std::string& path, IotDetails& details) {
  if (!json.is_object()) {
    throw PolicyError(path, "must be an object of action -> {name: resource}");
  }
  for (const auto& member : json.items()) {
    const auto action_at = member_path(path, member.key());
    const auto action = action_key(member.key(), action_at);
    if (!member.value().is_object()) {
      throw PolicyError(action_at, "must be an object of name -> resource");
    }
    auto& entries = details.topics[action];
    for (const auto& entry : member.value().items()) {
      const auto entry_at = member_path(action_at, entry.key());
      if (entry.key().empty() || has_control_character(entry.key())) {
        throw PolicyError(entry_at, "a topic entry needs a name without control characters");
      }
      if (!entry.value().is_string()) {
        throw PolicyError(entry_at, "must be a string naming a resource");
      }
      entries.push_back(TopicEntry{
          entry.key(), normalise_resource(action, entry.value().get<std::string>(), entry_at)});
    }
  }
}

bool lists_resources(const IotDetails& details, Action action) {
  const auto found = details.topics.find(action);
  return found != details.topics.end() && !found->second.empty();
}

OrderedJson to_ordered_json(const IotDetails& details) {
  OrderedJson json = OrderedJson::object();
  json["ThingName"] = details.thing_name;
  auto& policies = json["Policies"] = OrderedJson::object();
  for (const auto action : kAllActions) {
    const auto found = details.policies.find(action);
    const auto key = std::string(to_string(action));
    if (found != details.policies.end() && found->second.has_value()) {
      policies[key] = *found->second;
    } else {
      policies[key] = nullptr;
    }
  }
  auto& topics = json["Topics"] = OrderedJson::object();
  for (const auto& [action, entries] : details.topics) {
    auto& named = topics[std::string(to_string(action))] = OrderedJson::object();
    for (const auto& entry : entries) {
      named[entry.key] = entry.resource;
    }
  }
  return json;
}

}  // namespace

IotDetails parse_iot_details(const nlohmann::ordered_json& json, const std::string& path) {
  if (!json.is_object()) {
    throw PolicyError(path, "IoTDetails must be a JSON object");
  }
  IotDetails details;
  for (const auto action : kAllActions) {
    details.policies[action] = std::nullopt;
  }
  bool has_thing_name = false;
  for (const auto& member : json.items()) {
    const auto member_at = member_path(path, member.key());
    if (member.key() == "ThingName") {
      if (!member.value().is_string() || !is_valid_thing_name(member.value().get<std::string>())) {
        throw PolicyError(member_at,
                          "must be a string of 1 to 128 characters from A-Z a-z 0-9 : _ -");
      }
      details.thing_name = member.value().get<std::string>();
      has_thing_name = true;
    } else if (member.key() == "Policies") {
      parse_policies(member.value(), member_at, details);
    } else if (member.key() == "Topics") {
      parse_topics(member.value(), member_at, details);
    } else {
      throw PolicyError(member_at, "is not an IoTDetails key; use ThingName, Policies or Topics");
    }
  }
  if (!has_thing_name) {
    throw PolicyError(member_path(path, "ThingName"), "is required");
  }
  // An Allow or Deny without resources would be a statement that means nothing; a device that
  // writes one has almost certainly misnamed or forgotten its Topics entry.
  for (const auto& [action, policy] : details.policies) {
    if (policy.has_value() && !lists_resources(details, action)) {
      const auto name = std::string(to_string(action));
      throw PolicyError(member_path(member_path(path, "Policies"), name),
                        std::string(*policy ? "is true (Allow)" : "is false (Deny)") +
                            " but Topics." + name + " lists no resource");
    }
  }
  return details;
}

IotDetails parse_iot_details_text(std::string_view text) {
  return parse_iot_details(parse_strict_json(text));
}

nlohmann::json to_json(const IotDetails& details) {
  return to_ordered_json(details);
}

std::string to_json_text(const IotDetails& details) {
  return to_ordered_json(details).dump();
}

std::string normalise_resource(Action action, std::string_view value, const std::string& path) {
  if (value.empty()) {
    throw PolicyError(path, "the resource is empty");
  }
  if (has_control_character(value)) {
    throw PolicyError(path, "the resource holds a control character");
  }
  static constexpr std::array<std::string_view, 3> kPrefixes{"client/", "topicfilter/", "topic/"};
  const auto wanted = resource_prefix(action);
  for (const auto prefix : kPrefixes) {
    if (!value.starts_with(prefix)) {
      continue;
    }
    if (value.size() == prefix.size()) {
      throw PolicyError(path, "the resource names nothing after its prefix " + std::string(prefix));
    }
    if (prefix == wanted) {
      return std::string(value);
    }
    // Older clients write Subscribe filters with the topic/ prefix; they mean the same filter.
    if (action == Action::subscribe && prefix == "topic/") {
      return std::string(wanted) + std::string(value.substr(prefix.size()));
    }
    throw PolicyError(path, "a " + std::string(prefix) + " resource does not belong under " +
                                std::string(to_string(action)) + ", which takes " +
                                std::string(wanted));
  }
  return std::string(wanted) + std::string(value);
}

}  // namespace estfleet::policy
