#pragma once

#include <optional>
#include <string>

#include "est/credential_cache.hpp"
#include "est/profile.hpp"
#include "http/message.hpp"
#include "registry/store.hpp"

namespace estfleet::est {

// Who the request is from, once authenticated.
struct Principal {
  std::string name;    // Basic user name, or the client certificate's subject
  std::string method;  // "basic", "tls-client", "basic+tls-client"
};

// Decodes "Authorization: Basic <base64(user:password)>"; nullopt when absent or malformed.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> parse_basic_authorization(const http::Request& request);

// Authenticates an initial enrollment under `profile`. Throws Refusal: 401 with
// WWW-Authenticate when Basic is accepted and credentials are missing or wrong, 403 when a
// required client certificate is missing or not from the bootstrap trust store.
// `cache` spares the scrypt check for credentials that verified moments ago.
Principal authenticate_enrollment(const http::Request& request, const http::TlsPeer& peer,
                                  const EnrollmentProfile& profile, registry::Store& store,
                                  CredentialCache& cache, crypto::TimePoint now);

}  // namespace estfleet::est
