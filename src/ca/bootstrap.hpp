// Creating a CA from nothing: a self-signed root and an issuing CA below it.
#pragma once

#include <chrono>
#include <string>

#include "crypto/certificate.hpp"
#include "crypto/key.hpp"

namespace estfleet::ca {

struct NewCaOptions {
  std::string organization = "est-fleet";
  std::string root_common_name = "est-fleet Root CA";
  std::string issuing_common_name = "est-fleet Issuing CA";
  // The root is rarely used and long-lived, so it gets the stronger curve; the issuing CA signs
  // every enrollment, so it gets the faster one.
  crypto::KeyType root_key_type = crypto::KeyType::ec_p384;
  crypto::KeyType issuing_key_type = crypto::KeyType::ec_p256;
  std::chrono::seconds root_validity{std::chrono::hours(24 * 365 * 20)};
  std::chrono::seconds issuing_validity{std::chrono::hours(24 * 365 * 10)};
};

struct NewCa {
  crypto::PrivateKey root_key;
  crypto::Certificate root;
  crypto::PrivateKey issuing_key;
  crypto::Certificate issuing;
};

NewCa create_ca(const NewCaOptions& options, crypto::TimePoint now);

// The same with an issuing key the caller already has (one generated inside a PKCS#11 token):
// options.issuing_key_type is then unused, and NewCa::issuing_key is `issuing_key`.
NewCa create_ca(const NewCaOptions& options, crypto::TimePoint now, crypto::PrivateKey issuing_key);

}  // namespace estfleet::ca
