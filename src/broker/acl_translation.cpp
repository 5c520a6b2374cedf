#include "broker/acl_translation.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <stdexcept>

#include "policy/action.hpp"
#include "policy/evaluator.hpp"
#include "policy/text.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::broker {
namespace {

using policy::Action;

std::string lower_case(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

bool statement_names(const policy::Statement& statement, Action action) {
  const auto wanted = lower_case(policy::iot_action_name(action));
  return std::any_of(
      statement.actions.begin(), statement.actions.end(),
      [&](const std::string& pattern) { return policy::glob_match(lower_case(pattern), wanted); });
}

bool has_glob(std::string_view text) {
  return text.find_first_of("*?") != std::string_view::npos;
}
bool has_mqtt_wildcard(std::string_view text) {
  return text.find_first_of("+#") != std::string_view::npos;
}
bool only_stars(std::string_view segment) {
  return !segment.empty() && segment.find_first_not_of('*') == std::string_view::npos;
}

// The levels as strings: the translation edits and joins them.
std::vector<std::string> split_levels(std::string_view text) {
  const auto levels = policy::split_levels(text);
  return {levels.begin(), levels.end()};
}

std::string join_levels(const std::vector<std::string>& levels) {
  std::string joined;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    if (i > 0) {
      joined += '/';
    }
    joined += levels[i];
  }
  return joined;
}

std::string without_stars(std::string_view segment) {
  std::string literal;
  std::copy_if(segment.begin(), segment.end(), std::back_inserter(literal),
               [](char c) { return c != '*'; });
  return literal;
}

// The globs R such that `pattern` matches prefix + t exactly when some R matches t: the pattern
// with `prefix` consumed, every way it can be. "topic/a/*" with "topic/" gives {"a/*"}; "*" gives
// {"*"}; "*/x" gives {"*/x", "x"} ("*" may stop at the prefix's '/' or run on).
std::vector<std::string> strip_prefix(std::string_view pattern, std::string_view prefix) {
  auto close = [&](const std::set<std::size_t>& positions) {
    std::set<std::size_t> closed;
    for (auto p : positions) {
      closed.insert(p);
      while (p < pattern.size() && pattern[p] == '*') {
        closed.insert(++p);
      }
    }
    return closed;
  };
  auto positions = close({0});
  for (char c : prefix) {
    std::set<std::size_t> next;
    for (auto p : positions) {
      if (p >= pattern.size()) {
        continue;
      }
      if (pattern[p] == '*') {
        next.insert(p);
      } else if (pattern[p] == '?' || pattern[p] == c) {
        next.insert(p + 1);
      }
    }
    positions = close(next);
  }
  std::vector<std::string> residuals;
  for (auto p : positions) {
    // A residual right after a '*' that is itself reachable adds nothing: "*x" covers "x".
    if (p > 0 && pattern[p - 1] == '*' && positions.count(p - 1) > 0) {
      continue;
    }
    residuals.emplace_back(pattern.substr(p));
  }
  return residuals;
}

// A topic name or filter is valid MQTT: not empty; for filters, '#' only as the whole last level
// and '+' only as a whole level.
bool valid_filter(std::string_view filter) {
  if (filter.empty()) {
    return false;
  }
  const auto levels = split_levels(filter);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const auto& level = levels[i];
    if (level.find('#') != std::string::npos && (level != "#" || i + 1 != levels.size())) {
      return false;
    }
    if (level.find('+') != std::string::npos && level != "+") {
      return false;
    }
  }
  return true;
}

struct Translation {
  std::vector<std::string> topics;  // MQTT filters; empty: nothing can be granted
  std::optional<std::string> narrowing;
};

// An Allow on topic names (Publish, Receive): the largest set of MQTT filters whose topics the
// glob matches. Whole-level '*' at the end is exact ("a/*" is "a/+/#": one level or more below a,
// never a itself); in the middle it becomes '+' (one level where AWS allows several); a '*' inside
// a level keeps its literal part; '?' cannot be expressed at all.
Translation allow_topics(const std::string& glob) {
  if (glob.empty()) {
    return {{}, "an empty topic name is not MQTT; nothing is granted"};
  }
  if (glob.front() == '$') {
    return {{}, "topics starting with $ belong to the broker ($SYS, $CONTROL); never granted"};
  }
  if (has_mqtt_wildcard(glob)) {
    return {{}, "MQTT topic names cannot hold + or #; nothing is granted"};
  }
  if (!has_glob(glob)) {
    return {{glob}, std::nullopt};
  }
  if (glob.find('?') != std::string::npos) {
    return {{}, "'?' (exactly one character) has no MQTT equivalent; nothing is granted"};
  }
  if (glob == "*" || only_stars(glob)) {
    return {{"#"}, std::nullopt};
  }
  const auto levels = split_levels(glob);
  std::vector<std::string> out;
  bool narrowed = false;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const auto& level = levels[i];
    const bool last = i + 1 == levels.size();
    if (!has_glob(level)) {
      out.push_back(level);
    } else if (only_stars(level)) {
      if (last) {
        out.emplace_back("+");
        out.emplace_back("#");
      } else {
        out.emplace_back("+");
        const bool stars_follow =
            std::all_of(levels.begin() + static_cast<std::ptrdiff_t>(i) + 1, levels.end(),
                        [](const std::string& l) { return only_stars(l); });
        narrowed = narrowed || !stars_follow;
      }
    } else {
      out.push_back(without_stars(level));
      if (last && level.back() == '*') {
        out.emplace_back("#");
      }
      narrowed = true;
    }
  }
  auto topic = join_levels(out);
  if (!narrowed) {
    return {{topic}, std::nullopt};
  }
  return {{topic},
          "'*' inside a level or between levels matches more than MQTT's + and # can say; "
          "granted only " +
              topic};
}

// A Deny on topic names: the smallest MQTT filter that covers every topic the glob matches, so
// the broker denies at least what AWS denies.
Translation deny_topics(const std::string& glob) {
  if (glob.empty() || has_mqtt_wildcard(glob)) {
    return {{}, std::nullopt};  // matches no MQTT topic name: nothing to deny
  }
  if (!has_glob(glob)) {
    return {{glob}, std::nullopt};
  }
  auto exact = allow_topics(glob);
  if (!exact.narrowing && !exact.topics.empty()) {
    return exact;
  }
  const auto levels = split_levels(glob);
  std::vector<std::string> out;
  for (const auto& level : levels) {
    if (has_glob(level)) {
      break;
    }
    out.push_back(level);
  }
  out.emplace_back(out.empty() ? "#" : "+");
  if (out.back() == "+") {
    out.emplace_back("#");
  }
  auto topic = join_levels(out);
  return {{topic}, "the deny is widened to " + topic + ", which MQTT can express"};
}

// An Allow on topic filters (Subscribe). A filter without AWS wildcards is granted literally
// (subscribeLiteral: exactly that filter, '+' and '#' included, as AWS reads it); with them, a
// subscribePattern that dynsec's filter check reads as "filters at or below", narrowed as for
// topic names. Returns pairs of (type, filter).
struct FilterTranslation {
  std::vector<std::pair<AclType, std::string>> entries;
  std::optional<std::string> narrowing;
};

FilterTranslation allow_filters(const std::string& glob) {
  if (glob.empty()) {
    return {{}, "an empty topic filter is not MQTT; nothing is granted"};
  }
  if (glob.front() == '$') {
    return {{},
            "topic filters starting with $ belong to the broker ($SYS, $CONTROL); never granted"};
  }
  if (!has_glob(glob)) {
    if (!valid_filter(glob)) {
      return {{}, "not a valid MQTT topic filter; nothing is granted"};
    }
    return {{{AclType::subscribe_literal, glob}}, std::nullopt};
  }
  if (glob.find('?') != std::string::npos) {
    return {{}, "'?' (exactly one character) has no MQTT equivalent; nothing is granted"};
  }
  if (has_mqtt_wildcard(glob)) {
    return {{},
            "a filter pattern mixing AWS '*' with MQTT's + or # cannot be expressed; nothing is "
            "granted"};
  }
  if (only_stars(glob)) {
    return {{{AclType::subscribe_pattern, "#"}}, std::nullopt};
  }
  const auto levels = split_levels(glob);
  // Exactly "lit/lit/.../*": pattern "lit/+/#" (one level or more below) and the literal
  // "lit/#", which the pattern does not cover (dynsec reads "lit/#" as the level "lit").
  const bool one_trailing_star =
      only_stars(levels.back()) && std::none_of(levels.begin(), levels.end() - 1,
                                                [](const std::string& l) { return has_glob(l); });
  if (one_trailing_star) {
    std::vector<std::string> prefix(levels.begin(), levels.end() - 1);
    const auto base = join_levels(prefix);
    return {
        {{AclType::subscribe_pattern, base + "/+/#"}, {AclType::subscribe_literal, base + "/#"}},
        std::nullopt};
  }
  auto topics = allow_topics(glob);
  FilterTranslation translation;
  for (const auto& topic : topics.topics) {
    translation.entries.emplace_back(AclType::subscribe_pattern, topic);
  }
  translation.narrowing =
      "'*' inside a level or between levels matches more than MQTT's + and # can say; granted "
      "only " +
      (topics.topics.empty() ? std::string("nothing") : topics.topics.front());
  return translation;
}

// A Deny on topic filters: a literal deny for a literal filter (AWS denies exactly that
// subscription), else a pattern deny covering every filter with the glob's literal leading levels.
FilterTranslation deny_filters(const std::string& glob) {
  if (glob.empty()) {
    return {{}, std::nullopt};
  }
  if (!has_glob(glob)) {
    return {{{AclType::subscribe_literal, glob}}, std::nullopt};
  }
  const auto levels = split_levels(glob);
  std::vector<std::string> out;
  bool mqtt_wildcard_in_prefix = false;
  for (const auto& level : levels) {
    if (has_glob(level)) {
      break;
    }
    mqtt_wildcard_in_prefix = mqtt_wildcard_in_prefix || has_mqtt_wildcard(level);
    out.push_back(level);
  }
  if (mqtt_wildcard_in_prefix) {
    out.clear();
  }
  out.emplace_back("#");
  auto topic = join_levels(out);
  return {{{AclType::subscribe_pattern, topic}},
          "the deny is widened to every filter under " + topic + ", which MQTT can express"};
}

std::string_view action_name(Action action) {
  return policy::iot_action_name(action);
}

}  // namespace

std::string_view dynsec_acl_type(AclType type) {
  switch (type) {
    case AclType::publish_client_send:
      return "publishClientSend";
    case AclType::publish_client_receive:
      return "publishClientReceive";
    case AclType::subscribe_pattern:
      return "subscribePattern";
    case AclType::subscribe_literal:
      return "subscribeLiteral";
    case AclType::unsubscribe_pattern:
      return "unsubscribePattern";
  }
  throw std::invalid_argument("unknown ACL type");
}

std::string role_name_for(std::string_view thing_name) {
  return "thing:" + std::string(thing_name);
}

BrokerGrant translate_policy(std::string_view thing_name, const policy::PolicyDocument& document) {
  if (!policy::is_valid_thing_name(thing_name)) {
    throw std::invalid_argument("'" + std::string(thing_name) +
                                "' is not a ThingName ([A-Za-z0-9:_-]{1,128})");
  }
  BrokerGrant grant;
  grant.username = std::string(thing_name);
  const std::string thing(thing_name);

  auto narrow = [&](Action action, const std::string& resource, std::string reason) {
    Narrowing narrowing{std::string(action_name(action)), resource, std::move(reason)};
    if (std::find(grant.narrowed.begin(), grant.narrowed.end(), narrowing) ==
        grant.narrowed.end()) {
      grant.narrowed.push_back(std::move(narrowing));
    }
  };
  // One entry per (type, topic): dynsec keys a role's ACLs of one type by topic. A deny replaces
  // an allow of the same topic.
  auto add = [&](AclType type, const std::string& topic, bool allow) {
    auto same = std::find_if(grant.acls.begin(), grant.acls.end(), [&](const AclEntry& entry) {
      return entry.type == type && entry.topic == topic;
    });
    if (same != grant.acls.end()) {
      if (!allow && same->allow) {
        *same = AclEntry{type, topic, kDenyPriority, false};
      }
      return;
    }
    grant.acls.push_back(AclEntry{type, topic, allow ? kAllowPriority : kDenyPriority, allow});
  };

  for (const auto& statement : document.statements) {
    const bool allow = statement.effect == policy::Effect::allow;
    for (const auto action : policy::kAllActions) {
      if (!statement_names(statement, action)) {
        continue;
      }
      for (const auto& resource : statement.resources) {
        if (policy::has_control_character(resource)) {
          if (allow) {
            narrow(action, resource, "holds a control character; nothing is granted");
          }
          continue;
        }
        const auto resolved = policy::substitute_variables(resource, thing);
        if (!resolved) {
          // AWS IoT: a resource whose variable cannot be resolved matches nothing, so dropping it
          // is exact for a Deny and for an Allow alike; recorded so an operator sees it.
          narrow(action, resource,
                 "holds a policy variable other than the thing's name; it matches nothing");
          continue;
        }
        for (const auto& glob : strip_prefix(*resolved, policy::resource_prefix(action))) {
          switch (action) {
            case Action::connect:
              if (allow) {
                if (has_glob(glob)) {
                  narrow(action, resource,
                         "a client id pattern cannot be pinned; only exact client ids are kept");
                } else if (std::find(grant.client_ids.begin(), grant.client_ids.end(), glob) ==
                           grant.client_ids.end()) {
                  grant.client_ids.push_back(glob);
                }
              }
              break;
            case Action::publish:
            case Action::receive: {
              const auto type = action == Action::publish ? AclType::publish_client_send
                                                          : AclType::publish_client_receive;
              const auto translation = allow ? allow_topics(glob) : deny_topics(glob);
              for (const auto& topic : translation.topics) {
                add(type, topic, allow);
              }
              if (translation.narrowing) {
                narrow(action, resource, *translation.narrowing);
              }
              break;
            }
            case Action::subscribe: {
              const auto translation = allow ? allow_filters(glob) : deny_filters(glob);
              for (const auto& [type, topic] : translation.entries) {
                add(type, topic, allow);
                if (allow) {
                  add(AclType::unsubscribe_pattern, topic, true);
                }
              }
              if (translation.narrowing) {
                narrow(action, resource, *translation.narrowing);
              }
              break;
            }
          }
        }
      }
    }
  }

  // Literal subscriptions are checked before any pattern (dynsec reads its subscribeLiteral table
  // first, whatever the priorities), so a literal allow must not stand where a Deny applies.
  std::erase_if(grant.acls, [&](const AclEntry& entry) {
    return entry.allow && entry.type == AclType::subscribe_literal &&
           policy::evaluate(document, {Action::subscribe, "topicfilter/" + entry.topic, thing}) !=
               policy::Decision::allowed;
  });
  std::erase_if(grant.acls, [&](const AclEntry& entry) {
    return entry.type == AclType::unsubscribe_pattern &&
           std::none_of(grant.acls.begin(), grant.acls.end(), [&](const AclEntry& other) {
             return other.allow && other.topic == entry.topic &&
                    (other.type == AclType::subscribe_literal ||
                     other.type == AclType::subscribe_pattern);
           });
  });
  // A client id survives only if the document allows it outright (no Deny on it).
  std::erase_if(grant.client_ids, [&](const std::string& id) {
    return policy::evaluate(document, {Action::connect, "client/" + id, thing}) !=
           policy::Decision::allowed;
  });
  // The broker's certificate listener gives every connection the ThingName as client id
  // (use_username_as_clientid, docs/broker.md): other client ids are never used, and a thing
  // that may not connect as itself gets no rights at all.
  for (const auto& id : grant.client_ids) {
    if (id != thing) {
      narrow(Action::connect, "client/" + id,
             "the broker connects every certificate of " + thing + " with client id " + thing +
                 "; this client id is never used");
    }
  }
  if (std::find(grant.client_ids.begin(), grant.client_ids.end(), thing) ==
      grant.client_ids.end()) {
    if (!grant.acls.empty()) {
      narrow(Action::connect, "client/" + thing,
             "iot:Connect does not allow client/" + thing +
                 ", the client id the broker gives the thing; it gets no topic rights");
    }
    grant.acls.clear();
  }
  // Deny entries first, then allows, each in the order the document gave them.
  std::stable_partition(grant.acls.begin(), grant.acls.end(),
                        [](const AclEntry& entry) { return !entry.allow; });
  return grant;
}

}  // namespace estfleet::broker
