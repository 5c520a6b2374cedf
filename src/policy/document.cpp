#include "policy/document.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "policy/json_path.hpp"
#include "policy/policy_error.hpp"
#include "policy/strict_json.hpp"

namespace estfleet::policy {
namespace {

using detail::element_path;
using detail::member_path;
using OrderedJson = nlohmann::ordered_json;

// Variables such as ${iot:Connection.Thing.ThingName} only resolve under this version.
constexpr std::string_view kPolicyVersion = "2012-10-17";

OrderedJson to_ordered_json(const PolicyDocument& document) {
  OrderedJson json = OrderedJson::object();
  json["Version"] = document.version;
  auto& statements = json["Statement"] = OrderedJson::array();
  for (const auto& statement : document.statements) {
    OrderedJson entry = OrderedJson::object();
    entry["Effect"] = statement.effect == Effect::allow ? "Allow" : "Deny";
    entry["Action"] = statement.actions;
    entry["Resource"] = statement.resources;
    statements.push_back(std::move(entry));
  }
  return json;
}

// "arn:PARTITION:iot:REGION:ACCOUNT:topic/x" -> "topic/x": documents are stored relative, so the
// same document holds for every account and region the fleet is bridged to.
std::string strip_arn(const std::string& resource, const std::string& path) {
  if (!resource.starts_with("arn:")) {
    return resource;
  }
  std::size_t position = 0;
  std::array<std::string_view, 5> fields{};
  const std::string_view view = resource;
  for (auto& field : fields) {
    const auto colon = view.find(':', position);
    if (colon == std::string_view::npos) {
      throw PolicyError(path,
                        "an ARN resource must read arn:PARTITION:iot:REGION:ACCOUNT:RESOURCE");
    }
    field = view.substr(position, colon - position);
    position = colon + 1;
  }
  if (fields[2] != "iot" || position == view.size()) {
    throw PolicyError(path, "an ARN resource must read arn:PARTITION:iot:REGION:ACCOUNT:RESOURCE");
  }
  return resource.substr(position);
}

std::vector<std::string> parse_string_list(const OrderedJson& json, const std::string& path) {
  std::vector<std::string> values;
  if (json.is_string()) {
    values.push_back(json.get<std::string>());
  } else if (json.is_array()) {
    for (std::size_t index = 0; index < json.size(); ++index) {
      if (!json[index].is_string()) {
        throw PolicyError(element_path(path, index), "must be a string");
      }
      values.push_back(json[index].get<std::string>());
    }
  } else {
    throw PolicyError(path, "must be a string or an array of strings");
  }
  if (values.empty()) {
    throw PolicyError(path, "must name at least one value");
  }
  for (std::size_t index = 0; index < values.size(); ++index) {
    if (values[index].empty()) {
      throw PolicyError(json.is_array() ? element_path(path, index) : path, "must not be empty");
    }
  }
  return values;
}

Statement parse_statement(const OrderedJson& json, const std::string& path) {
  if (!json.is_object()) {
    throw PolicyError(path, "a statement must be a JSON object");
  }
  Statement statement;
  bool has_effect = false;
  bool has_action = false;
  bool has_resource = false;
  for (const auto& member : json.items()) {
    const auto member_at = member_path(path, member.key());
    const auto& value = member.value();
    if (member.key() == "Effect") {
      const auto effect = value.is_string() ? value.get<std::string>() : std::string();
      if (effect == "Allow") {
        statement.effect = Effect::allow;
      } else if (effect == "Deny") {
        statement.effect = Effect::deny;
      } else {
        throw PolicyError(member_at, "must be \"Allow\" or \"Deny\"");
      }
      has_effect = true;
    } else if (member.key() == "Action") {
      statement.actions = parse_string_list(value, member_at);
      has_action = true;
    } else if (member.key() == "Resource") {
      statement.resources = parse_string_list(value, member_at);
      for (std::size_t index = 0; index < statement.resources.size(); ++index) {
        statement.resources[index] =
            strip_arn(statement.resources[index],
                      value.is_array() ? element_path(member_at, index) : member_at);
      }
      has_resource = true;
    } else if (member.key() == "Sid") {
      if (!value.is_string()) {
        throw PolicyError(member_at, "must be a string");
      }
    } else {
      // NotAction, NotResource and Condition change what a statement means; ignoring them would
      // grant more than the author wrote.
      throw PolicyError(member_at,
                        "is not supported; a statement holds Sid, Effect, Action and Resource");
    }
  }
  if (!has_effect || !has_action || !has_resource) {
    throw PolicyError(path, "a statement needs Effect, Action and Resource");
  }
  return statement;
}

}  // namespace

PolicyDocument build_policy_document(const IotDetails& details) {
  PolicyDocument document;
  for (const auto action : kAllActions) {
    const auto policy = details.policies.find(action);
    const auto topics = details.topics.find(action);
    // A statement without resources matches nothing, and a document must not hold one.
    if (policy == details.policies.end() || !policy->second.has_value() ||
        topics == details.topics.end() || topics->second.empty()) {
      continue;
    }
    Statement statement;
    statement.effect = *policy->second ? Effect::allow : Effect::deny;
    statement.actions.emplace_back(iot_action_name(action));
    for (const auto& entry : topics->second) {
      statement.resources.push_back(entry.resource);
    }
    document.statements.push_back(std::move(statement));
  }
  return document;
}

nlohmann::json to_json(const PolicyDocument& document) {
  return to_ordered_json(document);
}

std::string to_json_text(const PolicyDocument& document) {
  return to_ordered_json(document).dump(2);
}

PolicyDocument parse_policy_document(std::string_view json_text) {
  const auto json = parse_strict_json(json_text);
  if (!json.is_object()) {
    throw PolicyError("$", "a policy document must be a JSON object");
  }
  PolicyDocument document;
  bool has_version = false;
  bool has_statement = false;
  for (const auto& member : json.items()) {
    const auto member_at = member_path("$", member.key());
    const auto& value = member.value();
    if (member.key() == "Version") {
      if (!value.is_string() || value.get<std::string>() != kPolicyVersion) {
        throw PolicyError(member_at, "must be \"2012-10-17\", the version policy variables need");
      }
      document.version = value.get<std::string>();
      has_version = true;
    } else if (member.key() == "Statement") {
      if (value.is_object()) {
        document.statements.push_back(parse_statement(value, member_at));
      } else if (value.is_array()) {
        for (std::size_t index = 0; index < value.size(); ++index) {
          document.statements.push_back(
              parse_statement(value[index], element_path(member_at, index)));
        }
      } else {
        throw PolicyError(member_at, "must be a statement object or an array of them");
      }
      has_statement = true;
    } else {
      throw PolicyError(member_at, "is not a policy document key; use Version and Statement");
    }
  }
  if (!has_version) {
    throw PolicyError("$.Version", "is required");
  }
  if (!has_statement) {
    throw PolicyError("$.Statement", "is required");
  }
  return document;
}

}  // namespace estfleet::policy
