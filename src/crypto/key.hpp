#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/ossl.hpp"

namespace estfleet::crypto {

enum class KeyType { ec_p256, ec_p384, rsa_2048, rsa_3072, rsa_4096, ed25519 };

// "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519".
std::optional<KeyType> parse_key_type(std::string_view name);
std::string_view key_type_name(KeyType type);

// What a public key is, for policy checks and messages: algorithm "RSA", "EC", "ED25519", ...;
// bits is the modulus or field size; curve is the EC group's short name ("prime256v1") or empty.
struct KeyDescription {
  std::string algorithm;
  int bits = 0;
  std::string curve;
  std::string to_string() const;  // "EC P-256", "RSA 2048", "ED25519"
};
KeyDescription describe_key(const EVP_PKEY* key);

// The digest a signature by this key uses: SHA-384 for P-384, none (nullptr) for Ed25519,
// SHA-256 otherwise.
const EVP_MD* signature_digest_for(const EVP_PKEY* key);

// An owned private key (which also holds its public half).
class PrivateKey {
 public:
  // Generates a fresh key with OpenSSL's OS-seeded RNG.
  static PrivateKey generate(KeyType type);
  // PKCS#8 or traditional PEM, unencrypted. Throws CryptoError naming the problem.
  static PrivateKey from_pem(std::string_view pem);

  explicit PrivateKey(PkeyPtr key);

  std::string to_pem() const;          // unencrypted PKCS#8 "PRIVATE KEY"
  std::string public_key_der() const;  // SubjectPublicKeyInfo DER
  EVP_PKEY* get() const noexcept { return key_.get(); }

 private:
  PkeyPtr key_;
};

// DER SubjectPublicKeyInfo of any key (public or private).
std::string public_key_der(const EVP_PKEY* key);

}  // namespace estfleet::crypto
