#include "ca/crl.hpp"

#include "crypto/crl.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::ca {

namespace {

// Whether the registry's certificate `serial` was signed by `ca`'s issuing CA. Only asked when
// two CAs share the registry (a rollover's transition).
bool signed_by(const Authority& ca, registry::Store& store, const std::string& serial) {
  const auto record = store.find_certificate(serial);
  return record && crypto::Certificate::from_pem(record->pem).issuer_der() ==
                       ca.issuing_certificate().subject_der();
}

// The draft's entries that belong on `ca`'s CRL: all of them while one CA holds the registry.
void keep_only_of(const Authority& ca, bool shared, registry::Store& store,
                  std::vector<registry::RevocationEntry>& entries) {
  if (!shared) {
    return;
  }
  std::erase_if(entries, [&](const registry::RevocationEntry& entry) {
    return !signed_by(ca, store, entry.serial);
  });
}

}  // namespace

IssuedCrl issue_crl(const Authority& authority, registry::Store& store, const CrlSettings& settings,
                    crypto::TimePoint now) {
  // Whole seconds: the registry and the CRL's times both have no finer resolution.
  const auto this_update = to_time_point(to_unix_seconds(now));
  auto draft = store.prepare_crl(to_unix_seconds(this_update - settings.validity));
  keep_only_of(authority, authority.previous().has_value(), store, draft.entries);

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

std::optional<PreviousCrl> issue_previous_crl(const Authority& authority, registry::Store& store,
                                              const CrlSettings& settings, crypto::TimePoint now) {
  if (!authority.in_transition(now)) {
    return std::nullopt;
  }
  const Authority& previous = *authority.previous()->authority;
  const auto this_update = to_time_point(to_unix_seconds(now));
  auto draft = store.prepare_crl(to_unix_seconds(this_update - settings.validity));
  keep_only_of(previous, true, store, draft.entries);
  crypto::CrlSpec spec;
  spec.number = draft.number;
  spec.this_update = this_update;
  spec.next_update = this_update + settings.validity;
  for (const auto& entry : draft.entries) {
    if (const auto revocation = effective_revocation(entry, settings.revocation, this_update)) {
      spec.entries.push_back({entry.serial, revocation->revoked_at, revocation->reason});
    }
  }
  const std::string der =
      crypto::sign_crl(spec, previous.issuing_certificate(), previous.issuing_key());
  return PreviousCrl{spec.number, spec.entries.size(), crypto::pem_encode(der, "X509 CRL")};
}

}  // namespace estfleet::ca
