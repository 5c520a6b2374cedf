// Plain signatures over a message with any key type the project uses (RSA PKCS#1 v1.5, ECDSA,
// Ed25519), with the digest signature_digest_for() picks.
#pragma once

#include <string>
#include <string_view>

#include "crypto/ossl.hpp"

namespace estfleet::crypto {

// The DER signature of `message` by `key`. Throws CryptoError when the key cannot sign.
std::string sign_message(const EVP_PKEY* key, std::string_view message);

// Whether `signature` is `key`'s signature of `message`. Never throws: malformed input is false.
bool verify_message(const EVP_PKEY* key, std::string_view message, std::string_view signature);

}  // namespace estfleet::crypto
