// A model of how Mosquitto 2.0.11's dynamic-security plugin decides one ACL check for a client
// holding one role (plugins/dynamic-security/acl.c and sub_matches.c): publish types take the
// first entry by priority whose filter matches the topic (libmosquitto's own matcher); subscribe
// and unsubscribe look the exact filter up among the *Literal entries first, then take the first
// *Pattern entry by priority that covers the requested filter. No entry: the default, deny.
#pragma once

#include <mosquitto.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "broker/acl_translation.hpp"

namespace estfleet::broker::testing {

enum class Check { publish_send, publish_receive, subscribe, unsubscribe };

// sub_acl_check of the plugin: may a client holding pattern `acl` subscribe to filter `sub`?
inline bool dynsec_sub_acl_check(std::string acl, std::string sub) {
  if (acl == "#") {
    return true;
  }
  auto hash_check = [](std::string& s) {
    if (s == "#") {
      s.clear();
      return true;
    }
    if (s.size() > 1 && s.compare(s.size() - 2, 2, "/#") == 0) {
      s.resize(s.size() - 2);
      return true;
    }
    return false;
  };
  const bool acl_hash = hash_check(acl);
  const bool sub_hash = hash_check(sub);
  if (sub_hash && !acl_hash) {
    return false;
  }
  auto split = [](const std::string& s) {
    std::vector<std::string> levels;
    std::size_t start = 0;
    while (true) {
      const auto slash = s.find('/', start);
      levels.push_back(s.substr(start, slash - start));
      if (slash == std::string::npos) {
        return levels;
      }
      start = slash + 1;
    }
  };
  const auto acl_levels = split(acl);
  const auto sub_levels = split(sub);
  if (acl_levels.size() > sub_levels.size()) {
    return false;
  }
  if (sub_levels.size() > acl_levels.size() && !acl_hash) {
    return false;
  }
  for (std::size_t i = 0; i < sub_levels.size(); ++i) {
    if (i < acl_levels.size() && (acl_levels[i] == "+" || acl_levels[i] == sub_levels[i])) {
      continue;
    }
    if (i >= acl_levels.size() && acl_hash) {
      continue;
    }
    return false;
  }
  return true;
}

inline bool mqtt_matches(const std::string& filter, const std::string& topic) {
  bool result = false;
  return mosquitto_topic_matches_sub(filter.c_str(), topic.c_str(), &result) == MOSQ_ERR_SUCCESS &&
         result;
}

// True when dynsec allows the check.
inline bool dynsec_allows(const std::vector<AclEntry>& acls, Check check,
                          const std::string& topic) {
  std::vector<AclEntry> sorted = acls;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const AclEntry& a, const AclEntry& b) { return a.priority > b.priority; });
  auto first_match = [&](AclType type, auto matches) -> int {
    for (const auto& entry : sorted) {
      if (entry.type == type && matches(entry.topic)) {
        return entry.allow ? 1 : 0;
      }
    }
    return -1;
  };
  int decision = -1;
  switch (check) {
    case Check::publish_send:
    case Check::publish_receive:
      decision =
          first_match(check == Check::publish_send ? AclType::publish_client_send
                                                   : AclType::publish_client_receive,
                      [&](const std::string& filter) { return mqtt_matches(filter, topic); });
      break;
    case Check::subscribe:
      decision = first_match(AclType::subscribe_literal,
                             [&](const std::string& filter) { return filter == topic; });
      if (decision < 0) {
        decision = first_match(AclType::subscribe_pattern, [&](const std::string& filter) {
          return dynsec_sub_acl_check(filter, topic);
        });
      }
      break;
    case Check::unsubscribe:
      decision = first_match(AclType::unsubscribe_pattern, [&](const std::string& filter) {
        return dynsec_sub_acl_check(filter, topic);
      });
      break;
  }
  return decision == 1;
}

}  // namespace estfleet::broker::testing
