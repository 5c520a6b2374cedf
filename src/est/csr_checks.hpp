#pragma once

#include <cstddef>
#include <string>

#include "ca/issuance_policy.hpp"
#include "crypto/csr.hpp"

namespace estfleet::est {

// Decodes and parses the body of an enrollment request into a CSR with an accepted key (checked
// before its signature, so an oversized key costs nothing) whose signature verifies. Throws
// Refusal(400) naming what was wrong (not base64, not PKCS#10, the key, the signature).
crypto::CertificateRequest parse_enrollment_csr(std::string_view body);

// Bounds on a CSR's extensionRequest: what a device may make the server parse and hold. The IoT
// details (at most kMaxIotJsonBytes of JSON) fit well within one extension.
inline constexpr std::size_t kMaxRequestedExtensions = 32;
inline constexpr std::size_t kMaxExtensionBytes = std::size_t{16} * 1024;

// Checks what the CA will certify: exactly one valid ThingName CN, at most
// kMaxRequestedExtensions extensions of at most kMaxExtensionBytes each, none twice, an
// allowed SAN. Returns the ThingName. Throws Refusal(400) naming the problem.
std::string check_csr_for_issuance(const crypto::CertificateRequest& csr,
                                   const ca::IssuancePolicy& policy);

}  // namespace estfleet::est
