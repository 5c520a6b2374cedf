// The issuing authority: holds the issuing CA's certificate, key and chain, and signs. It decides
// nothing about who may enroll (that is est/'s profiles) and records nothing (that is registry/).
#pragma once

#include <filesystem>
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

  // Signs the server's own TLS certificate (serverAuth) for the given host names / IP literals.
  crypto::Certificate issue_tls_server(const EVP_PKEY* public_key,
                                       const std::vector<std::string>& hostnames,
                                       crypto::TimePoint now, std::chrono::seconds validity) const;

  const crypto::Certificate& issuing_certificate() const { return chain_.front(); }
  const crypto::Certificate& root() const { return chain_.back(); }
  const std::vector<crypto::Certificate>& chain() const { return chain_; }
  const EVP_PKEY* issuing_key() const { return key_.get(); }

  // Verifies that `cert` was issued by this CA and is valid at `at`; nullopt or the reason.
  std::optional<std::string> verify_issued(const crypto::Certificate& cert,
                                           crypto::TimePoint at) const;

 private:
  crypto::PrivateKey key_;
  std::vector<crypto::Certificate> chain_;
  crypto::TrustStore trust_;
};

}  // namespace estfleet::ca
