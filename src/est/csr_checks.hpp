#pragma once

#include <string>

#include "ca/issuance_policy.hpp"
#include "crypto/csr.hpp"

namespace estfleet::est {

// Decodes and parses the body of an enrollment request into a CSR whose signature verifies.
// Throws Refusal(400) naming what was wrong (not base64, not PKCS#10, bad signature).
crypto::CertificateRequest parse_enrollment_csr(std::string_view body);

// Checks what the CA will certify: exactly one valid ThingName CN, an accepted key, no duplicated
// extension, an allowed SAN. Returns the ThingName. Throws Refusal(400) naming the problem.
std::string check_csr_for_issuance(const crypto::CertificateRequest& csr,
                                   const ca::IssuancePolicy& policy);

}  // namespace estfleet::est
