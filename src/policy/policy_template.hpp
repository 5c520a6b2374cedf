// A profile's policy template: the most a device enrolling through that profile may ask for, and
// what it gets when its CSR asks for nothing. A device never grants itself more than this.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/action.hpp"
#include "policy/iot_details.hpp"

namespace estfleet::policy {

// Per action, resource patterns (with their prefix) that may hold ${ThingName} and '*'/'?'.
// An action that is absent may not be Allowed at all.
using ResourcePatterns = std::map<Action, std::vector<std::string>>;

struct PolicyTemplate {
  ResourcePatterns allowed;
  // What a CSR without IoT details gets: Allow on each listed resource, ${ThingName} filled in.
  ResourcePatterns default_grants;
};

// The template `est-server init` writes for the default profile: only resources that hold the
// device's own ThingName as a whole path segment, plus Receive/Subscribe on "broadcast".
PolicyTemplate default_template();

struct Violation {
  std::string entry;    // "Topics.Publish.Name1" or "Policies.Connect"
  std::string message;  // one sentence: what was asked and why it is beyond the template
};

// nullopt when every Allowed resource of `details` is covered by one of the template's patterns
// for its action, with ${ThingName} = details.thing_name. A requested resource is covered only if
// every topic it could match is matched by the pattern: its own wildcards ('*', '?', '+', '#')
// must fall under a '*' of the pattern, so a request is made narrower, never wider. Stricter
// still, a '*' written before the pattern's last ${ThingName} covers only literal characters: it
// lets a device name a namespace for its own subtree ("sensors" in topic/*/${ThingName}), not
// range over namespaces, where other devices' subtrees live (topic/DeviceBeta/DeviceAlpha).
// Deny statements only take rights away and are always within the template.
std::optional<Violation> check_against_template(const IotDetails& details,
                                                const PolicyTemplate& policy_template);

// The details a CSR without IoT details is given: default_grants for thing_name, all Allow, topic
// entries named Name1, Name2, ... Throws PolicyError for an invalid thing_name or a grant that
// holds a variable other than ${ThingName}.
IotDetails default_details(const PolicyTemplate& policy_template, const std::string& thing_name);

}  // namespace estfleet::policy
