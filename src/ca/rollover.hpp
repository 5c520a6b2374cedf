// CA rollover (RFC 7030 §4.1.3, link certificates in the sense of RFC 4210 §4.4): a new root key
// and a new issuing CA below it, and the two link certificates that join the old root and the new
// one, so that relying parties holding either root can validate the other's chain:
//   OldWithNew: the old root's public key (and name), signed by the new root's private key;
//   NewWithOld: the new root's public key (and name), signed by the old root's private key. A
//               device that holds only the old root validates the new chain through it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ca/bootstrap.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::ca {

// What the new generation gets; the names are derived from the old ones (next_generation_name).
struct RolloverOptions {
  std::chrono::seconds root_validity{std::chrono::hours(24 * 365 * 20)};
  std::chrono::seconds issuing_validity{std::chrono::hours(24 * 365 * 10)};
  crypto::KeyType root_key_type = crypto::KeyType::ec_p384;
  crypto::KeyType issuing_key_type = crypto::KeyType::ec_p256;
};

// The CA being replaced: its root (certificate and key) and its issuing CA certificate.
struct OutgoingCa {
  const crypto::Certificate& root;
  const EVP_PKEY* root_key;
  const crypto::Certificate& issuing;
};

struct RolledCa {
  NewCa next;                        // the new root and the new issuing CA below it
  crypto::Certificate old_with_new;  // old root's key, signed by the new root's key
  crypto::Certificate new_with_old;  // new root's key, signed by the old root's key
  // When the transition ends: the old issuing CA's notAfter, after which no certificate the old
  // CA issued is valid any more. The links are valid until then.
  crypto::TimePoint transition_end;
};

// "est-fleet Root CA" -> "est-fleet Root CA G2", "… G2" -> "… G3": the new generation never has
// the old one's name, so chain building never confuses the two roots.
std::string next_generation_name(const std::string& common_name);

// Builds the new generation and both links at `now`. Throws std::invalid_argument when the old
// root key does not match the old root, the old root is not self-signed, the old issuing CA has
// already expired, or a validity is not positive; crypto::CryptoError when signing fails.
RolledCa roll_over(const OutgoingCa& outgoing, const RolloverOptions& options,
                   crypto::TimePoint now);

// A link certificate: `subject`'s name and public key, signed by `signer_key` as `signer`
// (a CA certificate, keyCertSign and cRLSign, no path length limit so the chain below `subject`
// still fits), valid [not_before, not_after].
crypto::Certificate build_link(const crypto::Certificate& subject,
                               const crypto::Certificate& signer, const EVP_PKEY* signer_key,
                               crypto::TimePoint not_before, crypto::TimePoint not_after);

// nullopt when `link` carries exactly `linked_root`'s name and public key and verifies (OpenSSL
// path validation at `at`) with `trusted_root` as the only trust anchor; else why not.
std::optional<std::string> verify_link(const crypto::Certificate& link,
                                       const crypto::Certificate& linked_root,
                                       const crypto::Certificate& trusted_root,
                                       crypto::TimePoint at);

// Whether `a` and `b` hold the same public key.
bool same_public_key(const crypto::Certificate& a, const crypto::Certificate& b);

// Whether `cert` is self-signed (issuer = subject and its own key verifies its signature).
bool is_self_signed(const crypto::Certificate& cert);

}  // namespace estfleet::ca
