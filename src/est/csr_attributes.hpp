#pragma once

#include <string>

#include "est/profile.hpp"

namespace estfleet::est {

// The DER CsrAttrs (RFC 7030 §4.5.2) a profile announces: challengePassword when it requires
// proof of possession, the key type it prefers (EC P-256) and its signature algorithm.
std::string csr_attributes_der(const EnrollmentProfile& profile);

}  // namespace estfleet::est
