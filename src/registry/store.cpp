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

}  // namespace estfleet::registry
