#include "ca/serial.hpp"

#include "crypto/digest.hpp"

namespace estfleet::ca {

std::string random_serial() {
  std::string serial = crypto::random_bytes(16);
  serial[0] = static_cast<char>((static_cast<unsigned char>(serial[0]) & 0x7F) | 0x40);
  return serial;
}

}  // namespace estfleet::ca
