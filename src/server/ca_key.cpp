#include "server/ca_key.hpp"

#include <cstdlib>
#include <stdexcept>

#include "common/files.hpp"

namespace estfleet::server {

namespace fs = std::filesystem;

std::string read_pkcs11_pin(const std::optional<fs::path>& pin_file) {
  std::string pin;
  if (pin_file) {
    std::error_code error;
    const auto status = fs::status(*pin_file, error);
    if (error || !fs::is_regular_file(status)) {
      throw std::runtime_error("the PKCS#11 PIN file " + pin_file->string() + " does not exist");
    }
    constexpr auto kOthers = fs::perms::group_all | fs::perms::others_all;
    if ((status.permissions() & kOthers) != fs::perms::none) {
      throw std::runtime_error("the PKCS#11 PIN file " + pin_file->string() +
                               " is readable by group or others; chmod 600 it");
    }
    pin = common::read_file(*pin_file);
    while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) {
      pin.pop_back();
    }
    if (pin.empty()) {
      throw std::runtime_error("the PKCS#11 PIN file " + pin_file->string() + " is empty");
    }
    return pin;
  }
  if (const char* value = std::getenv(kPkcs11PinVariable); value != nullptr && *value != '\0') {
    return value;
  }
  throw std::runtime_error(std::string("the CA key is in a PKCS#11 token, but no PIN was given: "
                                       "set ca.pin_file or the environment variable ") +
                           kPkcs11PinVariable);
}

ca::SigningKeySource signing_key_source(const Config& config) {
  ca::SigningKeySource source;
  source.file = config.ca_key;
  if (config.ca_key_pkcs11) {
    source.token_key = config.ca_key_pkcs11;
    source.access.module = config.pkcs11_module;
    source.access.pin = read_pkcs11_pin(config.ca_pin_file);
  }
  return source;
}

}  // namespace estfleet::server
