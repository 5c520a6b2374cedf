#include "est/approval.hpp"

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "est/media.hpp"
#include "est/refusal.hpp"

namespace estfleet::est {
namespace {

http::Response pending_response(const registry::EnrollmentRequest& request,
                                std::chrono::seconds retry_after) {
  const auto seconds = std::to_string(retry_after.count());
  auto response = error_response(
      202, "enrollment request " + std::to_string(request.id) + " for " + request.thing_name +
               " awaits an operator's approval; retry after " + seconds + " seconds");
  response.headers.emplace_back("Retry-After", seconds);
  return response;
}

}  // namespace

std::string public_key_sha256(std::string_view subject_public_key_info_der) {
  return crypto::hex_encode(crypto::sha256(subject_public_key_info_der));
}

ApprovalGate pass_approval(registry::Store& store, const registry::EnrollmentRequest& candidate,
                           registry::AuditEvent audit, std::chrono::seconds retry_after) {
  const auto existing = store.find_request(candidate.thing_name, candidate.public_key_sha256);
  if (existing && existing->status == registry::RequestStatus::approved) {
    return ApprovalGate{existing->id, std::nullopt};
  }
  if (existing && existing->status == registry::RequestStatus::rejected) {
    throw Refusal(403, "an operator rejected the enrollment request of " + candidate.thing_name +
                           " for this key");
  }
  // No request yet, one pending (submit returns it as it is), or an issued one from an earlier
  // life of the thing: each is a request for an operator now.
  audit.result = "pending";
  try {
    return ApprovalGate{std::nullopt,
                        pending_response(store.submit_request(candidate, audit), retry_after)};
  } catch (const registry::ConflictError& e) {
    throw Refusal(409, e.what());
  }
}

}  // namespace estfleet::est
