#include "est/thing_policy.hpp"

#include "est/refusal.hpp"
#include "policy/document.hpp"
#include "policy/policy_error.hpp"

namespace estfleet::est {

std::string thing_policy_document(const std::optional<policy::IotDetails>& requested,
                                  const std::string& thing_name,
                                  const policy::PolicyTemplate& policy_template) {
  if (!requested) {
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
  return policy::to_json_text(policy::build_policy_document(*requested));
}

}  // namespace estfleet::est
