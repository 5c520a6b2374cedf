#include "policy/policy_template.hpp"

#include <algorithm>
#include <array>

#include "policy/evaluator.hpp"
#include "policy/policy_error.hpp"
#include "policy/text.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::policy {
namespace {

constexpr std::array<std::string_view, 2> kThingNamePlaceholders{
    "${ThingName}", "${iot:Connection.Thing.ThingName}"};

// The device's own subtree under a fixed namespace: `namespace_path/${ThingName}` and everything
// below it. The namespace is fixed so that no ThingName can stand for it: with a pattern such as
// topic/${ThingName}/*, a device named "commands" would own every device's command topics.
std::vector<std::string> own_subtree(std::string_view namespace_path) {
  const std::string base = std::string(namespace_path) + "/${ThingName}";
  return {base, base + "/*"};
}

// MQTT's '+' and '#' are literal to AWS IoT, but a broker that reads a topicfilter/ resource as a
// filter gives them their MQTT meaning; counting them as wildcards everywhere errs on the safe
// side.
bool is_request_wildcard(char c) {
  return c == '*' || c == '?' || c == '+' || c == '#';
}

// The length of the ThingName variable (either spelling) that starts at `position`, or 0.
std::size_t thing_name_variable_at(std::string_view pattern, std::size_t position) {
  const auto rest = pattern.substr(position);
  for (const auto variable : kThingNamePlaceholders) {
    if (rest.starts_with(variable)) {
      return variable.size();
    }
  }
  return 0;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

// A segment with no wildcard and no variable: text a ThingName could spell.
bool is_fixed_segment(std::string_view segment) {
  return segment.find_first_of("*?") == std::string_view::npos &&
         segment.find("${") == std::string_view::npos;
}

struct PatternToken {
  enum class Kind { literal, one_character, star } kind = Kind::literal;
  char literal = '\0';
  // Before the pattern's last ${ThingName}: covers literal characters other than '/' only.
  bool within_segment = false;
};

// A template pattern with ${ThingName} filled in, each wildcard marked with what it may cover
// (see the header). nullopt when template_pattern_problem() finds the pattern unusable.
std::optional<std::vector<PatternToken>> compile_pattern(std::string_view pattern,
                                                         std::string_view thing_name) {
  if (template_pattern_problem(pattern)) {
    return std::nullopt;
  }
  std::size_t last_variable_end = 0;
  for (const auto variable : kThingNamePlaceholders) {
    const auto found = pattern.rfind(variable);
    if (found != std::string_view::npos) {
      last_variable_end = std::max(last_variable_end, found + variable.size());
    }
  }
  std::vector<PatternToken> tokens;
  std::size_t position = 0;
  while (position < pattern.size()) {
    if (const auto length = thing_name_variable_at(pattern, position); length != 0) {
      for (const char c : thing_name) {
        tokens.push_back(PatternToken{PatternToken::Kind::literal, c, false});
      }
      position += length;
      continue;
    }
    const char c = pattern[position];
    const bool within_segment = position < last_variable_end;
    if (c == '*') {
      tokens.push_back(PatternToken{PatternToken::Kind::star, '\0', within_segment});
    } else if (c == '?') {
      tokens.push_back(PatternToken{PatternToken::Kind::one_character, '\0', within_segment});
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
// about which of two stars of different reach may take which text, and it stays
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
      const bool bounded_out = token.within_segment && (wildcard || c == '/');
      switch (token.kind) {
        case PatternToken::Kind::star:
          if (!bounded_out) {
            next[i] = 1;
          }
          break;
        case PatternToken::Kind::one_character:
          if (!wildcard && !bounded_out) {
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

// "." and ".." mean nothing to MQTT, but an HTTP bridge or a file-backed broker may resolve them,
// and topic/sensors/DeviceAlpha/../../commands/DeviceBeta would then leave the device's subtree.
bool has_dot_segment(std::string_view resource) {
  const auto segments = split_levels(resource);
  return std::any_of(segments.begin(), segments.end(),
                     [](std::string_view segment) { return segment == "." || segment == ".."; });
}

const std::vector<std::string>* patterns_for(const ResourcePatterns& patterns, Action action) {
  const auto found = patterns.find(action);
  return found == patterns.end() || found->second.empty() ? nullptr : &found->second;
}

}  // namespace

PolicyTemplate default_template() {
  PolicyTemplate result;
  result.allowed[Action::connect] = {"client/${ThingName}"};
  result.allowed[Action::publish] = own_subtree("topic/sensors");
  result.allowed[Action::receive] = own_subtree("topic/commands");
  result.allowed[Action::receive].emplace_back("topic/broadcast");
  result.allowed[Action::subscribe] = own_subtree("topicfilter/commands");
  result.allowed[Action::subscribe].emplace_back("topicfilter/broadcast");
  result.default_grants[Action::connect] = {"client/${ThingName}"};
  result.default_grants[Action::publish] = {"topic/sensors/${ThingName}/*"};
  result.default_grants[Action::receive] = {"topic/commands/${ThingName}"};
  result.default_grants[Action::subscribe] = {"topicfilter/commands/${ThingName}"};
  return result;
}

std::optional<std::string> template_pattern_problem(std::string_view pattern) {
  std::size_t position = 0;
  while ((position = pattern.find("${", position)) != std::string_view::npos) {
    const auto length = thing_name_variable_at(pattern, position);
    if (length == 0) {
      return "it holds a variable other than ${ThingName}, so nobody can tell what it reaches";
    }
    const auto end = position + length;
    const char before = position == 0 ? '/' : pattern[position - 1];
    const char after = end == pattern.size() ? '/' : pattern[end];
    if (after == '*' || after == '?') {
      return std::string("a '") + after +
             "' right after ${ThingName} also matches longer names (DeviceAlpha2's topics for "
             "DeviceAlpha)";
    }
    if (before == '*' || before == '?') {
      return std::string("a '") + before +
             "' right before ${ThingName} also matches names that end with it (MyDeviceAlpha's "
             "topics for DeviceAlpha)";
    }
    if (before != '/' || after != '/') {
      return "${ThingName} must be a whole path segment, with '/' or nothing on either side";
    }
    position = end;
  }
  return std::nullopt;
}

std::optional<std::string> reserved_by(const PolicyTemplate& policy_template,
                                       std::string_view thing_name) {
  for (const auto* patterns : {&policy_template.allowed, &policy_template.default_grants}) {
    for (const auto& [action, list] : *patterns) {
      for (const auto& pattern : list) {
        const auto segments = split_levels(pattern);
        const bool collides =
            std::any_of(segments.begin() + 1, segments.end(), [&](std::string_view segment) {
              return is_fixed_segment(segment) && equal_ignoring_case(segment, thing_name);
            });
        if (collides) {
          return pattern;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<Violation> check_against_template(const IotDetails& details,
                                                const PolicyTemplate& policy_template) {
  const auto& thing = details.thing_name;
  if (!is_valid_thing_name(thing)) {
    return Violation{"ThingName", "the ThingName is not a valid thing name"};
  }
  if (const auto pattern = reserved_by(policy_template, thing)) {
    return Violation{"ThingName", "the ThingName " + thing +
                                      " is reserved by this profile: it is a fixed segment of " +
                                      *pattern};
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
      if (has_dot_segment(*resource)) {
        return Violation{entry_name, action_name + " on " + *resource +
                                         " holds a '.' or '..' segment, which a bridge may "
                                         "resolve to another device's path"};
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
  if (const auto pattern = reserved_by(policy_template, thing_name)) {
    throw PolicyError(
        "$.ThingName",
        thing_name + " is reserved by this profile: it is a fixed segment of " + *pattern);
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
      if (const auto problem = template_pattern_problem(grant)) {
        throw PolicyError("default_grants." + action_name,
                          "the grant " + grant + " cannot be used: " + *problem);
      }
      // template_pattern_problem() refused every variable but ${ThingName}.
      const auto resource = substitute_variables(grant, thing_name).value();
      entries.push_back(
          TopicEntry{key, normalise_resource(action, resource, "default_grants." + action_name)});
    }
    details.policies[action] = true;
  }
  return details;
}

}  // namespace estfleet::policy
