#include "crypto/crl.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <utility>

#include "crypto/asn1_values.hpp"
#include "crypto/der.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto {
namespace {

constexpr std::array<std::pair<std::string_view, CrlReason>, 10> kReasons{{
    {"unspecified", CrlReason::unspecified},
    {"keyCompromise", CrlReason::keyCompromise},
    {"cACompromise", CrlReason::cACompromise},
    {"affiliationChanged", CrlReason::affiliationChanged},
    {"superseded", CrlReason::superseded},
    {"cessationOfOperation", CrlReason::cessationOfOperation},
    {"certificateHold", CrlReason::certificateHold},
    {"removeFromCRL", CrlReason::removeFromCRL},
    {"privilegeWithdrawn", CrlReason::privilegeWithdrawn},
    {"aACompromise", CrlReason::aACompromise},
}};

// The issuer's SKI, or SHA-1 of its key when it has none (RFC 5280 method 1, as
// sign_certificate does).
std::string issuer_key_id(const Certificate& issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer.get())) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                       static_cast<std::size_t>(ASN1_STRING_length(ski)));
  }
  const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(issuer.get());
  std::string digest(SHA_DIGEST_LENGTH, '\0');
  if (key == nullptr ||
      EVP_Digest(ASN1_STRING_get0_data(key), static_cast<std::size_t>(ASN1_STRING_length(key)),
                 reinterpret_cast<unsigned char*>(digest.data()), nullptr, EVP_sha1(),
                 nullptr) != 1) {
    throw_openssl_error("cannot hash the issuer's public key");
  }
  return digest;
}

void add_entry(X509_CRL* crl, const RevokedEntry& entry) {
  X509RevokedPtr revoked(X509_REVOKED_new());
  const auto serial = integer_from_hex(entry.serial_hex);
  const auto date = to_asn1_time(entry.revoked_at);
  if (!revoked || X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), date.get()) != 1) {
    throw_openssl_error("cannot build the CRL entry of " + entry.serial_hex);
  }
  if (entry.reason && *entry.reason != CrlReason::unspecified) {
    Asn1EnumeratedPtr code(ASN1_ENUMERATED_new());
    if (!code || ASN1_ENUMERATED_set(code.get(), static_cast<long>(*entry.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, code.get(), 0, 0) != 1) {
      throw_openssl_error("cannot add the reason code of " + entry.serial_hex);
    }
  }
  if (X509_CRL_add0_revoked(crl, revoked.get()) != 1) {
    throw_openssl_error("cannot add the CRL entry of " + entry.serial_hex);
  }
  static_cast<void>(revoked.release());  // owned by the CRL now
}

}  // namespace

std::optional<CrlReason> parse_crl_reason(std::string_view name) {
  for (const auto& [text, reason] : kReasons) {
    if (text == name) {
      return reason;
    }
  }
  return std::nullopt;
}

std::string_view crl_reason_name(CrlReason reason) {
  for (const auto& [text, candidate] : kReasons) {
    if (candidate == reason) {
      return text;
    }
  }
  return "unknown";
}

std::string sign_crl(const CrlSpec& spec, const Certificate& issuer, const EVP_PKEY* issuer_key) {
  if (spec.number < 1) {
    throw CryptoError("a CRL number must be at least 1");
  }
  if (spec.next_update <= spec.this_update) {
    throw CryptoError("a CRL's nextUpdate must come after its thisUpdate");
  }
  X509CrlPtr crl(X509_CRL_new());
  const auto this_update = to_asn1_time(spec.this_update);
  const auto next_update = to_asn1_time(spec.next_update);
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    throw_openssl_error("cannot build the CRL");
  }
  for (const auto& entry : spec.entries) {
    add_entry(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());

  const Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), spec.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    throw_openssl_error("cannot add the CRL number");
  }
  AuthorityKeyIdPtr aki(AUTHORITY_KEYID_new());
  if (!aki) {
    throw_openssl_error("cannot build an authorityKeyIdentifier");
  }
  const std::string key_id = issuer_key_id(issuer);
  aki->keyid = ASN1_OCTET_STRING_new();
  if (aki->keyid == nullptr ||
      ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const unsigned char*>(key_id.data()),
                            static_cast<int>(key_id.size())) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, aki.get(), 0, 0) != 1) {
    throw_openssl_error("cannot add the CRL's authorityKeyIdentifier");
  }
  if (X509_CRL_sign(crl.get(), const_cast<EVP_PKEY*>(issuer_key),
                    signature_digest_for(issuer_key)) <= 0) {
    throw_openssl_error("signing the CRL failed");
  }
  return encode_der(crl.get(), i2d_X509_CRL, "the CRL");
}

Crl Crl::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (crl == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    X509_CRL_free(crl);
    clear_openssl_errors();
    throw CryptoError("the data is not a DER X.509 CRL");
  }
  return Crl(std::shared_ptr<X509_CRL>(crl, X509_CRL_free));
}

Crl Crl::from_pem(std::string_view pem) {
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  if (crl == nullptr) {
    clear_openssl_errors();
    throw CryptoError("the data is not a PEM X.509 CRL");
  }
  return Crl(std::shared_ptr<X509_CRL>(crl, X509_CRL_free));
}

std::string Crl::to_der() const {
  return encode_der(crl_.get(), i2d_X509_CRL, "the CRL");
}

std::string Crl::to_pem() const {
  return pem_encode(to_der(), "X509 CRL");
}

long Crl::version() const {
  return X509_CRL_get_version(crl_.get()) + 1;
}

std::string Crl::issuer_der() const {
  const unsigned char* der = nullptr;
  std::size_t length = 0;
  if (X509_NAME_get0_der(X509_CRL_get_issuer(crl_.get()), &der, &length) != 1) {
    throw_openssl_error("cannot encode the CRL issuer");
  }
  return std::string(reinterpret_cast<const char*>(der), length);
}

TimePoint Crl::this_update() const {
  return from_asn1_time(X509_CRL_get0_lastUpdate(crl_.get()));
}

std::optional<TimePoint> Crl::next_update() const {
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl_.get());
  if (next == nullptr) {
    return std::nullopt;
  }
  return from_asn1_time(next);
}

std::optional<std::int64_t> Crl::number() const {
  const Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl_.get(), NID_crl_number, nullptr, nullptr)));
  std::int64_t value = 0;
  if (!number || ASN1_INTEGER_get_int64(&value, number.get()) != 1) {
    clear_openssl_errors();
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Crl::authority_key_id() const {
  const AuthorityKeyIdPtr aki(static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(crl_.get(), NID_authority_key_identifier, nullptr, nullptr)));
  if (!aki || aki->keyid == nullptr) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki->keyid)),
                     static_cast<std::size_t>(ASN1_STRING_length(aki->keyid)));
}

std::vector<RevokedEntry> Crl::entries() const {
  std::vector<RevokedEntry> entries;
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* item = sk_X509_REVOKED_value(revoked, i);
    RevokedEntry entry;
    entry.serial_hex = integer_hex(X509_REVOKED_get0_serialNumber(item));
    entry.revoked_at = from_asn1_time(X509_REVOKED_get0_revocationDate(item));
    const Asn1EnumeratedPtr code(static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(item, NID_crl_reason, nullptr, nullptr)));
    if (code) {
      entry.reason = static_cast<CrlReason>(ASN1_ENUMERATED_get(code.get()));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::optional<RevokedEntry> Crl::find(std::string_view serial_hex) const {
  for (auto& entry : entries()) {
    if (entry.serial_hex == serial_hex) {
      return entry;
    }
  }
  return std::nullopt;
}

bool Crl::signature_valid(const EVP_PKEY* issuer_public_key) const {
  const bool valid = X509_CRL_verify(crl_.get(), const_cast<EVP_PKEY*>(issuer_public_key)) == 1;
  clear_openssl_errors();
  return valid;
}

}  // namespace estfleet::crypto
