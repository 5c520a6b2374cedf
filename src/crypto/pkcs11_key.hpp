// Private keys that live in a PKCS#11 token (an HSM; SoftHSM2 in tests). Such a key never leaves
// its token: OpenSSL signs with it through the pkcs11 engine (libengine-pkcs11-openssl, libp11),
// which turns each signature into C_Sign calls on the token. Keys are named by RFC 7512 URIs:
//   pkcs11:token=est-fleet;object=issuing-ca
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/key.hpp"

namespace estfleet::crypto {

// Debian's SoftHSM2 module: the default, so tests and a first deployment need no setting.
inline constexpr const char* kDefaultPkcs11Module = "/usr/lib/softhsm/libsofthsm2.so";

// The part of RFC 7512 that names one private key: the token's label and the key's label
// (CKA_LABEL) and/or id (CKA_ID). The PIN is never part of the URI (pin-value would put a secret
// into a config file and into logs); it comes from Pkcs11Access.
struct Pkcs11Uri {
  std::string token;
  std::optional<std::string> object;  // CKA_LABEL
  std::optional<std::string> id;      // CKA_ID, raw bytes

  // Whether `text` is meant as a PKCS#11 URI (starts with "pkcs11:"), rather than a file path.
  static bool looks_like(std::string_view text);
  // Throws std::invalid_argument naming the attribute that is wrong: a missing token, neither
  // object nor id, type other than "private", a PIN or other query attribute, an unknown
  // attribute, bad percent-encoding.
  static Pkcs11Uri parse(std::string_view text);

  // The canonical URI (percent-encoded, type=private), which is also what the engine is given.
  std::string to_string() const;
  // "object 'issuing-ca' in PKCS#11 token 'est-fleet'", for messages.
  std::string describe() const;
};

// How to reach a token: the module (the vendor's PKCS#11 library) and the user PIN.
struct Pkcs11Access {
  std::filesystem::path module = kDefaultPkcs11Module;
  std::string pin;  // a secret: never logged, never put into a message
};

// Loads the private key `uri` names, as an EVP_PKEY whose signatures are made inside the token.
// X509_sign, X509_CRL_sign, OCSP_basic_sign and EVP_DigestSign all work with it, from any number
// of threads at once (libp11 takes a session from its per-slot pool for each operation).
// Throws CryptoError with one sentence naming the token: module that does not load, no token
// with that label, wrong or locked PIN, no such private key.
// One process uses one PKCS#11 module: asking for a second one throws.
PrivateKey load_pkcs11_private_key(const Pkcs11Uri& uri, const Pkcs11Access& access);

// Generates a key pair inside the token with C_GenerateKeyPair: the private key is CKA_TOKEN,
// CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE and may only sign, so it never exists outside the
// token; the public key is stored beside it with the same label and id (a fresh random id when
// the URI names none: the engine pairs the two by id). EC P-256/P-384 and RSA only (Ed25519 is
// refused: the pkcs11 engine cannot sign with it). Throws CryptoError when the token already
// holds a private key with that label or id, and for the errors load_pkcs11_private_key names.
// Returns the URI of the new key (with its id).
Pkcs11Uri generate_pkcs11_key(const Pkcs11Uri& uri, const Pkcs11Access& access, KeyType type);

// Whether `key` is held by an engine (a token), so its private half cannot be written out:
// PrivateKey::to_pem refuses such keys instead of writing a key whose scalar reads as zero.
bool is_token_key(const EVP_PKEY* key);

// What the token says about a private key: its protection attributes, and whether the token gave
// out its secret value when asked (C_GetAttributeValue on CKA_VALUE / CKA_PRIVATE_EXPONENT).
struct Pkcs11KeyProtection {
  bool sensitive = false;
  bool extractable = true;
  bool always_sensitive = false;
  bool never_extractable = false;
  bool value_readable = true;
};
Pkcs11KeyProtection inspect_pkcs11_key(const Pkcs11Uri& uri, const Pkcs11Access& access);

}  // namespace estfleet::crypto
