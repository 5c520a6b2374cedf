// Enrollment profiles are est-fleet's provisioners: each EST label names one, and it says who may
// enroll there and how. Signing is the Authority's business; recording is the Store's.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ca/issuance_policy.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "est/thing_name_pattern.hpp"
#include "policy/policy_template.hpp"

namespace estfleet::est {

enum class AuthMethod { basic, tls_client };

// manual: an initial enrollment waits for an operator's `est-server approve`.
enum class Approval { automatic, manual };

// What the profile's csrattrs announce (RFC 9908 §3.4 template) and, with `enforce`, require of
// every CSR: the key type, subject attributes (OID, fixed value or nullopt for "any value") next
// to the CN, and extensions (dotted OIDs) the CSR must request.
struct CsrRequirements {
  std::optional<crypto::KeyType> key_type;
  std::vector<std::pair<std::string, std::optional<std::string>>> subject;
  std::vector<std::string> extensions;
  bool enforce = false;
};

struct EnrollmentProfile {
  std::string label;  // empty: the default profile (no label in the path)
  std::vector<AuthMethod> auth_methods{AuthMethod::basic};
  bool require_all_methods = false;  // auth_mode = "all": every listed method must succeed
  bool require_pop = false;
  // Manufacturer (IDevID) roots that vouch for devices on initial enrollment by TLS client
  // certificate. Required when auth_methods holds tls_client.
  std::shared_ptr<const crypto::TrustStore> bootstrap_trust;
  ca::IssuancePolicy issuance;

  std::optional<ThingNamePattern> thing_name_pattern;
  // When set, Basic also accepts user = ThingName with its derived fleet password.
  std::optional<std::string> fleet_secret;
  policy::PolicyTemplate policy_template = policy::default_template();
  // Keys of the device attributes extension a device may set; others are refused.
  std::set<std::string, std::less<>> allowed_attributes{"Region"};
  Approval approval = Approval::automatic;
  std::chrono::seconds retry_after{60};  // the Retry-After of a pending enrollment
  // serverkeygen (RFC 7030 §4.4): offered unless false; the type of key generated (nullopt: the
  // type of the CSR's own key, else EC P-256).
  bool serverkeygen = true;
  std::optional<crypto::KeyType> serverkeygen_key_type;
  CsrRequirements csrattrs;

  bool accepts(AuthMethod method) const;
};

// How a message names a profile: "the profile with label 'factory'", or "the default profile (no
// label)" for the empty label.
std::string describe_profile(const std::string& label);

}  // namespace estfleet::est
