// The issuing authority: holds the issuing CA's certificate, key and chain, and signs. It decides
// nothing about who may enroll (that is est/'s profiles) and records nothing (that is registry/).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ca/issuance_policy.hpp"
#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::ca {

struct IssueRequest {
  std::string thing_name;  // becomes the subject CN; must be a valid ThingName
  const EVP_PKEY* public_key = nullptr;
  std::optional<std::string> subject_alt_name_der;  // copied verbatim when present
  std::vector<crypto::CertificateSpec::RawExtension> extra_extensions;
  crypto::TimePoint now;
  // public_key's SubjectPublicKeyInfo as the CSR carried it, when there is one: copied into the
  // certificate as it is (no re-encoding).
  const X509_PUBKEY* public_key_info = nullptr;
};

class Authority;

// The CA that a rollover replaced (RFC 7030 §4.1.3), kept during the transition: until its issuing
// CA expires, the certificates it issued still renew, and CRL and OCSP still answer for them.
struct PreviousCa {
  std::shared_ptr<const Authority> authority;
  crypto::Certificate old_with_new;  // the previous root's key signed by the current root's
  crypto::Certificate new_with_old;  // the current root's key signed by the previous root's
};

// Which service a TLS server certificate is for.
enum class TlsServerRole { est_server, other_service };

class Authority {
 public:
  // `chain` runs from the issuing CA (first) to the self-signed root (last); a single-element
  // chain means the issuing CA is the root.
  Authority(crypto::PrivateKey issuing_key, std::vector<crypto::Certificate> chain);

  // Loads the issuing key and the chain PEM (issuing CA first, root last). Throws
  // std::runtime_error naming the file and what is wrong with it (key does not match, ...).
  static Authority load(const std::filesystem::path& key_file,
                        const std::filesystem::path& chain_file);

  // Signs an end-entity clientAuth certificate for the device. Throws std::invalid_argument for a
  // request that breaks the rules (bad ThingName), crypto::CryptoError if signing fails.
  crypto::Certificate issue(const IssueRequest& request, const IssuancePolicy& policy) const;

  // Signs a TLS server certificate (serverAuth) for the given host names / IP literals. The EST
  // server's own also carries id-kp-cmcRA (crypto::kIdKpCmcRa), which est-client requires, so
  // that no other service certificate of this CA (the broker's) can pose as the EST server.
  crypto::Certificate issue_tls_server(const EVP_PKEY* public_key,
                                       const std::vector<std::string>& hostnames,
                                       crypto::TimePoint now, std::chrono::seconds validity,
                                       TlsServerRole role) const;

  // The EST server's certificate again from this CA (after a rollover, or to renew it):
  // `previous`'s subject and subjectAltName, for `public_key`, with id-kp-cmcRA.
  crypto::Certificate reissue_tls_server(const crypto::Certificate& previous,
                                         const EVP_PKEY* public_key, crypto::TimePoint now,
                                         std::chrono::seconds validity) const;

  const crypto::Certificate& issuing_certificate() const { return chain_.front(); }
  const crypto::Certificate& root() const { return chain_.back(); }
  const std::vector<crypto::Certificate>& chain() const { return chain_; }
  const EVP_PKEY* issuing_key() const { return key_.get(); }

  // Verifies that `cert` was issued by this CA and is valid at `at`; nullopt or the reason.
  // During a transition, certificates of the previous CA are verified against it.
  std::optional<std::string> verify_issued(const crypto::Certificate& cert,
                                           crypto::TimePoint at) const;

  // Adds the CA this one replaced. Throws std::invalid_argument when the links do not join the
  // two roots (each verified with the other root as the only trust anchor).
  void set_previous(PreviousCa previous);
  const std::optional<PreviousCa>& previous() const { return previous_; }
  // Whether `at` is within a transition: a previous CA whose issuing CA has not expired.
  bool in_transition(crypto::TimePoint at) const;
  // What cacerts answers at `at`: chain_with_links() during a transition, else the chain.
  std::vector<crypto::Certificate> cacerts(crypto::TimePoint at) const;
  // With a previous CA, RFC 7030 §4.1.3's answer: the issuing CA, OldWithNew, NewWithOld, the
  // previous root (OldWithOld) and the current root (NewWithNew); without one, the chain.
  std::vector<crypto::Certificate> chain_with_links() const;
  // This authority or the previous one, whichever issuing CA's name is `cert`'s issuer (and, for
  // the previous one, only during a transition); nullptr for neither.
  const Authority* issuer_of(const crypto::Certificate& cert, crypto::TimePoint at) const;

 private:
  crypto::PrivateKey key_;
  std::vector<crypto::Certificate> chain_;
  crypto::TrustStore trust_;
  std::optional<PreviousCa> previous_;
  // What recurs in the certificates this CA signs (its AKI, the profiles' key usages, CRL and
  // OCSP URLs), built once. Shared by copies of this authority, which sign alike.
  std::shared_ptr<crypto::ExtensionCache> extensions_ = std::make_shared<crypto::ExtensionCache>();
};

}  // namespace estfleet::ca
