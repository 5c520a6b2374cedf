#include "broker/dynsec_bootstrap.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "policy/text.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::broker {

std::string dynsec_password_hash(std::string_view password, std::string_view salt, int iterations) {
  if (iterations < 1) {
    throw std::invalid_argument("dynsec password iterations must be at least 1");
  }
  std::string hash(64, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha512(),
                        static_cast<int>(hash.size()),
                        reinterpret_cast<unsigned char*>(hash.data())) != 1) {
    throw std::runtime_error("PBKDF2-HMAC-SHA512 failed");
  }
  return crypto::base64_encode(hash);
}

std::string dynsec_bootstrap_json(std::string_view admin_username,
                                  std::string_view admin_password) {
  if (admin_username.empty() || policy::has_control_character(admin_username)) {
    throw std::invalid_argument("the broker admin username is empty or holds a control character");
  }
  if (policy::is_valid_thing_name(admin_username)) {
    throw std::invalid_argument("the broker admin username '" + std::string(admin_username) +
                                "' is a valid ThingName, so a device could log in as the admin; "
                                "use a name with a character such as '.'");
  }
  if (admin_password.empty() || policy::has_control_character(admin_password)) {
    throw std::invalid_argument("the broker admin password is empty or holds a control character");
  }
  const auto salt = crypto::random_bytes(kDynsecSaltBytes);
  const std::string control = "$CONTROL/dynamic-security/#";
  auto acl = [&](const char* type) {
    return nlohmann::ordered_json{{"acltype", type}, {"topic", control}, {"allow", true}};
  };
  const nlohmann::ordered_json config = {
      {"clients",
       {{{"username", std::string(admin_username)},
         {"textName", "est-fleet broker administration"},
         {"password", dynsec_password_hash(admin_password, salt, kDynsecPasswordIterations)},
         {"salt", crypto::base64_encode(salt)},
         {"iterations", kDynsecPasswordIterations},
         {"roles", {{{"rolename", kDynsecAdminRole}}}}}}},
      {"groups", nlohmann::ordered_json::array()},
      {"roles",
       {{{"rolename", kDynsecAdminRole},
         {"acls",
          {acl("publishClientSend"), acl("publishClientReceive"), acl("subscribePattern"),
           acl("unsubscribePattern")}}}}},
      {"defaultACLAccess",
       {{"publishClientSend", false},
        {"publishClientReceive", false},
        {"subscribe", false},
        {"unsubscribe", false}}},
  };
  return config.dump(1, '\t') + "\n";
}

}  // namespace estfleet::broker
