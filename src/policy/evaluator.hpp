// Evaluates a request against a policy document with AWS IoT semantics: nothing is allowed unless
// a statement allows it, and an explicit Deny beats any Allow. Statement actions match the
// request's "iot:..." name case-insensitively, as in IAM; resources match case-sensitively. This is
// what the broker integration translates and what its tests compare against.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/action.hpp"
#include "policy/document.hpp"

namespace estfleet::policy {

struct Request {
  Action action = Action::connect;
  std::string resource;    // with its prefix: "client/x", "topic/a/b", "topicfilter/a/#"
  std::string thing_name;  // the connection's thing, for the ${...} variables
};

enum class Decision { allowed, denied_explicitly, not_allowed };
std::string_view to_string(Decision decision);

Decision evaluate(const PolicyDocument& document, const Request& request);

// AWS IoT policy wildcards: '*' matches any run of characters (including '/' and none), '?' one
// character. Everything else, MQTT's '+' and '#' included, is literal.
bool glob_match(std::string_view pattern, std::string_view text);

// Replaces ${iot:Connection.Thing.ThingName} and ${ThingName} with thing_name. nullopt if the
// pattern holds any other ${...} variable, an unterminated "${", or a thing variable while
// thing_name is empty: such a statement matches nothing, as in AWS IoT when a variable cannot be
// resolved.
std::optional<std::string> substitute_variables(std::string_view pattern,
                                                std::string_view thing_name);

}  // namespace estfleet::policy
