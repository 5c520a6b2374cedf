#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ossl.hpp"

namespace estfleet::crypto {

using TimePoint = std::chrono::system_clock::time_point;

// An X.509 certificate. Cheap to copy (shares the underlying X509 by reference count).
class Certificate {
 public:
  static Certificate from_der(std::string_view der);  // throws CryptoError
  static Certificate from_pem(std::string_view pem);  // the first certificate in `pem`
  // Every certificate in a PEM bundle, in file order; throws if there is none.
  static std::vector<Certificate> chain_from_pem(std::string_view pem);

  explicit Certificate(X509Ptr cert);
  // A certificate whose X509 holds no decoded key of its own (one just signed with a copied
  // SubjectPublicKeyInfo: OpenSSL offers no way to attach the EVP_PKEY to it), with that key.
  // public_key() and matches_private_key() answer from `public_key`; verification decodes the
  // certificate first (with_decoded_key).
  Certificate(X509Ptr cert, PkeyPtr public_key);
  // The same with the DER `cert` was encoded to, so that to_der() (and what derives from it: PEM,
  // fingerprint, PKCS#7) does not encode it again. `der` must be exactly i2d_X509 of `cert`.
  Certificate(X509Ptr cert, PkeyPtr public_key, std::string der);
  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;
  ~Certificate() = default;

  std::string to_der() const;
  std::string to_pem() const;

  std::string serial_hex() const;           // upper-case hex of the positive serial, no leading 00
  std::string subject_common_name() const;  // empty when the subject has no CN
  std::string subject_der() const;          // DER of the subject Name
  std::string issuer_der() const;
  std::string subject_text() const;  // one-line RFC 2253 form, for logs and listings
  std::optional<std::string> subject_alt_name_der() const;  // extnValue of SAN, if present
  TimePoint not_before() const;
  TimePoint not_after() const;
  std::string sha256_fingerprint() const;  // lower-case hex of SHA-256 over the DER
  // Lower-case hex of SHA-256 over the TBSCertificate: what the issuer signed. Unlike the
  // fingerprint it stays the same when only the signature changes (an ECDSA signature (r, s) is
  // as valid as (r, n - s)), so it names the certificate an issuer made.
  std::string tbs_sha256() const;
  // Whether an extendedKeyUsage extension is present and names id-kp-clientAuth.
  bool has_client_auth_usage() const;
  // Whether an extendedKeyUsage extension is present and names `dotted_oid` (e.g. kIdKpCmcRa).
  bool has_extended_key_usage(std::string_view dotted_oid) const;
  // Whether `issuer`'s public key verifies this certificate's signature.
  bool is_signed_by(const Certificate& issuer) const;
  bool is_ca() const;
  EVP_PKEY* public_key() const;  // owned by the certificate
  bool matches_private_key(const EVP_PKEY* key) const;

  // This certificate if its X509 holds its decoded key, else the same certificate parsed again
  // from its DER (for OpenSSL functions that read the key from the X509 itself, such as chain
  // verification).
  Certificate with_decoded_key() const;

  X509* get() const noexcept { return cert_.get(); }

 private:
  X509Ptr cert_;
  PkeyPtr key_;  // set only when cert_'s X509_PUBKEY holds no decoded key
  // The DER, when it was at hand at construction (parsed or just signed): OpenSSL keeps no
  // encoding of a certificate it signed, and encodes all of it again on every i2d_X509. Shared,
  // so copies stay cheap; the X509 is never changed after construction.
  std::shared_ptr<const std::string> der_;
};

// The certificates as one PEM bundle, in order (a chain file, a trust bundle).
std::string pem_bundle(const std::vector<Certificate>& certs);

// The most certificates between a leaf and its trust anchor that TrustStore::verify follows.
inline constexpr int kMaxChainDepth = 8;

// id-kp-cmcRA (RFC 6402): the extended key usage of a registration authority. An EST server's
// certificate may carry it (RFC 7030 §3.6.1); est-fleet's does, and its other service
// certificates (the broker's) do not, so a device can tell the EST server from them.
inline constexpr std::string_view kIdKpCmcRa = "1.3.6.1.5.5.7.3.28";

// A trust store to verify chains against: roots (and optionally untrusted intermediates).
class TrustStore {
 public:
  explicit TrustStore(const std::vector<Certificate>& trusted_roots);
  // Verifies `leaf` up to one of the trusted roots, using `intermediates` as untrusted helpers,
  // at time `at` (now when empty). Returns nullopt on success, else OpenSSL's reason in a
  // sentence ("certificate has expired").
  std::optional<std::string> verify(const Certificate& leaf,
                                    const std::vector<Certificate>& intermediates = {},
                                    std::optional<TimePoint> at = std::nullopt) const;

 private:
  X509StorePtr store_;
};

// Everything needed to build and sign one certificate. Extensions are emitted in a fixed order.
struct CertificateSpec {
  std::string serial;       // big-endian magnitude; must be non-empty, encoded as positive
  std::string subject_der;  // DER X.509 Name
  const EVP_PKEY* public_key = nullptr;
  // The same key as it came in a CSR: when given, copied into the certificate as it is instead
  // of being encoded again from public_key (which OpenSSL 3.0 does through an encoder).
  const X509_PUBKEY* public_key_info = nullptr;
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;
  std::optional<int> path_length;               // CA only
  std::vector<std::string> key_usage;           // "digitalSignature", "keyCertSign", "cRLSign", ...
  std::vector<std::string> extended_key_usage;  // "clientAuth", "serverAuth", "OCSPSigning"
  std::optional<std::string> subject_alt_name_der;  // copied verbatim (from a CSR)
  std::vector<std::string> subject_alt_names;       // or built: "DNS:host", "IP:127.0.0.1"
  // cRLDistributionPoints and authorityInfoAccess (id-ad-ocsp) URIs; left out when empty.
  std::vector<std::string> crl_distribution_points;
  std::vector<std::string> ocsp_urls;
  // Arbitrary extra extensions copied verbatim: (dotted OID, critical, DER extnValue).
  struct RawExtension {
    std::string oid;
    bool critical = false;
    std::string value_der;
  };
  std::vector<RawExtension> extra_extensions;
};

// Extensions that recur across the certificates one signer issues (basicConstraints, keyUsage,
// extendedKeyUsage, a profile's CRL distribution point and OCSP URL, the issuer's AKI), built the
// first time and copied into each certificate after: building one from its text parses it, looks
// its method up and encodes it on every call. Keys come from the signer's code and configuration,
// never from a request; past a bound that a sane configuration never reaches, extensions are built
// each time instead of kept. Safe to share between threads. ca::Authority owns one.
class ExtensionCache {
 public:
  ExtensionCache();
  ~ExtensionCache();
  ExtensionCache(const ExtensionCache&) = delete;
  ExtensionCache& operator=(const ExtensionCache&) = delete;

  // Adds the extension known as `key` to `cert`, made by `build` if it is not kept yet. `what`
  // names it in errors.
  void add(X509* cert, const std::string& key, std::string_view what,
           const std::function<X509ExtensionPtr()>& build);

  std::size_t size() const;

 private:
  struct Kept;
  std::unique_ptr<Kept> kept_;
};

// Signs `spec` with `issuer_key`. `issuer` is the issuing CA certificate; nullptr makes the
// certificate self-signed (issuer = subject, AKI = own SKI). SKI is always the SHA-1 of the
// public key (RFC 5280 method 1); AKI is the issuer's key identifier.
// `extensions`, when given, keeps the extensions that recur between calls; without it each is
// built.
Certificate sign_certificate(const CertificateSpec& spec, const Certificate* issuer,
                             const EVP_PKEY* issuer_key, ExtensionCache* extensions = nullptr);

// Builds a DER X.509 Name from a single CN, or from ordered (short name, value) pairs such as
// {{"O", "est-fleet"}, {"CN", "est-fleet Root CA"}}.
std::string name_der(const std::vector<std::pair<std::string, std::string>>& rdns);

}  // namespace estfleet::crypto
