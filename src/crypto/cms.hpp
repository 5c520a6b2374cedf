// CMS (RFC 5652) SignedData and EnvelopedData over OpenSSL 3, for server-generated keys
// (RFC 7030 §4.4.2): the key is signed by whoever generated it and enveloped to the client's key.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::crypto {

inline constexpr const char* kSignedDataOid = "1.2.840.113549.1.7.2";

// DER ContentInfo of a SignedData that encapsulates `content` as `content_type_oid` (dotted),
// signed by `signer` with `signer_key` (SHA-256, or SHA-384 for P-384 keys) and carrying the
// signer's certificate. Throws CryptoError.
std::string cms_sign(std::string_view content, const std::string& content_type_oid,
                     const Certificate& signer, const EVP_PKEY* signer_key);

// What cms_verify found: the encapsulated content, its type and the signing certificate.
struct SignedContent {
  std::string content;
  std::string content_type_oid;
  Certificate signer;
};

// Verifies the one signature of a DER SignedData against the certificate it carries. Whether that
// certificate may sign is the caller's question. Throws CryptoError naming what failed.
SignedContent cms_verify(std::string_view der);

// DER ContentInfo of an EnvelopedData holding `content` (typed `content_type_oid`) under
// AES-256-CBC for `recipient`: key transport for RSA keys, ECDH key agreement for EC keys. The
// recipient is identified by its subjectKeyIdentifier, which it must have. Throws CryptoError
// (an Ed25519 key cannot receive anything).
std::string cms_envelope(std::string_view content, const std::string& content_type_oid,
                         const Certificate& recipient);

struct EnvelopedContent {
  std::string content;
  std::string content_type_oid;
};

// Opens a DER EnvelopedData with the recipient's private key (and its certificate, which picks
// the right RecipientInfo when given). Throws CryptoError when it is no EnvelopedData or the key
// does not open it.
EnvelopedContent cms_decrypt(std::string_view der, const PrivateKey& key,
                             const Certificate* recipient = nullptr);

}  // namespace estfleet::crypto
