#include "crypto/asn1_values.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "crypto/error.hpp"

namespace estfleet::crypto {

std::chrono::system_clock::time_point from_asn1_time(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    throw_openssl_error("an ASN.1 time is not valid");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Asn1TimePtr to_asn1_time(std::chrono::system_clock::time_point time) {
  Asn1TimePtr value(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(time)));
  if (!value) {
    throw_openssl_error("cannot encode a time");
  }
  return value;
}

std::string integer_hex(const ASN1_INTEGER* integer) {
  const BignumPtr bn(ASN1_INTEGER_to_BN(integer, nullptr));
  if (!bn) {
    throw_openssl_error("cannot read a serial number");
  }
  const OpensslCharsPtr hex(BN_bn2hex(bn.get()));
  if (!hex) {
    throw_openssl_error("cannot print a serial number");
  }
  return std::string(hex.get());
}

Asn1IntegerPtr integer_from_hex(const std::string& hex) {
  const bool is_hex = !hex.empty() && std::all_of(hex.begin(), hex.end(), [](unsigned char c) {
    return std::isxdigit(c) != 0;
  });
  BIGNUM* raw = nullptr;
  const int used = is_hex ? BN_hex2bn(&raw, hex.c_str()) : 0;
  const BignumPtr bn(raw);
  if (used != static_cast<int>(hex.size()) || !bn) {
    clear_openssl_errors();
    throw CryptoError("'" + hex + "' is not a hexadecimal serial number");
  }
  Asn1IntegerPtr value(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!value) {
    throw_openssl_error("cannot encode serial " + hex);
  }
  return value;
}

}  // namespace estfleet::crypto
