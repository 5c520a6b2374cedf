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

}  // namespace estfleet::crypto
