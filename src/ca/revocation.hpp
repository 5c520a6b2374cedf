// How the registry's certificate states read to relying parties (CRL, OCSP, brokers): revoked
// certificates are revoked with their recorded reason and time; a superseded certificate stays
// good for its profile's grace period after its renewal, then reads as revoked (superseded).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/certificate.hpp"
#include "crypto/crl.hpp"
#include "registry/store.hpp"

namespace estfleet::ca {

struct RevocationPolicy {
  // Per profile label ("" = default); profiles not listed (removed from the config) get 0.
  std::map<std::string, std::chrono::seconds, std::less<>> superseded_grace;

  std::chrono::seconds grace_for(std::string_view profile) const;
};

struct EffectiveRevocation {
  crypto::TimePoint revoked_at;
  crypto::CrlReason reason = crypto::CrlReason::unspecified;
};

// nullopt while the certificate is good at `now`: active, or superseded within its grace.
std::optional<EffectiveRevocation> effective_revocation(const registry::RevocationEntry& entry,
                                                        const RevocationPolicy& policy,
                                                        crypto::TimePoint now);

// When a superseded certificate's grace ends (it reads as revoked from then on); nullopt for
// other states, and for a superseded one whose renewal time is unknown.
std::optional<crypto::TimePoint> grace_end(const registry::RevocationEntry& entry,
                                           const RevocationPolicy& policy);

crypto::TimePoint to_time_point(registry::UnixSeconds seconds);
registry::UnixSeconds to_unix_seconds(crypto::TimePoint time);

}  // namespace estfleet::ca
