// The pieces of RFC 7030 §4.4 server-side key generation that are plain ASN.1: PKCS#8 private
// keys, the AsymmetricKeyPackage (RFC 5958) that an enveloped key travels in, and the CSR
// attributes by which a client names the key to encrypt to (§4.4.1.1, §4.4.1.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto {

inline constexpr const char* kDecryptKeyIdentifierOid = "1.2.840.113549.1.9.16.2.37";
inline constexpr const char* kAsymmetricDecryptKeyIdentifierOid = "1.2.840.113549.1.9.16.2.54";
inline constexpr const char* kAsymmetricKeyPackageOid = "2.16.840.1.101.2.1.2.78.5";

// DER PKCS#8 PrivateKeyInfo (unencrypted), and its inverse (throws CryptoError).
std::string pkcs8_der(const PrivateKey& key);
PrivateKey private_key_from_pkcs8(std::string_view der);

// AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey, with the one key. The
// inverse throws CryptoError unless the package holds exactly one key.
std::string key_package_der(const PrivateKey& key);
PrivateKey private_key_from_key_package(std::string_view der);

// A CMS ContentInfo's content (the [0] EXPLICIT value, e.g. a bare SignedData), and the inverse:
// a ContentInfo of `content_type_oid` around `content`. Nested CMS content travels bare (RFC 5652
// §5.2), while OpenSSL reads and writes ContentInfo. Throws CryptoError.
std::string content_info_content(std::string_view content_info_der);
std::string content_info(const std::string& content_type_oid, std::string_view content_der);

// The generated-key type matching an existing key ("the same kind of key as the CSR's"), or
// nullopt for a key of no type this project generates.
std::optional<KeyType> key_type_of(const EVP_PKEY* key);

// The subjectKeyIdentifier of a certificate, raw bytes, or nullopt when it has none.
std::optional<std::string> subject_key_identifier(const Certificate& cert);

// Adds an attribute `oid` whose single value is the KeyIdentifier (OCTET STRING) `key_id` to the
// CSR and signs it again with `key` (the CSR's own). Throws CryptoError.
void add_key_identifier_attribute(CertificateRequest& csr, const std::string& oid,
                                  std::string_view key_id, const PrivateKey& key);

// The KeyIdentifier carried by attribute `oid` of the CSR: nullopt when the attribute is absent.
// Throws CryptoError when it is present but not exactly one attribute with one OCTET STRING.
std::optional<std::string> key_identifier_attribute(const CertificateRequest& csr,
                                                    const std::string& oid);

}  // namespace estfleet::crypto
