// The crypto floor: the CPU time per operation that the server's public-key work alone costs,
// measured on this machine in the same run, as `openssl speed` would (EVP API, algorithms
// fetched once, one thread, thread CPU time). Measured server CPU per operation divided by it
// says how much the rest (TLS record layer, HTTP, parsing, registry, allocation) adds.
#pragma once

#include <string>
#include <vector>

#include "crypto/key.hpp"

namespace estfleet::bench {

// Which public-key operations one request makes the server do.
struct FloorInputs {
  bool new_connection = false;      // TLS key exchange + handshake signature
  bool enrollment = false;          // CSR verify + certificate sign
  bool client_certificate = false;  // mTLS: CertificateVerify check + certificate chain check
  int key_exchange_nid = 0;         // the group the handshake negotiated
  const EVP_PKEY* server_tls_key = nullptr;  // the server certificate's (public) key
  const EVP_PKEY* issuing_ca_key = nullptr;  // signs the issued certificates
  crypto::KeyType device_key = crypto::KeyType::ec_p256;
};

struct CryptoCost {
  std::string name;  // e.g. "ECDSA P-256 sign (certificate)"
  double us_per_op = 0;
};

struct CryptoFloor {
  std::vector<CryptoCost> parts;       // what one request costs, summed in us_per_op
  std::vector<CryptoCost> references;  // measured for comparison, not part of the sum
  double us_per_op = 0;
};

// Takes about a second. Throws crypto::CryptoError if OpenSSL refuses a primitive.
CryptoFloor measure_crypto_floor(const FloorInputs& inputs);

}  // namespace estfleet::bench
