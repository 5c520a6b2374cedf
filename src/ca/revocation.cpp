#include "ca/revocation.hpp"

namespace estfleet::ca {

std::chrono::seconds RevocationPolicy::grace_for(std::string_view profile) const {
  const auto found = superseded_grace.find(profile);
  return found == superseded_grace.end() ? std::chrono::seconds(0) : found->second;
}

crypto::TimePoint to_time_point(registry::UnixSeconds seconds) {
  return crypto::TimePoint(std::chrono::seconds(seconds));
}

registry::UnixSeconds to_unix_seconds(crypto::TimePoint time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::optional<crypto::TimePoint> grace_end(const registry::RevocationEntry& entry,
                                           const RevocationPolicy& policy) {
  if (entry.status != registry::CertificateStatus::superseded || !entry.superseded_at) {
    return std::nullopt;
  }
  return to_time_point(*entry.superseded_at) + policy.grace_for(entry.profile);
}

std::optional<EffectiveRevocation> effective_revocation(const registry::RevocationEntry& entry,
                                                        const RevocationPolicy& policy,
                                                        crypto::TimePoint now) {
  switch (entry.status) {
    case registry::CertificateStatus::active:
      return std::nullopt;
    case registry::CertificateStatus::revoked:
      // A reason the registry holds but RFC 5280 does not name cannot come from the admin
      // commands (they check it); it reads as unspecified rather than hiding the revocation.
      return EffectiveRevocation{to_time_point(entry.revoked_at.value_or(0)),
                                 crypto::parse_crl_reason(entry.revocation_reason)
                                     .value_or(crypto::CrlReason::unspecified)};
    case registry::CertificateStatus::superseded: {
      // A superseded certificate whose renewal is missing (cannot happen through the store) has
      // no grace to run out: it is treated as superseded from the start.
      const auto end = grace_end(entry, policy).value_or(crypto::TimePoint{});
      if (now < end) {
        return std::nullopt;
      }
      return EffectiveRevocation{end, crypto::CrlReason::superseded};
    }
  }
  return std::nullopt;
}

}  // namespace estfleet::ca
