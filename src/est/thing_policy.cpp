#include "est/thing_policy.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "est/refusal.hpp"
#include "policy/document.hpp"
#include "policy/policy_error.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::est {
namespace {

// The policy variables that stand for the device's own name, as the template check reads them.
constexpr std::array<std::string_view, 2> kThingNameVariables{"${ThingName}",
                                                              "${iot:Connection.Thing.ThingName}"};

// `resource` with every ThingName variable replaced by `thing_name`; nullopt when it holds
// another variable. A ThingName holds no '$', so what is filled in cannot form a variable.
std::optional<std::string> substitute(std::string_view resource, const std::string& thing_name) {
  std::string result;
  std::size_t position = 0;
  while (position < resource.size()) {
    const auto rest = resource.substr(position);
    const auto* variable =
        std::find_if(kThingNameVariables.begin(), kThingNameVariables.end(),
                     [&](std::string_view name) { return rest.starts_with(name); });
    if (variable != kThingNameVariables.end()) {
      result += thing_name;
      position += variable->size();
    } else if (rest.starts_with("${")) {
      return std::nullopt;
    } else {
      result += rest.front();
      ++position;
    }
  }
  return result;
}

// The stored document names concrete resources: the registry, `policy show` and the broker's ACLs
// then say exactly what this thing may do, without a reader having to know the variables.
policy::IotDetails with_concrete_resources(policy::IotDetails details) {
  for (auto& [action, entries] : details.topics) {
    for (auto& entry : entries) {
      auto concrete = substitute(entry.resource, details.thing_name);
      if (!concrete) {
        throw Refusal(400, "the IoT details entry Topics." +
                               std::string(policy::to_string(action)) + "." + entry.key +
                               " uses a variable other than ${ThingName}");
      }
      entry.resource = std::move(*concrete);
    }
  }
  return details;
}

}  // namespace

std::string thing_policy_document(const std::optional<policy::IotDetails>& requested,
                                  const std::string& thing_name,
                                  const policy::PolicyTemplate& policy_template) {
  if (!requested) {
    // The device's own name is checked here, so that what remains to fail is the template alone.
    if (!policy::is_valid_thing_name(thing_name)) {
      throw Refusal(400, "the ThingName " + thing_name + " is not a valid thing name");
    }
    if (const auto pattern = policy::reserved_by(policy_template, thing_name)) {
      throw Refusal(403, "the ThingName " + thing_name +
                             " is reserved by this profile's policy template: it is a fixed "
                             "segment of " +
                             *pattern);
    }
    try {
      return policy::to_json_text(
          policy::build_policy_document(policy::default_details(policy_template, thing_name)));
    } catch (const policy::PolicyError& e) {
      // The configuration is checked at load, so this is the server's fault, not the device's.
      throw std::runtime_error("the profile's default policy cannot be built: " +
                               std::string(e.what()));
    }
  }
  if (requested->thing_name != thing_name) {
    throw Refusal(400, "the IoT details name ThingName " + requested->thing_name +
                           " but the CSR's CN is " + thing_name);
  }
  if (const auto violation = policy::check_against_template(*requested, policy_template)) {
    throw Refusal(403, "the IoT details ask for more than this profile allows at " +
                           violation->entry + ": " + violation->message);
  }
  return policy::to_json_text(policy::build_policy_document(with_concrete_resources(*requested)));
}

}  // namespace estfleet::est
