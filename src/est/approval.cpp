#include "est/approval.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "est/media.hpp"
#include "est/profile.hpp"
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

// Appends a tagged, length-prefixed field: the tag names it, eight bytes big-endian its length.
void append_field(std::string& encoding, std::string_view tag, std::string_view value) {
  encoding += tag;
  auto size = static_cast<std::uint64_t>(value.size());
  std::array<char, 8> length{};
  for (auto byte = length.rbegin(); byte != length.rend(); ++byte) {
    *byte = static_cast<char>(size & 0xffU);
    size >>= 8U;
  }
  encoding.append(length.data(), length.size());
  encoding += value;
}

// Throws Refusal when `candidate` is not what the open request `open` (same thing and key) was
// made for.
void require_same_request(const registry::EnrollmentRequest& open,
                          const registry::EnrollmentRequest& candidate) {
  const std::string which =
      "enrollment request " + std::to_string(open.id) + " of " + open.thing_name;
  if (open.profile != candidate.profile) {
    throw Refusal(403, which + " was made under " + describe_profile(open.profile) + ", not " +
                           describe_profile(candidate.profile) +
                           "; retry through the label it was made under");
  }
  if (open.content_sha256 == candidate.content_sha256) {
    return;
  }
  if (open.status == registry::RequestStatus::approved) {
    throw Refusal(403, which +
                           " was approved for other content than this CSR asks for (its subject, "
                           "subjectAltName, IoT details or attributes differ); send the approved "
                           "request, or have an operator reject it and ask again");
  }
  throw Refusal(409, which +
                         " awaits approval for other content than this CSR asks for (its subject, "
                         "subjectAltName, IoT details or attributes differ); send the same "
                         "request, or have an operator reject it first");
}

}  // namespace

std::string requested_content_sha256(const crypto::CertificateRequest& csr, const IotRequest& iot) {
  std::string encoding;
  append_field(encoding, "subject", csr.subject_der());
  const auto san = csr.subject_alt_name_der();
  append_field(encoding, san ? "san" : "no-san", san.value_or(""));
  append_field(encoding, iot.details ? "iot-details" : "no-iot-details",
               iot.details ? policy::to_json_text(*iot.details) : "");
  append_field(encoding, "attributes", nlohmann::json(iot.attributes).dump());
  return crypto::hex_encode(crypto::sha256(encoding));
}

std::string public_key_sha256(std::string_view subject_public_key_info_der) {
  return crypto::hex_encode(crypto::sha256(subject_public_key_info_der));
}

ApprovalGate pass_approval(registry::Store& store, const registry::EnrollmentRequest& candidate,
                           registry::AuditEvent audit, std::chrono::seconds retry_after) {
  const auto existing = store.find_request(candidate.thing_name, candidate.public_key_sha256);
  if (existing && existing->status == registry::RequestStatus::rejected) {
    throw Refusal(403, "an operator rejected the enrollment request of " + candidate.thing_name +
                           " for this key");
  }
  if (existing && (existing->status == registry::RequestStatus::approved ||
                   existing->status == registry::RequestStatus::pending)) {
    require_same_request(*existing, candidate);
    if (existing->status == registry::RequestStatus::approved) {
      return ApprovalGate{existing->id, std::nullopt};
    }
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
