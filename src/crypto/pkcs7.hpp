#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"

namespace estfleet::crypto {

// DER of a degenerate PKCS#7 SignedData holding `certs` and no signers ("certs-only",
// RFC 7030 §4.1.3 / §4.2.3).
std::string pkcs7_certs_only(const std::vector<Certificate>& certs);

// The certificates of a certs-only PKCS#7 in DER. Throws CryptoError if it is not one.
std::vector<Certificate> parse_pkcs7_certs_only(std::string_view der);

}  // namespace estfleet::crypto
