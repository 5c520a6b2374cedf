#include "ca/crl.hpp"

#include "crypto/crl.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::ca {

IssuedCrl issue_crl(const Authority& authority, registry::Store& store, const CrlSettings& settings,
                    crypto::TimePoint now) {
  // Whole seconds: the registry and the CRL's times both have no finer resolution.
  const auto this_update = to_time_point(to_unix_seconds(now));
  const auto draft = store.prepare_crl(to_unix_seconds(this_update - settings.validity));

  crypto::CrlSpec spec;
  spec.number = draft.number;
  spec.this_update = this_update;
  spec.next_update = this_update + settings.validity;
  IssuedCrl result;
  for (const auto& entry : draft.entries) {
    if (const auto revocation = effective_revocation(entry, settings.revocation, this_update)) {
      spec.entries.push_back({entry.serial, revocation->revoked_at, revocation->reason});
    } else if (const auto end = grace_end(entry, settings.revocation)) {
      if (!result.next_grace_end || *end < *result.next_grace_end) {
        result.next_grace_end = end;
      }
    }
  }
  const std::string der =
      crypto::sign_crl(spec, authority.issuing_certificate(), authority.issuing_key());
  result.number = spec.number;
  result.entries = spec.entries.size();
  result.published = store.publish_crl(registry::PublishedCrl{
      spec.number, to_unix_seconds(spec.this_update), to_unix_seconds(spec.next_update),
      crypto::pem_encode(der, "X509 CRL")});
  return result;
}

}  // namespace estfleet::ca
