#include "crypto/error.hpp"

#include <openssl/err.h>

namespace estfleet::crypto {

void throw_openssl_error(std::string_view context) {
  std::string message(context);
  const unsigned long code = ERR_peek_error();
  if (code != 0) {
    if (const char* reason = ERR_reason_error_string(code)) {
      message += ": ";
      message += reason;
    }
  }
  ERR_clear_error();
  throw CryptoError(message);
}

void clear_openssl_errors() noexcept {
  ERR_clear_error();
}

}  // namespace estfleet::crypto
