// Manual approval of initial enrollments: the device's first request opens an enrollment request
// for an operator; it retries until the operator has decided. The device is recognised by its
// ThingName and public key, since a PoP CSR differs on every connection; an approval holds only
// for the profile and the requested content (subject, SAN, IoT details, attributes) it was made
// for, so an approved key cannot come back asking for other topics.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "crypto/csr.hpp"
#include "est/iot_request.hpp"
#include "http/message.hpp"
#include "registry/store.hpp"

namespace estfleet::est {

struct ApprovalGate {
  std::optional<std::int64_t> fulfils_request;  // approved: issue, fulfilling this request
  std::optional<http::Response> pending;        // not decided yet: send this 202
};

// Lower-case hex SHA-256 of a SubjectPublicKeyInfo DER: how a request names the key it is for.
std::string public_key_sha256(std::string_view subject_public_key_info_der);

// Lower-case hex SHA-256 of what the CSR asks for besides its key: subject DER, subjectAltName
// DER, the IoT details (normalised, as policy::to_json_text writes them) and the attributes, each
// tagged and length-prefixed so that no two different requests share an encoding. The challenge
// password (a PoP binding that changes every connection) and the signature are left out.
std::string requested_content_sha256(const crypto::CertificateRequest& csr, const IotRequest& iot);

// Consults (and if need be opens) the request of `candidate.thing_name` for its key. Throws
// Refusal: 403 when an operator rejected it, or when an open request for this key was made under
// another profile or was approved for other content; 409 when a pending request for this key
// asks for other content, or the thing has an open request for another key. `audit` is written
// with a pending request.
ApprovalGate pass_approval(registry::Store& store, const registry::EnrollmentRequest& candidate,
                           registry::AuditEvent audit, std::chrono::seconds retry_after);

}  // namespace estfleet::est
