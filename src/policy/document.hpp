// AWS IoT policy documents: how est-fleet stores what a thing may do, in the format IoT platform
// engineers already read and write.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "policy/iot_details.hpp"

namespace estfleet::policy {

enum class Effect { allow, deny };

struct Statement {
  Effect effect = Effect::allow;
  std::vector<std::string> actions;    // "iot:Publish", may hold * and ? wildcards
  std::vector<std::string> resources;  // "topic/sensors/x", may hold * ? and ${...} variables
  bool operator==(const Statement&) const = default;
};

struct PolicyDocument {
  std::string version = "2012-10-17";
  std::vector<Statement> statements;
  bool operator==(const PolicyDocument&) const = default;
};

// One statement per action whose policy is true (Allow) or false (Deny), with that action's
// resources; null actions produce no statement. Deterministic: equal details, equal documents.
PolicyDocument build_policy_document(const IotDetails& details);

// {"Version": ..., "Statement": [{"Effect": "Allow", "Action": [...], "Resource": [...]}]}
nlohmann::json to_json(const PolicyDocument& document);
std::string to_json_text(const PolicyDocument& document);  // pretty, two-space indent, stable

// Reads a stored or hand-written document; Action and Resource may be a string or an array.
// Resources written as ARNs ("arn:aws:iot:REGION:ACCOUNT:topic/x") are read as "topic/x".
// Throws PolicyError naming the JSON path of the first problem.
PolicyDocument parse_policy_document(std::string_view json_text);

}  // namespace estfleet::policy
