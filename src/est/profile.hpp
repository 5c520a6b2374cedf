// Enrollment profiles are est-fleet's provisioners: each EST label names one, and it says who may
// enroll there and how. Signing is the Authority's business; recording is the Store's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ca/issuance_policy.hpp"
#include "crypto/certificate.hpp"

namespace estfleet::est {

enum class AuthMethod { basic, tls_client };

struct EnrollmentProfile {
  std::string label;  // empty: the default profile (no label in the path)
  std::vector<AuthMethod> auth_methods{AuthMethod::basic};
  bool require_all_methods = false;  // auth_mode = "all": every listed method must succeed
  bool require_pop = false;
  // Manufacturer (IDevID) roots that vouch for devices on initial enrollment by TLS client
  // certificate. Required when auth_methods holds tls_client.
  std::shared_ptr<const crypto::TrustStore> bootstrap_trust;
  ca::IssuancePolicy issuance;

  bool accepts(AuthMethod method) const;
};

}  // namespace estfleet::est
