#include "est/csr_checks.hpp"

#include <set>

#include "ca/key_policy.hpp"
#include "crypto/error.hpp"
#include "est/media.hpp"
#include "est/refusal.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::est {

crypto::CertificateRequest parse_enrollment_csr(std::string_view body) {
  const auto der = decode_body(body);
  if (!der) {
    throw Refusal(400, "the request body is not base64-encoded DER");
  }
  std::optional<crypto::CertificateRequest> csr;
  try {
    csr.emplace(crypto::CertificateRequest::from_der(*der));
  } catch (const crypto::CryptoError&) {
    throw Refusal(400, "the request body is not a DER PKCS#10 certification request");
  }
  // A key the CA would refuse anyway is refused before anything is computed with it: verifying
  // with an RSA-16384 or explicit-curve key costs more than the whole refusal should.
  if (auto problem = ca::refuse_subject_key(csr->public_key())) {
    throw Refusal(400, *problem);
  }
  if (!csr->verify_signature()) {
    throw Refusal(400, "the CSR's signature does not verify with its own public key");
  }
  try {
    csr->requested_extensions();  // parsed again later; refuse a damaged one here, once
  } catch (const crypto::CryptoError&) {
    throw Refusal(400, "the CSR's extensionRequest attribute is malformed");
  }
  return std::move(*csr);
}

std::string check_csr_for_issuance(const crypto::CertificateRequest& csr,
                                   const ca::IssuancePolicy& policy) {
  const auto names = csr.subject_common_names();
  if (names.size() != 1) {
    throw Refusal(400, "the CSR's subject must hold exactly one CN (the ThingName), it holds " +
                           std::to_string(names.size()));
  }
  if (!policy::is_valid_thing_name(names.front())) {
    throw Refusal(400,
                  "the CSR's CN is not a valid ThingName: it must match [A-Za-z0-9:_-]{1,128}");
  }
  const auto extensions = csr.requested_extensions();
  if (extensions.size() > kMaxRequestedExtensions) {
    throw Refusal(400, "the CSR requests " + std::to_string(extensions.size()) +
                           " extensions, more than the " + std::to_string(kMaxRequestedExtensions) +
                           " accepted");
  }
  std::set<std::string> seen;
  for (const auto& extension : extensions) {
    if (extension.value_der.size() > kMaxExtensionBytes) {
      throw Refusal(400, "the CSR's extension " + extension.oid + " is " +
                             std::to_string(extension.value_der.size()) + " bytes, more than the " +
                             std::to_string(kMaxExtensionBytes) + " accepted");
    }
    if (!seen.insert(extension.oid).second) {
      throw Refusal(400, "the CSR requests extension " + extension.oid + " more than once");
    }
  }
  if (const auto san = csr.subject_alt_name_der()) {
    if (auto problem = ca::refuse_subject_alt_name(*san, policy)) {
      throw Refusal(400, *problem);
    }
  }
  return names.front();
}

}  // namespace estfleet::est
