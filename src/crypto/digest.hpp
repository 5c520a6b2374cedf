#pragma once

#include <string>
#include <string_view>

namespace estfleet::crypto {

std::string sha256(std::string_view data);                                // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view message);  // 32 raw bytes

// Compares two secrets in time that depends only on their lengths; different lengths are unequal.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// `n` bytes from OpenSSL's DRBG, which is seeded from the operating system's RNG.
std::string random_bytes(std::size_t n);

}  // namespace estfleet::crypto
