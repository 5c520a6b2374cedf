#include "est/profile.hpp"

#include <algorithm>

namespace estfleet::est {

bool EnrollmentProfile::accepts(AuthMethod method) const {
  return std::find(auth_methods.begin(), auth_methods.end(), method) != auth_methods.end();
}

}  // namespace estfleet::est
