// What the timed phase sends, made before the clock starts: keys, CSRs and their bodies.
#pragma once

#include <string>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::bench {

// Eight random hex digits: ThingNames must be new on every run, since a ThingName that holds an
// active certificate cannot enroll again.
std::string random_run_id();

struct Enrollee {
  std::string thing_name;
  crypto::PrivateKey key;
  std::string body;  // base64 of the CSR's DER, in lines of 64 characters
};

// `count` fresh keys, made on `threads` threads (RSA key generation is slow).
std::vector<crypto::PrivateKey> make_keys(std::size_t count, crypto::KeyType type,
                                          unsigned threads);

// `count` devices named bench-<run_id>-<i>, each with a fresh key and its CSR.
std::vector<Enrollee> make_enrollees(std::size_t count, crypto::KeyType type,
                                     const std::string& run_id, unsigned threads);

// A simplereenroll body for `current`: same subject and SAN (RFC 7030 §4.2.2), signed by `key`.
std::string renewal_body(const crypto::Certificate& current, const crypto::PrivateKey& key);

}  // namespace estfleet::bench
