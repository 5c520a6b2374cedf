// Manual approval of initial enrollments: the device's first request opens an enrollment request
// for an operator; it retries until the operator has decided. The device is recognised by its
// ThingName and public key, since a PoP CSR differs on every connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "registry/store.hpp"

namespace estfleet::est {

struct ApprovalGate {
  std::optional<std::int64_t> fulfils_request;  // approved: issue, fulfilling this request
  std::optional<http::Response> pending;        // not decided yet: send this 202
};

// Lower-case hex SHA-256 of a SubjectPublicKeyInfo DER: how a request names the key it is for.
std::string public_key_sha256(std::string_view subject_public_key_info_der);

// Consults (and if need be opens) the request of `candidate.thing_name` for its key. Throws
// Refusal: 403 when an operator rejected it, 409 when the thing has an open request for another
// key. `audit` is written with a pending request.
ApprovalGate pass_approval(registry::Store& store, const registry::EnrollmentRequest& candidate,
                           registry::AuditEvent audit, std::chrono::seconds retry_after);

}  // namespace estfleet::est
