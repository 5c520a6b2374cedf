// Where the CA's signing key lives: a PEM file (the key is loaded into memory), or a PKCS#11 token
// (the key never leaves it; every signature is made by the token, through OpenSSL's pkcs11
// engine). Either way the result is a crypto::PrivateKey that X509_sign, X509_CRL_sign and
// OCSP_basic_sign accept, so the Authority, the CRL and the OCSP responder sign the same way.
//
// Threads: a token key is signed with from the server's whole handler pool at once, without a
// lock of ours. libp11 (0.4.12, Debian 12) takes a session from a per-slot pool for each
// operation (opening more up to the token's session limit, waiting when it is reached) and
// initialises the module with CKF_OS_LOCKING_OK; SoftHSM2 is thread-safe under it. The unit test
// Pkcs11Key.SignsFromManyThreadsAtOnce and the multi-instance test exercise it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "ca/authority.hpp"
#include "crypto/key.hpp"
#include "crypto/pkcs11_key.hpp"

namespace estfleet::ca {

struct SigningKeySource {
  std::filesystem::path file;                  // the PEM file, when the key is not in a token
  std::optional<crypto::Pkcs11Uri> token_key;  // the key in a token (then `file` is unused)
  crypto::Pkcs11Access access;                 // module and PIN for token_key

  // "ca/issuing.key" or "object 'issuing-ca' in PKCS#11 token 'est-fleet'": never the PIN.
  std::string describe() const;
};

// Loads the key. Throws std::runtime_error naming the file or the token and what is wrong.
crypto::PrivateKey open_signing_key(const SigningKeySource& source);

// Authority::load for a key from either source: the key, then the chain PEM (issuing CA first,
// root last). Throws std::runtime_error naming the key source or the file and the problem (a key
// that does not match the chain's first certificate, ...).
Authority load_authority(const SigningKeySource& key, const std::filesystem::path& chain_file);

}  // namespace estfleet::ca
