// Whether a certificate this CA issued may still authenticate an EST request over mTLS: a
// revoked or superseded certificate, or one whose thing is disabled, may not, whatever the
// profile's grace for relying parties says (EST never renews the same certificate twice).
#pragma once

#include <optional>
#include <string>

#include "ca/authority.hpp"
#include "crypto/certificate.hpp"
#include "registry/store.hpp"

namespace estfleet::est {

// nullopt when the registered certificate `record` may authenticate; else one sentence why not.
std::optional<std::string> registered_identity_problem(registry::Store& store,
                                                       const registry::CertificateRecord& record);

// A renewal whose answer may never have reached the device: `record` (the certificate presented)
// was superseded, not revoked, its thing is not disabled, and the certificate that renewed it is
// active, valid at `now`, of the same thing and issued under the same profile. Returns that
// successor, which simplereenroll may send again to the holder of its key; else nullopt.
std::optional<registry::CertificateRecord> unanswered_renewal(
    registry::Store& store, const registry::CertificateRecord& record, registry::UnixSeconds now);

// For bootstrap client certificates that the profile's trust store accepted, which may or may not
// be this CA's: nullopt for a certificate of another issuer (a manufacturer's). A certificate of
// this CA (current, or previous during a rollover: issuer name and key identifier) may
// authenticate only when it carries clientAuth, its registry row (by serial) holds the same
// signed content, and that row may authenticate (registered_identity_problem); else one sentence
// why not.
std::optional<std::string> client_certificate_problem(registry::Store& store,
                                                      const ca::Authority& authority,
                                                      const crypto::Certificate& cert,
                                                      crypto::TimePoint now);

}  // namespace estfleet::est
