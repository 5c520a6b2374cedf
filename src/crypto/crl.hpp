// X.509 v2 certificate revocation lists (RFC 5280 §5): signing one from a list of entries, and
// reading one back (for tests, tools and anyone checking what was published).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::crypto {

// RFC 5280 §5.3.1 CRLReason; the numbers are the DER ENUMERATED values (7 is unused).
enum class CrlReason : int {
  unspecified = 0,
  keyCompromise = 1,
  cACompromise = 2,
  affiliationChanged = 3,
  superseded = 4,
  cessationOfOperation = 5,
  certificateHold = 6,
  removeFromCRL = 8,
  privilegeWithdrawn = 9,
  aACompromise = 10,
};

// The RFC's own spelling ("keyCompromise"), exact case; nullopt for anything else.
std::optional<CrlReason> parse_crl_reason(std::string_view name);
std::string_view crl_reason_name(CrlReason reason);

struct RevokedEntry {
  std::string serial_hex;  // as Certificate::serial_hex(): upper-case, no leading 00
  TimePoint revoked_at;
  // Written as a reasonCode entry extension, except unspecified, which RFC 5280 says to leave
  // out; read back as nullopt when the extension is absent.
  std::optional<CrlReason> reason;
};

struct CrlSpec {
  std::int64_t number = 0;  // cRLNumber: monotonically increasing per issuer, >= 1
  TimePoint this_update;
  TimePoint next_update;
  std::vector<RevokedEntry> entries;
};

// Signs a v2 CRL for `issuer` with its key: issuer name, thisUpdate, nextUpdate, the entries
// sorted by serial, cRLNumber and authorityKeyIdentifier (the issuer's SKI). Returns the DER.
// Throws CryptoError for a bad serial or when signing fails.
std::string sign_crl(const CrlSpec& spec, const Certificate& issuer, const EVP_PKEY* issuer_key);

// A parsed CRL. Cheap to copy (shares the X509_CRL by reference count).
class Crl {
 public:
  static Crl from_der(std::string_view der);  // throws CryptoError
  static Crl from_pem(std::string_view pem);  // throws CryptoError

  std::string to_der() const;
  std::string to_pem() const;

  long version() const;  // 2 for a v2 CRL
  std::string issuer_der() const;
  TimePoint this_update() const;
  std::optional<TimePoint> next_update() const;
  std::optional<std::int64_t> number() const;           // cRLNumber, when present
  std::optional<std::string> authority_key_id() const;  // keyIdentifier of the AKI, raw bytes
  std::vector<RevokedEntry> entries() const;            // in CRL order
  std::optional<RevokedEntry> find(std::string_view serial_hex) const;
  bool signature_valid(const EVP_PKEY* issuer_public_key) const;

  X509_CRL* get() const noexcept { return crl_.get(); }

 private:
  explicit Crl(std::shared_ptr<X509_CRL> crl) : crl_(std::move(crl)) {}
  std::shared_ptr<X509_CRL> crl_;
};

}  // namespace estfleet::crypto
