// The configured CA signing key: ca.key as a PEM file, or as a PKCS#11 URI whose PIN comes from
// ca.pin_file or the environment variable EST_PKCS11_PIN (never from the command line, where
// every user of the machine could read it in /proc, and never logged).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "ca/signer.hpp"
#include "server/config.hpp"

namespace estfleet::server {

inline constexpr const char* kPkcs11PinVariable = "EST_PKCS11_PIN";

// The PIN from `pin_file` (one line; a trailing newline is dropped) when given, else from
// EST_PKCS11_PIN. Throws std::runtime_error when neither holds one, when the file cannot be read,
// or when the file is readable by group or others (the PIN is the key's only protection on a
// software token).
std::string read_pkcs11_pin(const std::optional<std::filesystem::path>& pin_file);

// Where config's CA key is, with the PIN read when it is in a token.
ca::SigningKeySource signing_key_source(const Config& config);

}  // namespace estfleet::server
