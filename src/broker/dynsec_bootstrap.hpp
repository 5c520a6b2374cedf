// The dynamic-security plugin's initial configuration file (plugin_opt_config_file): one admin
// client that may drive the $CONTROL API, and deny-by-default for every ACL type.
#pragma once

#include <string>
#include <string_view>

namespace estfleet::broker {

// The dynsec role the admin client holds, and the password iterations the plugin uses itself.
inline constexpr const char* kDynsecAdminRole = "est-fleet-admin";
inline constexpr int kDynsecPasswordIterations = 101;
inline constexpr std::size_t kDynsecSaltBytes = 12;
// A suggested admin username. It is not a valid ThingName (it holds a '.'), so no device
// certificate can ever log in as the admin on the certificate listener.
inline constexpr const char* kDefaultDynsecAdminUsername = "est-fleet.admin";

// The JSON text of dynamic-security.json: client `admin_username` with `admin_password` hashed as
// the plugin does (PBKDF2-HMAC-SHA512, 64-byte hash, 12-byte salt from the OS RNG, both base64,
// 101 iterations), holding the admin role (publish, receive, subscribe and unsubscribe on
// $CONTROL/dynamic-security/# only), and defaultACLAccess deny for publishClientSend,
// publishClientReceive, subscribe and unsubscribe. Throws std::invalid_argument for an empty
// username or password, one with control characters, or a username that is a valid ThingName (a
// device whose certificate CN equals the admin's username would log in with the admin's roles).
std::string dynsec_bootstrap_json(std::string_view admin_username, std::string_view admin_password);

// The plugin's hash of `password` with `salt`: base64(PBKDF2-HMAC-SHA512(password, salt,
// iterations, 64 bytes)). Exposed for tests.
std::string dynsec_password_hash(std::string_view password, std::string_view salt, int iterations);

}  // namespace estfleet::broker
