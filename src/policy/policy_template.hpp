// A profile's policy template: the most a device enrolling through that profile may ask for, and
// what it gets when its CSR asks for nothing. A device never grants itself more than this.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// The template `est-server init` writes for the default profile. Every pattern names its namespace
// outright, so no ThingName can stand for one: Connect client/${ThingName}; Publish
// topic/sensors/${ThingName} and below; Receive topic/commands/${ThingName} and below, and
// topic/broadcast; Subscribe topicfilter/commands/${ThingName} and below, and
// topicfilter/broadcast.
PolicyTemplate default_template();

// Why a template pattern (allowed or default grant) cannot be used, or nullopt. ${ThingName} must
// be a whole path segment: a '*' or '?' next to it would match other names that contain the
// device's (topic/${ThingName}* would give DeviceAlpha the topics of DeviceAlpha2), and a literal
// next to it puts the name inside a segment where another device's name can end or begin. Any
// other variable is refused: nobody can tell what it reaches.
std::optional<std::string> template_pattern_problem(std::string_view pattern);

// The pattern that reserves `thing_name` in this template, or nullopt. A fixed segment of a pattern
// (any segment after the resource type that holds no wildcard or variable, "sensors" in
// topic/sensors/${ThingName}/*) is reserved, compared ignoring ASCII case: a device with that name
// would, under a pattern with ${ThingName} in the same place, own the whole namespace
// (topic/${ThingName}/* for a device named "sensors" is topic/sensors/*).
std::optional<std::string> reserved_by(const PolicyTemplate& policy_template,
                                       std::string_view thing_name);

struct Violation {
  std::string entry;    // "Topics.Publish.Name1", "Policies.Connect" or "ThingName"
  std::string message;  // one sentence: what was asked and why it is beyond the template
};

// nullopt when the ThingName is valid and not reserved, and every Allowed resource of `details` is
// covered by one of the template's usable patterns (see template_pattern_problem) for its action,
// with ${ThingName} = details.thing_name. A requested resource is covered only if every topic it
// could match is matched by the pattern: its own wildcards ('*', '?', '+', '#') must fall under a
// '*' of the pattern written after the pattern's last ${ThingName} (any '*' of a pattern without
// one), so a request is made narrower, never wider, and its wildcards stay inside the device's own
// subtree. A '*' or '?' of the pattern
// written before its last ${ThingName} covers literal characters within one path segment only (no
// '/'): topic/*/${ThingName} lets a device name one namespace segment, never a path such as
// commands/DeviceBeta that leads into another device's subtree. A resource with a "." or ".."
// segment is refused whatever the pattern. Deny statements only take rights away and are always
// within the template.
std::optional<Violation> check_against_template(const IotDetails& details,
                                                const PolicyTemplate& policy_template);

// The details a CSR without IoT details is given: default_grants for thing_name, all Allow, topic
// entries named Name1, Name2, ... Throws PolicyError for an invalid or reserved thing_name, or a
// grant that template_pattern_problem() refuses.
IotDetails default_details(const PolicyTemplate& policy_template, const std::string& thing_name);

}  // namespace estfleet::policy
