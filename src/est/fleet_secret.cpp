#include "est/fleet_secret.hpp"

#include "crypto/digest.hpp"
#include "crypto/fleet_password.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::est {

bool is_fleet_password(std::string_view fleet_secret, std::string_view thing_name,
                       std::string_view password) {
  // Only a ThingName can be a device's user name, and an empty secret would be guessable.
  if (fleet_secret.empty() || !policy::is_valid_thing_name(thing_name)) {
    return false;
  }
  return crypto::constant_time_equal(crypto::derive_fleet_password(fleet_secret, thing_name),
                                     password);
}

}  // namespace estfleet::est
