#pragma once

#include <string>
#include <string_view>

#include "crypto/error.hpp"

namespace estfleet::crypto {

// Encodes `object` with its OpenSSL i2d function (i2d_X509, i2d_PKCS7, ...) into a byte string.
// Throws CryptoError("cannot encode <what>") if OpenSSL refuses.
template <class T, class I2d>
std::string encode_der(T* object, I2d i2d, std::string_view what) {
  const int size = i2d(object, nullptr);
  if (size <= 0) {
    throw_openssl_error("cannot encode " + std::string(what));
  }
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d(object, &out);
  return der;
}

// The DER length octets of a content of `length` bytes (short form below 128, else long form).
inline std::string der_length(std::size_t length) {
  if (length < 0x80) {
    return std::string(1, static_cast<char>(length));
  }
  std::string octets(1, '\0');  // the count, set below
  for (int shift = static_cast<int>(sizeof length - 1) * 8; shift >= 0; shift -= 8) {
    const auto octet = static_cast<unsigned char>((length >> shift) & 0xFF);
    if (octet != 0 || octets.size() > 1) {
      octets.push_back(static_cast<char>(octet));
    }
  }
  octets[0] = static_cast<char>(0x80 | (octets.size() - 1));
  return octets;
}

// One DER element: the identifier octet `tag`, the length, `content`.
inline std::string der_element(unsigned char tag, std::string_view content) {
  std::string element(1, static_cast<char>(tag));
  element += der_length(content.size());
  element += content;
  return element;
}

}  // namespace estfleet::crypto
