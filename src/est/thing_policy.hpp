// The policy a thing enrolls with: what its CSR asked for, never beyond its profile's template,
// or the template's default when it asked for nothing.
#pragma once

#include <optional>
#include <string>

#include "policy/iot_details.hpp"
#include "policy/policy_template.hpp"

namespace estfleet::est {

// The AWS IoT policy document (policy::to_json_text) for `thing_name`. Throws Refusal: 400 when
// the details name another ThingName than the CSR's CN (or the CN is not a thing name), 403 naming
// the entry that goes beyond the template, or naming the template pattern that reserves the
// ThingName (with or without details). Throws std::runtime_error only when the template's own
// default grants cannot be used, which is the configuration's fault, not the device's.
std::string thing_policy_document(const std::optional<policy::IotDetails>& requested,
                                  const std::string& thing_name,
                                  const policy::PolicyTemplate& policy_template);

}  // namespace estfleet::est
