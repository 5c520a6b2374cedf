// The EST protocol as a pure function of (request, TLS facts) to response: routing, media types,
// authentication, proof of possession and the re-enrollment identity rules. No sockets.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ca/authority.hpp"
#include "est/credential_cache.hpp"
#include "est/password_check_slots.hpp"
#include "est/profile.hpp"
#include "est/route.hpp"
#include "http/message.hpp"
#include "registry/store.hpp"

namespace estfleet::est {

using Clock = std::function<crypto::TimePoint()>;

// A response plus what the access log should say about it.
struct Outcome {
  http::Response response;
  std::string thing_name;
  std::string serial;
  std::string principal;
  // The authentication method whose credentials were refused ("basic" or "tls-client"; for
  // metrics), empty when authentication passed or was not reached.
  std::string auth_failure = {};
  // An enrollment or renewal answered with the certificate of an earlier one whose answer was
  // lost: a 200 that issued nothing (for metrics).
  bool repeated = false;
  // What the server's log says beyond the response, never sent to the client (why the registry
  // was unavailable, with its server address and user).
  std::string log_detail = {};
};

class EstService {
 public:
  // Throws std::invalid_argument if two profiles share a label or a tls-client profile has no
  // bootstrap trust store.
  EstService(const ca::Authority& authority, registry::Store& store,
             std::vector<EnrollmentProfile> profiles, Clock clock);

  // Told once, as soon as an enrollment's authentication is decided (before anything is signed),
  // whether the credentials were refused: the failed-login limiter holds a token only that long.
  using AuthenticationDecided = std::function<void(bool refused)>;

  // Never throws: every failure becomes an error response.
  Outcome handle(const http::Request& request, const http::TlsPeer& peer,
                 const AuthenticationDecided& decided = {}) const;

 private:
  struct Attempt;
  Outcome dispatch(const http::Request& request, const http::TlsPeer& peer, const Route& route,
                   const EnrollmentProfile& profile, Attempt& attempt) const;
  // simpleenroll, and serverkeygen (`server_keygen`): the same checks, another key and answer.
  Outcome enroll(const http::Request& request, const http::TlsPeer& peer,
                 const EnrollmentProfile& profile, Attempt& attempt,
                 bool server_keygen = false) const;
  Outcome reenroll(const http::Request& request, const http::TlsPeer& peer,
                   const EnrollmentProfile& profile, Attempt& attempt) const;
  void audit_refusal(const Attempt& attempt, const std::string& reason) const;

  const ca::Authority& authority_;
  registry::Store& store_;
  std::map<std::string, EnrollmentProfile, std::less<>> profiles_;
  Clock clock_;
  // Built once: the chain never changes while serving. During a CA rollover's transition the
  // answer also carries OldWithNew and NewWithOld; afterwards the chain alone.
  std::string cacerts_der_;
  std::string cacerts_transition_der_;
  std::map<std::string, std::string, std::less<>> csrattrs_der_;
  mutable CredentialCache credentials_;  // handle() is const; the cache is its only memory
  mutable PasswordCheckSlots password_slots_;
};

}  // namespace estfleet::est
