#include "est/profile.hpp"

#include <algorithm>

namespace estfleet::est {

bool EnrollmentProfile::accepts(AuthMethod method) const {
  return std::find(auth_methods.begin(), auth_methods.end(), method) != auth_methods.end();
}

std::string describe_profile(const std::string& label) {
  return label.empty() ? "the default profile (no label)"
                       : "the profile with label '" + label + "'";
}

}  // namespace estfleet::est
