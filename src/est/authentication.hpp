#pragma once

#include <optional>
#include <string>

#include "ca/authority.hpp"
#include "est/credential_cache.hpp"
#include "est/password_check_slots.hpp"
#include "est/profile.hpp"
#include "http/message.hpp"
#include "registry/store.hpp"

namespace estfleet::est {

// Who the request is from, once authenticated.
struct Principal {
  std::string name;    // Basic user name, or the client certificate's subject
  std::string method;  // "basic", "fleet-secret", "tls-client", "basic+tls-client", ...
  // Set when the Basic password was the fleet password of this ThingName: the request may then
  // enroll that name only.
  std::optional<std::string> fleet_thing_name;
};

// Decodes "Authorization: Basic <base64(user-id:password)>"; nullopt when absent or malformed.
// The decoded pair is split twice, because the two kinds of Basic user disagree about colons:
// - a registry user, as RFC 7617 has it: the user-id holds no ':' (`user add` refuses one), the
//   password may, so the split is at the first colon;
// - a device with a fleet password: a ThingName may hold ':' ("line1:DeviceA") but the password,
//   base64url, never does, so the split is at the last colon.
struct BasicCredentials {
  std::string user;            // before the first colon
  std::string password;        // after it
  std::string thing_name;      // before the last colon
  std::string fleet_password;  // after it
};
std::optional<BasicCredentials> parse_basic_authorization(const http::Request& request);

// Authenticates an initial enrollment under `profile`. Throws Refusal: 401 with
// WWW-Authenticate when Basic is accepted and credentials are missing or wrong, 403 when a
// required client certificate is missing or not from the bootstrap trust store. With a fleet
// secret in the profile, a Basic user may also be a ThingName with its derived password.
// `cache` spares the scrypt check for credentials that verified moments ago, and `slots` bounds
// how many run at once (503 past it). `authority` tells this CA's own certificates from a
// manufacturer's (identity_check.hpp).
Principal authenticate_enrollment(const http::Request& request, const http::TlsPeer& peer,
                                  const EnrollmentProfile& profile, registry::Store& store,
                                  const ca::Authority& authority, CredentialCache& cache,
                                  PasswordCheckSlots& slots, crypto::TimePoint now);

}  // namespace estfleet::est
