#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace estfleet::crypto {

// A cryptographic operation failed or its input was malformed. what() is one sentence that
// names what failed, followed by OpenSSL's reason when it gave one.
class CryptoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws CryptoError("<context>: <first OpenSSL error reason>") and clears OpenSSL's error
// queue so that a later, unrelated failure does not report this one.
[[noreturn]] void throw_openssl_error(std::string_view context);

// Clears OpenSSL's thread-local error queue (after an expected failure was handled).
void clear_openssl_errors() noexcept;

}  // namespace estfleet::crypto
