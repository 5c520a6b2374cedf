#include "est/identity_check.hpp"

#include <utility>

namespace estfleet::est {

std::optional<std::string> registered_identity_problem(registry::Store& store,
                                                       const registry::CertificateRecord& record) {
  if (record.status == registry::CertificateStatus::revoked) {
    return "the TLS client certificate has been revoked" +
           (record.revocation_reason.empty() ? std::string()
                                             : " (" + record.revocation_reason + ")");
  }
  if (record.status == registry::CertificateStatus::superseded) {
    return std::string("the TLS client certificate was already renewed; use the newer one");
  }
  if (const auto thing = store.find_thing(record.thing_name);
      thing && thing->status == registry::ThingStatus::disabled) {
    return "thing " + record.thing_name + " is disabled; an operator must enable it first";
  }
  return std::nullopt;
}

std::optional<registry::CertificateRecord> unanswered_renewal(
    registry::Store& store, const registry::CertificateRecord& record, registry::UnixSeconds now) {
  if (record.status != registry::CertificateStatus::superseded) {
    return std::nullopt;
  }
  if (const auto thing = store.find_thing(record.thing_name);
      !thing || thing->status == registry::ThingStatus::disabled) {
    return std::nullopt;
  }
  // At most one certificate replaces another: renewal requires the old one to be active.
  for (auto& candidate : store.list_certificates(record.thing_name)) {
    if (candidate.replaces != record.serial) {
      continue;
    }
    if (candidate.status != registry::CertificateStatus::active ||
        candidate.thing_name != record.thing_name || candidate.profile != record.profile ||
        now < candidate.not_before || now >= candidate.not_after) {
      return std::nullopt;
    }
    return std::move(candidate);
  }
  return std::nullopt;
}

std::optional<std::string> client_certificate_problem(registry::Store& store,
                                                      const crypto::Certificate& cert) {
  const auto record = store.find_certificate(cert.serial_hex());
  // Serials are only unique per issuer: a manufacturer certificate may share one by chance.
  if (!record || record->sha256_fingerprint != cert.sha256_fingerprint()) {
    return std::nullopt;
  }
  return registered_identity_problem(store, *record);
}

}  // namespace estfleet::est
