#include "crypto/fleet_password.hpp"

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::crypto {

std::string derive_fleet_password(std::string_view fleet_secret, std::string_view thing_name) {
  return base64url_encode(hmac_sha256(fleet_secret, thing_name));
}

std::string generate_fleet_secret() {
  return base64url_encode(random_bytes(32));
}

}  // namespace estfleet::crypto
