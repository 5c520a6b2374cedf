// The fleet secret as a Basic credential: device NAME's password is
// base64url(HMAC-SHA256(fleet secret, NAME)), so one leaked password enrolls only NAME.
#pragma once

#include <string_view>

namespace estfleet::est {

// Whether `password` is the fleet password of `thing_name`; compared in constant time.
bool is_fleet_password(std::string_view fleet_secret, std::string_view thing_name,
                       std::string_view password);

}  // namespace estfleet::est
