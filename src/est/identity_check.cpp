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
                                                      const ca::Authority& authority,
                                                      const crypto::Certificate& cert,
                                                      crypto::TimePoint now) {
  // This CA's (current, or previous during a rollover) by its issuer name, and then proven by its
  // signature: key identifiers are optional (an imported CA may have no subjectKeyIdentifier), so
  // they cannot tell. A certificate that names this CA but was signed by another key comes from
  // another CA of the same name, which the bootstrap trust store has already judged.
  const ca::Authority* issuer = authority.issuer_of(cert, now);
  if (issuer == nullptr || !cert.is_signed_by(issuer->issuing_certificate())) {
    return std::nullopt;  // a manufacturer's certificate: the bootstrap trust store judged it
  }
  // The server's TLS certificate, the broker's and the OCSP responder's come from this CA too;
  // none of them is a device's.
  if (!cert.has_client_auth_usage()) {
    return std::string(
        "the TLS client certificate was issued by this CA for another purpose than a device's "
        "(no clientAuth extended key usage)");
  }
  // Judged only by its own row: found by serial (unique for this CA), and the same signed content.
  // Not the whole DER: the signature of a copy may differ (ECDSA's (r, n - s)) and still verify.
  const auto record = store.find_certificate(cert.serial_hex());
  if (!record) {
    return std::string(
        "the TLS client certificate was issued by this CA but is not in the "
        "registry");
  }
  if (crypto::Certificate::from_pem(record->pem).tbs_sha256() != cert.tbs_sha256()) {
    return std::string(
               "the TLS client certificate is not the one this CA registered under "
               "serial ") +
           record->serial;
  }
  return registered_identity_problem(store, *record);
}

}  // namespace estfleet::est
