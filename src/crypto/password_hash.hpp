#pragma once

#include <string>
#include <string_view>

namespace estfleet::crypto {

struct ScryptParams {
  unsigned log2_n = 15;  // N = 32768: about 32 MiB and tens of milliseconds per check
  unsigned r = 8;
  unsigned p = 1;
};

// Self-describing hash: "$scrypt$ln=15,r=8,p=1$<base64 salt>$<base64 hash>" with a random 16-byte
// salt and a 32-byte output.
std::string hash_password(std::string_view password, ScryptParams params = {});

// Recomputes with the parameters stored in `encoded` and compares in constant time. A malformed
// `encoded` verifies nothing (false).
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace estfleet::crypto
