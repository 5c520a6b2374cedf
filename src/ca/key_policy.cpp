#include "ca/key_policy.hpp"

#include "crypto/key.hpp"

namespace estfleet::ca {

std::optional<std::string> refuse_subject_key(const EVP_PKEY* key) {
  // OpenSSL parses a SubjectPublicKeyInfo it cannot decode (unknown algorithm, damaged key bits)
  // into a request without a key rather than failing: that is a refusal, not a key to describe.
  if (key == nullptr) {
    return "the public key cannot be read: its algorithm is not supported or its encoding is "
           "damaged";
  }
  const crypto::KeyDescription d = crypto::describe_key(key);
  if (d.algorithm == "RSA") {
    if (d.bits < 2048) {
      return "RSA key of " + std::to_string(d.bits) +
             " bits is too weak; at least 2048 are required";
    }
    if (d.bits > 4096) {
      return "RSA key of " + std::to_string(d.bits) + " bits is larger than the 4096 accepted";
    }
    return std::nullopt;
  }
  if (d.algorithm == "EC") {
    if (d.curve == "prime256v1" || d.curve == "secp384r1") {
      return std::nullopt;
    }
    return "EC curve " + (d.curve.empty() ? std::string("(explicit parameters)") : d.curve) +
           " is not accepted; use P-256 or P-384";
  }
  if (d.algorithm == "ED25519") {
    return std::nullopt;
  }
  return "key algorithm " + d.algorithm + " is not accepted; use EC P-256/P-384, RSA or Ed25519";
}

}  // namespace estfleet::ca
