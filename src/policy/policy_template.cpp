#include "policy/policy_template.hpp"

#include <algorithm>
#include <array>

#include "policy/evaluator.hpp"
#include "policy/policy_error.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::policy {
namespace {

constexpr std::array<std::string_view, 2> kThingNameVariables{"${ThingName}",
                                                              "${iot:Connection.Thing.ThingName}"};

std::vector<std::string> own_subtree(std::string_view prefix) {
  const std::string p(prefix);
  return {p + "${ThingName}", p + "${ThingName}/*", p + "*/${ThingName}", p + "*/${ThingName}/*"};
}

// MQTT's '+' and '#' are literal to AWS IoT, but a broker that reads a topicfilter/ resource as a
// filter gives them their MQTT meaning; counting them as wildcards everywhere errs on the safe
// side.
bool is_request_wildcard(char c) {
  return c == '*' || c == '?' || c == '+' || c == '#';
}

struct PatternToken {
  enum class Kind { literal, one_character, star } kind = Kind::literal;
  char literal = '\0';
  bool star_covers_wildcards = false;
};

// A template pattern with ${ThingName} filled in, each '*' marked with what it may cover (see the
// header: a '*' before the last ${ThingName} covers literal characters only). nullopt when the
// pattern holds another variable, which no request can be shown to stay within.
std::optional<std::vector<PatternToken>> compile_pattern(std::string_view pattern,
                                                         std::string_view thing_name) {
  std::size_t last_variable_end = 0;
  for (const auto variable : kThingNameVariables) {
    const auto found = pattern.rfind(variable);
    if (found != std::string_view::npos) {
      last_variable_end = std::max(last_variable_end, found + variable.size());
    }
  }
  std::vector<PatternToken> tokens;
  std::size_t position = 0;
  while (position < pattern.size()) {
    const auto variable = std::find_if(
        kThingNameVariables.begin(), kThingNameVariables.end(),
        [&](std::string_view name) { return pattern.substr(position).starts_with(name); });
    if (variable != kThingNameVariables.end()) {
      for (const char c : thing_name) {
        tokens.push_back(PatternToken{PatternToken::Kind::literal, c, false});
      }
      position += variable->size();
      continue;
    }
    const char c = pattern[position];
    if (pattern.substr(position).starts_with("${")) {
      return std::nullopt;
    }
    if (c == '*') {
      tokens.push_back(PatternToken{PatternToken::Kind::star, '\0', position >= last_variable_end});
    } else if (c == '?') {
      tokens.push_back(PatternToken{PatternToken::Kind::one_character, '\0', false});
    } else {
      tokens.push_back(PatternToken{PatternToken::Kind::literal, c, false});
    }
    ++position;
  }
  return tokens;
}

void follow_stars(const std::vector<PatternToken>& pattern, std::vector<char>& states) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (states[i] != 0 && pattern[i].kind == PatternToken::Kind::star) {
      states[i + 1] = 1;
    }
  }
}

// Whether every string `request` can match is matched by `pattern`. A simulation over the pattern
// positions rather than glob_match's last-star backtracking: its correctness needs no argument
// about which of two stars of different strengths may take which text, and it stays
// O(|pattern| * |request|).
bool covers(const std::vector<PatternToken>& pattern, std::string_view request) {
  std::vector<char> states(pattern.size() + 1, 0);
  std::vector<char> next(pattern.size() + 1, 0);
  states[0] = 1;
  follow_stars(pattern, states);
  for (const char c : request) {
    const bool wildcard = is_request_wildcard(c);
    std::fill(next.begin(), next.end(), 0);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (states[i] == 0) {
        continue;
      }
      const auto& token = pattern[i];
      switch (token.kind) {
        case PatternToken::Kind::star:
          if (!wildcard || token.star_covers_wildcards) {
            next[i] = 1;
          }
          break;
        case PatternToken::Kind::one_character:
          if (!wildcard) {
            next[i + 1] = 1;
          }
          break;
        case PatternToken::Kind::literal:
          if (!wildcard && token.literal == c) {
            next[i + 1] = 1;
          }
          break;
      }
    }
    follow_stars(pattern, next);
    states.swap(next);
    if (std::none_of(states.begin(), states.end(), [](char state) { return state != 0; })) {
      return false;
    }
  }
  return states[pattern.size()] != 0;
}

const std::vector<std::string>* patterns_for(const ResourcePatterns& patterns, Action action) {
  const auto found = patterns.find(action);
  return found == patterns.end() || found->second.empty() ? nullptr : &found->second;
}

}  // namespace

PolicyTemplate default_template() {
  PolicyTemplate result;
  result.allowed[Action::connect] = {"client/${ThingName}"};
  result.allowed[Action::publish] = own_subtree("topic/");
  result.allowed[Action::receive] = own_subtree("topic/");
  result.allowed[Action::receive].emplace_back("topic/broadcast");
  result.allowed[Action::subscribe] = own_subtree("topicfilter/");
  result.allowed[Action::subscribe].emplace_back("topicfilter/broadcast");
  result.default_grants[Action::connect] = {"client/${ThingName}"};
  result.default_grants[Action::publish] = {"topic/sensors/${ThingName}/*"};
  result.default_grants[Action::receive] = {"topic/commands/${ThingName}"};
  result.default_grants[Action::subscribe] = {"topicfilter/commands/${ThingName}"};
  return result;
}

std::optional<Violation> check_against_template(const IotDetails& details,
                                                const PolicyTemplate& policy_template) {
  const auto& thing = details.thing_name;
  if (!is_valid_thing_name(thing)) {
    return Violation{"ThingName", "the ThingName is not a valid thing name"};
  }
  for (const auto& [action, policy] : details.policies) {
    if (policy != true) {
      continue;
    }
    const auto action_name = std::string(to_string(action));
    const auto* allowed = patterns_for(policy_template.allowed, action);
    if (allowed == nullptr) {
      return Violation{"Policies." + action_name,
                       action_name + " is not something the profile lets " + thing + " ask for"};
    }
    std::vector<std::vector<PatternToken>> compiled;
    for (const auto& pattern : *allowed) {
      if (auto tokens = compile_pattern(pattern, thing)) {
        compiled.push_back(std::move(*tokens));
      }
    }
    const auto topics = details.topics.find(action);
    if (topics == details.topics.end()) {
      continue;
    }
    for (const auto& entry : topics->second) {
      const auto entry_name = "Topics." + action_name + "." + entry.key;
      const auto resource = substitute_variables(entry.resource, thing);
      if (!resource) {
        return Violation{entry_name, action_name + " on " + entry.resource +
                                         " uses a variable other than ${ThingName}, which the "
                                         "profile cannot check"};
      }
      const bool covered = std::any_of(compiled.begin(), compiled.end(), [&](const auto& pattern) {
        return covers(pattern, *resource);
      });
      if (!covered) {
        return Violation{entry_name, action_name + " on " + *resource +
                                         " is beyond what the profile allows for " + thing};
      }
    }
  }
  return std::nullopt;
}

IotDetails default_details(const PolicyTemplate& policy_template, const std::string& thing_name) {
  if (!is_valid_thing_name(thing_name)) {
    throw PolicyError("$.ThingName",
                      "must be a string of 1 to 128 characters from A-Z a-z 0-9 : _ -");
  }
  IotDetails details;
  details.thing_name = thing_name;
  for (const auto action : kAllActions) {
    details.policies[action] = std::nullopt;
  }
  for (const auto& [action, grants] : policy_template.default_grants) {
    if (grants.empty()) {
      continue;
    }
    const auto action_name = std::string(to_string(action));
    auto& entries = details.topics[action];
    for (const auto& grant : grants) {
      const auto key = "Name" + std::to_string(entries.size() + 1);
      const auto resource = substitute_variables(grant, thing_name);
      if (!resource) {
        throw PolicyError("default_grants." + action_name,
                          "the grant " + grant + " holds a variable other than ${ThingName}");
      }
      entries.push_back(
          TopicEntry{key, normalise_resource(action, *resource, "default_grants." + action_name)});
    }
    details.policies[action] = true;
  }
  return details;
}

}  // namespace estfleet::policy
