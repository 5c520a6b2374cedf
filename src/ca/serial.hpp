#pragma once

#include <string>

namespace estfleet::ca {

// A fresh certificate serial: 16 bytes from the OS-seeded DRBG with the top bit cleared (so the
// DER INTEGER is positive) and the next bit set (so it always has 16 significant bytes):
// 126 bits of entropy, well above CA/B Forum's 64, and within RFC 5280's 20 octets.
std::string random_serial();

}  // namespace estfleet::ca
