#include "est/authentication.hpp"

#include "crypto/encoding.hpp"
#include "crypto/password_hash.hpp"
#include "est/fleet_secret.hpp"
#include "est/identity_check.hpp"
#include "est/refusal.hpp"

namespace estfleet::est {
namespace {

http::HeaderList basic_challenge() {
  return {{"WWW-Authenticate", R"(Basic realm="est-fleet", charset="UTF-8")"}};
}

// Verifying against this when the user does not exist keeps the response time of an unknown
// user the same as that of a wrong password, so user names cannot be probed.
const std::string& decoy_hash() {
  static const std::string hash = crypto::hash_password("decoy password for unknown users");
  return hash;
}

struct BasicResult {
  bool passed = false;
  std::string user;
  bool by_fleet_secret = false;
};

BasicResult check_basic(const http::Request& request, const EnrollmentProfile& profile,
                        registry::Store& store, CredentialCache& cache, PasswordCheckSlots& slots) {
  const auto credentials = parse_basic_authorization(request);
  if (!credentials) {
    return {};
  }
  // The derivation is one HMAC, so it goes first; registry users keep working as before.
  if (profile.fleet_secret && is_fleet_password(*profile.fleet_secret, credentials->thing_name,
                                                credentials->fleet_password)) {
    return {true, credentials->thing_name, true};
  }
  const auto user = store.find_user(credentials->user);
  if (user && cache.verified_recently(user->name, credentials->password, user->password_hash)) {
    return {true, user->name, false};
  }
  const std::string& stored_hash = user ? user->password_hash : decoy_hash();
  const bool password_ok =
      cache.check_once(credentials->user, credentials->password, stored_hash, [&] {
        const PasswordCheckSlots::Held slot(slots);
        return crypto::verify_password(credentials->password, stored_hash);
      });
  if (!user || !password_ok) {
    return {};
  }
  cache.remember(user->name, credentials->password, user->password_hash);
  return {true, user->name, false};
}

// nullopt when the peer presented a certificate that chains to the bootstrap roots; otherwise
// the reason it does not.
std::optional<std::string> tls_client_problem(const http::TlsPeer& peer,
                                              const EnrollmentProfile& profile,
                                              registry::Store& store,
                                              const ca::Authority& authority, crypto::TimePoint now,
                                              std::string& subject_out) {
  if (peer.peer_chain_der.empty()) {
    return std::string("no TLS client certificate was presented");
  }
  if (!profile.bootstrap_trust) {
    return std::string("this profile has no bootstrap trust store for client certificates");
  }
  try {
    const auto leaf = crypto::Certificate::from_der(peer.peer_chain_der.front());
    std::vector<crypto::Certificate> intermediates;
    for (std::size_t i = 1; i < peer.peer_chain_der.size(); ++i) {
      intermediates.push_back(crypto::Certificate::from_der(peer.peer_chain_der[i]));
    }
    if (auto problem = profile.bootstrap_trust->verify(leaf, intermediates, now)) {
      return "the TLS client certificate is not trusted for bootstrap: " + *problem;
    }
    // A bootstrap store that trusts this CA lets in only its device certificates that may still
    // authenticate: not revoked, superseded or disabled ones, nor its servers' certificates.
    if (auto problem = client_certificate_problem(store, authority, leaf, now)) {
      return *problem;
    }
    subject_out = leaf.subject_text();
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("the TLS client certificate cannot be parsed: ") + e.what();
  }
}

}  // namespace

std::optional<BasicCredentials> parse_basic_authorization(const http::Request& request) {
  const auto header = request.header("Authorization");
  if (!header) {
    return std::nullopt;
  }
  std::string_view value = *header;
  constexpr std::string_view kScheme = "basic ";
  if (value.size() <= kScheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  const auto decoded = crypto::base64_decode(value.substr(kScheme.size()));
  if (!decoded) {
    return std::nullopt;
  }
  const auto first = decoded->find(':');
  if (first == std::string::npos || first == 0) {
    return std::nullopt;
  }
  const auto last = decoded->rfind(':');
  return BasicCredentials{decoded->substr(0, first), decoded->substr(first + 1),
                          decoded->substr(0, last), decoded->substr(last + 1)};
}

Principal authenticate_enrollment(const http::Request& request, const http::TlsPeer& peer,
                                  const EnrollmentProfile& profile, registry::Store& store,
                                  const ca::Authority& authority, CredentialCache& cache,
                                  PasswordCheckSlots& slots, crypto::TimePoint now) {
  const bool wants_basic = profile.accepts(AuthMethod::basic);
  const bool wants_tls = profile.accepts(AuthMethod::tls_client);

  std::string tls_subject;
  std::optional<std::string> tls_problem;
  bool tls_passed = false;
  if (wants_tls) {
    tls_problem = tls_client_problem(peer, profile, store, authority, now, tls_subject);
    tls_passed = !tls_problem;
  }
  // Skip the (deliberately slow) password check when a certificate already suffices.
  const bool need_basic = wants_basic && (profile.require_all_methods || !tls_passed);
  const BasicResult basic =
      need_basic ? check_basic(request, profile, store, cache, slots) : BasicResult{};
  const std::string basic_method = basic.by_fleet_secret ? "fleet-secret" : "basic";
  auto fleet_thing = basic.by_fleet_secret ? std::optional(basic.user) : std::nullopt;

  if (profile.require_all_methods) {
    if (wants_tls && !tls_passed) {
      throw Refusal(403, *tls_problem + "; this profile requires a bootstrap certificate");
    }
    if (wants_basic && !basic.passed) {
      throw Refusal(401, "HTTP Basic credentials are missing or wrong", basic_challenge());
    }
    if (!wants_basic) {
      return Principal{tls_subject, "tls-client", std::nullopt};
    }
    return Principal{basic.user, wants_tls ? basic_method + "+tls-client" : basic_method,
                     std::move(fleet_thing)};
  }
  if (tls_passed) {
    return Principal{tls_subject, "tls-client", std::nullopt};
  }
  if (basic.passed) {
    return Principal{basic.user, basic_method, std::move(fleet_thing)};
  }
  if (wants_basic) {
    const bool had_credentials = request.header("Authorization").has_value();
    throw Refusal(401,
                  had_credentials
                      ? (profile.fleet_secret
                             ? "HTTP Basic credentials are wrong: the password is neither the "
                               "user's nor the fleet password of that ThingName"
                             : "HTTP Basic credentials are wrong")
                      : "authentication is required: send HTTP Basic credentials" +
                            std::string(wants_tls ? " or a bootstrap client certificate" : ""),
                  basic_challenge());
  }
  throw Refusal(403, *tls_problem);
}

}  // namespace estfleet::est
