#include "registry/store.hpp"

namespace estfleet::registry {

std::string_view to_string(CertificateStatus status) {
  switch (status) {
    case CertificateStatus::active:
      return "active";
    case CertificateStatus::superseded:
      return "superseded";
    case CertificateStatus::revoked:
      return "revoked";
  }
  return "unknown";
}

std::optional<CertificateStatus> parse_certificate_status(std::string_view text) {
  for (const auto status :
       {CertificateStatus::active, CertificateStatus::superseded, CertificateStatus::revoked}) {
    if (text == to_string(status)) {
      return status;
    }
  }
  return std::nullopt;
}

std::string_view to_string(ThingStatus status) {
  switch (status) {
    case ThingStatus::active:
      return "active";
    case ThingStatus::disabled:
      return "disabled";
  }
  return "unknown";
}

std::optional<ThingStatus> parse_thing_status(std::string_view text) {
  for (const auto status : {ThingStatus::active, ThingStatus::disabled}) {
    if (text == to_string(status)) {
      return status;
    }
  }
  return std::nullopt;
}

std::string_view to_string(RequestStatus status) {
  switch (status) {
    case RequestStatus::pending:
      return "pending";
    case RequestStatus::approved:
      return "approved";
    case RequestStatus::rejected:
      return "rejected";
    case RequestStatus::issued:
      return "issued";
  }
  return "unknown";
}

std::optional<RequestStatus> parse_request_status(std::string_view text) {
  for (const auto status : {RequestStatus::pending, RequestStatus::approved,
                            RequestStatus::rejected, RequestStatus::issued}) {
    if (text == to_string(status)) {
      return status;
    }
  }
  return std::nullopt;
}

void refuse_request_fulfilment(std::int64_t id, const std::optional<EnrollmentRequest>& request,
                               const std::string& thing_name, const std::string& profile) {
  const std::string label = "enrollment request " + std::to_string(id);
  if (!request) {
    throw ConflictError("no " + label + " to fulfil");
  }
  if (request->thing_name != thing_name) {
    throw ConflictError(label + " is for thing " + request->thing_name + ", not " + thing_name);
  }
  if (request->profile != profile) {
    throw ConflictError(label + " was made under profile '" + request->profile + "', not '" +
                        profile + "'");
  }
  throw ConflictError(label + " is " + std::string{to_string(request->status)} + ", not approved");
}

}  // namespace estfleet::registry
