// The issuing CA's CRL: made from the registry (revoked certificates, and superseded ones past
// their grace), numbered by the registry, signed by the issuing CA's key, and kept in the
// registry as the published one. During a CA rollover's transition the previous CA gets its own.
#pragma once

#include <chrono>
#include <optional>

#include "ca/authority.hpp"
#include "ca/revocation.hpp"
#include "registry/store.hpp"

namespace estfleet::ca {

struct CrlSettings {
  // nextUpdate - thisUpdate. Servers issue a fresh CRL at half of it, so relying parties that
  // fetch at nextUpdate never hold an expired one.
  std::chrono::seconds validity{std::chrono::hours(24)};
  RevocationPolicy revocation;
};

struct IssuedCrl {
  // The CRL the registry now publishes: this one, or a newer one another process signed
  // meanwhile.
  registry::PublishedCrl published;
  std::int64_t number = 0;  // the number of the CRL this call signed
  std::size_t entries = 0;  // how many certificates it lists
  // The earliest moment after thisUpdate at which a superseded certificate's grace ends, when
  // the CRL should be issued again; nullopt when no grace is running.
  std::optional<crypto::TimePoint> next_grace_end;
};

// Lists a certificate until one CRL validity past its notAfter, so at least one CRL issued after
// it expired still carries it (RFC 5280 §3.3), then drops it.
// During a CA rollover's transition it lists only the current CA's certificates.
IssuedCrl issue_crl(const Authority& authority, registry::Store& store, const CrlSettings& settings,
                    crypto::TimePoint now);

// The previous CA's CRL during a rollover's transition: its certificates only, signed by its own
// issuing key, numbered from the registry's sequence (so numbers still only grow) but not
// published in the registry, which keeps the current CA's. nullopt outside a transition.
struct PreviousCrl {
  std::int64_t number = 0;
  std::size_t entries = 0;
  std::string pem;
};
std::optional<PreviousCrl> issue_previous_crl(const Authority& authority, registry::Store& store,
                                              const CrlSettings& settings, crypto::TimePoint now);

}  // namespace estfleet::ca
