#include "policy/evaluator.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace estfleet::policy {
namespace {

constexpr std::array<std::string_view, 2> kThingNameVariables{"ThingName",
                                                              "iot:Connection.Thing.ThingName"};

std::string lower_case(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

bool statement_names_action(const Statement& statement, Action action) {
  const auto wanted = lower_case(iot_action_name(action));
  return std::any_of(
      statement.actions.begin(), statement.actions.end(),
      [&](const std::string& pattern) { return glob_match(lower_case(pattern), wanted); });
}

bool statement_names_resource(const Statement& statement, const Request& request) {
  return std::any_of(statement.resources.begin(), statement.resources.end(),
                     [&](const std::string& pattern) {
                       const auto resolved = substitute_variables(pattern, request.thing_name);
                       return resolved && glob_match(*resolved, request.resource);
                     });
}

}  // namespace

std::string_view to_string(Decision decision) {
  switch (decision) {
    case Decision::allowed:
      return "allowed";
    case Decision::denied_explicitly:
      return "denied explicitly";
    case Decision::not_allowed:
      return "not allowed";
  }
  return "unknown";
}

Decision evaluate(const PolicyDocument& document, const Request& request) {
  bool allowed = false;
  for (const auto& statement : document.statements) {
    if (!statement_names_action(statement, request.action) ||
        !statement_names_resource(statement, request)) {
      continue;
    }
    if (statement.effect == Effect::deny) {
      return Decision::denied_explicitly;
    }
    allowed = true;
  }
  return allowed ? Decision::allowed : Decision::not_allowed;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Two pointers; on a mismatch only the most recent '*' needs to swallow one more character,
  // because any earlier '*' could have been replaced by it. O(|pattern| * |text|) at worst,
  // where naive recursion is exponential on patterns such as "*a*a*a*...b".
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

std::optional<std::string> substitute_variables(std::string_view pattern,
                                                std::string_view thing_name) {
  std::string result;
  result.reserve(pattern.size());
  std::size_t position = 0;
  while (position < pattern.size()) {
    const auto start = pattern.find("${", position);
    if (start == std::string_view::npos) {
      result.append(pattern.substr(position));
      break;
    }
    const auto end = pattern.find('}', start);
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    const auto name = pattern.substr(start + 2, end - start - 2);
    const bool is_thing_name = std::find(kThingNameVariables.begin(), kThingNameVariables.end(),
                                         name) != kThingNameVariables.end();
    if (!is_thing_name || thing_name.empty()) {
      return std::nullopt;
    }
    result.append(pattern.substr(position, start - position));
    result.append(thing_name);
    position = end + 1;
  }
  return result;
}

}  // namespace estfleet::policy
