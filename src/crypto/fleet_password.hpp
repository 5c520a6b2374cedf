// Fleet secrets replace a shared symmetric key: the Basic password of device NAME is
// base64url(HMAC-SHA256(fleet secret, NAME)), so one leaked device password enrolls only NAME.
#pragma once

#include <string>
#include <string_view>

namespace estfleet::crypto {

// The secret is used as given (its text bytes); derive on the factory station, verify on the
// server with constant_time_equal.
std::string derive_fleet_password(std::string_view fleet_secret, std::string_view thing_name);

// A new fleet secret: 32 bytes from the OS RNG, base64url (43 characters).
std::string generate_fleet_secret();

}  // namespace estfleet::crypto
