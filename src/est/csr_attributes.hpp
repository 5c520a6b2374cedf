#pragma once

#include <string>

#include "crypto/csr.hpp"
#include "est/profile.hpp"

namespace estfleet::est {

inline constexpr const char* kCsrTemplateOid = "1.2.840.113549.1.9.16.2.61";
inline constexpr const char* kExtensionRequestTemplateOid = "1.2.840.113549.1.9.16.2.62";

// The DER CsrAttrs (RFC 7030 §4.5.2 as RFC 8951 and RFC 9908 define it) a profile announces:
// challengePassword when it requires proof of possession; the key type (RFC 9908 §3.2: ecPublicKey
// with its curve, rsaEncryption with its size, or the Ed25519 OID; EC P-256 unless the profile's
// csrattrs name another) and its signature algorithm; and, when the profile configures csrattrs,
// one certificationRequestInfoTemplate (RFC 9908 §3.4) holding the subject template (the CN for
// the client to fill in, then the configured attributes with or without fixed values), the key
// algorithm, and an extensionReqTemplate of the extensions the client must request.
std::string csr_attributes_der(const EnrollmentProfile& profile);

// With profile.csrattrs.enforce: refuses (400, naming the attribute) a CSR whose key is not the
// required type (`check_key`; false for serverkeygen, whose CSR key is not certified), that lacks
// a required subject attribute or holds another value than the fixed one (`check_subject`; false
// for simplereenroll, whose subject is the certificate's), or lacks a required extension.
void check_csr_requirements(const crypto::CertificateRequest& csr, const EnrollmentProfile& profile,
                            bool check_key, bool check_subject);

}  // namespace estfleet::est
