#pragma once

#include <optional>
#include <string>

#include "crypto/ossl.hpp"

namespace estfleet::ca {

// Which subject keys the CA certifies: EC P-256 and P-384, RSA 2048 to 4096 bits, Ed25519.
// Returns nullopt for an acceptable key, else one sentence saying why it is refused. RSA above
// 4096 bits is refused too: verifying and signing for such keys is a cheap way to burn our CPU.
std::optional<std::string> refuse_subject_key(const EVP_PKEY* key);

}  // namespace estfleet::ca
