// The RFC 6960 OCSP responder: answers from the registry for certificates of the issuing CA,
// signing with a delegated responder certificate (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) that
// the issuing CA issued, as RFC 6960 §4.2.2.2 allows. During a CA rollover's transition it also
// answers for the previous CA's certificates, signed by the previous issuing CA's own key (the
// CA itself is an authorized responder, RFC 6960 §4.2.2.2).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "ca/authority.hpp"
#include "ca/revocation.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key.hpp"
#include "crypto/ocsp.hpp"
#include "registry/store.hpp"

namespace estfleet::ca {

struct ResponderIdentity {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
};

// A delegated OCSP signing certificate for `public_key`: CN "est-fleet OCSP Responder",
// EKU OCSPSigning, keyUsage digitalSignature, ocsp-nocheck, never outliving the issuing CA.
crypto::Certificate issue_ocsp_responder(const Authority& authority, const EVP_PKEY* public_key,
                                         crypto::TimePoint now, std::chrono::seconds validity);

// nullopt when `identity` can sign for `authority` at `now`: the key matches, the CA issued it
// for OCSP signing, and it is within its validity; else why not.
std::optional<std::string> responder_problem(const Authority& authority,
                                             const ResponderIdentity& identity,
                                             crypto::TimePoint now);

// CertIDs one request may name. Relying parties ask about one certificate per request (RFC 5019
// §2.1.1 requires exactly one of lightweight clients; `openssl ocsp` sends one per -cert given),
// so a request naming more is refused with malformedRequest before any registry read or
// signature: each CertID costs a lookup and a SingleResponse, and a 64 KiB request body could
// otherwise name about a thousand.
inline constexpr int kMaxOcspCertIds = 20;

struct OcspSettings {
  // nextUpdate - thisUpdate of each answer: how long a relying party may cache it. A superseded
  // certificate's answer never lasts past the end of its grace.
  std::chrono::seconds validity{std::chrono::hours(1)};
  RevocationPolicy revocation;
};

class OcspResponder {
 public:
  OcspResponder(const Authority& authority, registry::Store& store, OcspSettings settings);

  // The DER OCSPResponse for a DER OCSPRequest. Never throws: a request that does not parse, or
  // names more than kMaxOcspCertIds certificates, gets malformedRequest; one that names only
  // other issuers' certificates gets unauthorized (this responder cannot answer authoritatively
  // for them, RFC 6960 §2.3); in a mixed request those get unknown; a registry failure gets
  // tryLater, anything else internalError. Otherwise each certificate is good, revoked (with
  // reason and time) or unknown (a serial this CA never issued), with thisUpdate `now`, and the
  // request's nonce echoed. The registry is read once per request, however many certificates it
  // names.
  std::string respond(std::string_view request_der, const ResponderIdentity& identity,
                      crypto::TimePoint now) const;

 private:
  // The authority (the current CA, or the previous one during a rollover's transition) whose
  // issuing CA the request's certificate `index` names; nullptr for another issuer.
  const Authority* named_authority(const crypto::OcspRequest& request, int index,
                                   crypto::TimePoint now) const;
  // Whether the registry's certificate `pem` was signed by `ca`.
  bool issued_by(const Authority& ca, const std::string& pem) const;

  const Authority& authority_;
  registry::Store& store_;
  OcspSettings settings_;
};

}  // namespace estfleet::ca
