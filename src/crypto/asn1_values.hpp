// ASN.1 times and serial numbers to and from C++ values, for CRLs and OCSP.
#pragma once

#include <chrono>
#include <string>

#include "crypto/ossl.hpp"

namespace estfleet::crypto {

// Whole seconds since the epoch in UTC. Throws CryptoError when `time` is not a valid time.
std::chrono::system_clock::time_point from_asn1_time(const ASN1_TIME* time);

// UTCTime up to 2049, GeneralizedTime from 2050, as RFC 5280 §4.1.2.5 requires.
Asn1TimePtr to_asn1_time(std::chrono::system_clock::time_point time);

// A serial number as Certificate::serial_hex() prints it: upper-case hex, no leading zeros.
std::string integer_hex(const ASN1_INTEGER* integer);
// The inverse; throws CryptoError naming `hex` when it is empty or not hexadecimal.
Asn1IntegerPtr integer_from_hex(const std::string& hex);

}  // namespace estfleet::crypto
