#include <string>

#include "policy/action.hpp"
#include "policy/policy_template.hpp"
#include "server/config.hpp"

namespace estfleet::server {
namespace {

// One `Action = ["pattern", ...]` line per action the patterns name, in kAllActions order.
std::string toml_patterns(const policy::ResourcePatterns& patterns) {
  std::string text;
  for (const auto action : policy::kAllActions) {
    const auto found = patterns.find(action);
    if (found == patterns.end()) {
      continue;
    }
    text += std::string(policy::to_string(action)) + " = [";
    for (std::size_t i = 0; i < found->second.size(); ++i) {
      text += (i == 0 ? "\"" : ", \"") + found->second[i] + "\"";
    }
    text += "]\n";
  }
  return text;
}

}  // namespace

std::string default_config_text() {
  const auto policy_template = policy::default_template();
  return R"(# est-fleet server configuration (written by `est-server init`).
# Relative paths are relative to this file's folder. Unknown keys are refused.
# Durations: a number with s, m, h or d (90s, 15m, 12h, 365d).

[server]
listen = "127.0.0.1:8443"   # `est-server serve --listen` overrides it
threads = 0                 # io threads; 0 = one per core
handshake_timeout = "10s"   # TLS handshake must finish within this
header_timeout = "10s"      # a request's headers must arrive within this
body_timeout = "30s"        # and its body within this
idle_timeout = "60s"        # keep-alive connections idle longer are closed
write_timeout = "30s"
max_header_bytes = 8192     # larger headers: 431
max_body_bytes = 65536      # larger bodies: 413
max_connections = 20000     # connections beyond this are closed on accept

[tls]
certificate = "tls/server.pem"  # server certificate, then the issuing CA
key = "tls/server.key"

[ca]
key = "ca/issuing.key"          # the issuing CA's private key (0600)
chain = "ca/chain.pem"          # issuing CA, then the root (ca/root.pem is what devices trust)

[database]
url = "sqlite:///registry.db"

# Revocation. The issuing CA signs a CRL (served at GET /crl, written to crl/crl.der and
# crl/crl.pem) on every revocation and at half its validity; the OCSP responder answers at
# POST /ocsp and GET /ocsp/<request>. Uncomment the URLs to write them into issued certificates.
[crl]
validity = "1d"             # nextUpdate - thisUpdate
# distribution_point = "https://est.example.com:8443/crl"

[ocsp]
validity = "1h"             # nextUpdate - thisUpdate of each OCSP answer
# url = "https://est.example.com:8443/ocsp"

# The plain-HTTP operations listener: /metrics (Prometheus), /healthz, /readyz. Off unless listen
# is set (or serve --metrics-listen); keep it on loopback or a private network: no TLS, no auth.
[metrics]
# listen = "127.0.0.1:9443"

# Failed authentications per source address (token bucket): after auth_failure_burst failures
# in a row, a source may fail auth_failures_per_minute times a minute; beyond that its
# enrollments are answered 429 with Retry-After, before its credentials are checked.
[limits]
auth_failures_per_minute = 10   # 0 turns the limit off
auth_failure_burst = 30
auth_tracked_sources = 100000   # addresses remembered at most; the least recent is forgotten

# One table per enrollment profile. [profiles.default] serves /.well-known/est/<operation>;
# [profiles.NAME] serves /.well-known/est/NAME/<operation>.
[profiles.default]
auth = ["basic"]            # "basic" (users from `est-server user add`), "tls-client", or both
auth_mode = "any"           # with both: "any" one suffices, "all" requires each
require_pop = false         # require the TLS channel binding in the CSR's challengePassword
validity = "365d"
backdate = "5m"             # notBefore this far in the past, for device clock skew
superseded_grace = "0s"     # a renewed certificate stays good for relying parties this long
allowed_san = ["dns", "ip", "uri"]
# bootstrap_trust = "bootstrap/manufacturer-roots.pem"   # required with "tls-client"
# Basic also accepts user = ThingName, password = base64url(HMAC-SHA256(secret, ThingName));
# `est-server fleet secret` prints the secret, `est-server fleet password NAME` one password.
fleet_secret_file = ")" +
         std::string(kDefaultFleetSecretFile) +
         R"("   # 0600
# thing_name_pattern = "^sensor-[0-9]{6}$"   # ECMAScript regex the whole ThingName must match
approval = "automatic"      # "manual": initial enrollments wait for `est-server approve NAME`
retry_after = "60s"         # the Retry-After of a 202 while an enrollment awaits approval
allowed_attributes = ["Region"]   # device attributes a CSR may set on its thing

# The most a device may ask for in the IoT details of its CSR: per action, resource patterns with
# ${ThingName} (the device's own name) and '*' / '?' wildcards. A request beyond them is refused
# (403) naming the entry. This one allows only resources that hold the device's own name as a
# whole path segment, plus Receive/Subscribe on broadcast.
[profiles.default.policy_template]
)" + toml_patterns(policy_template.allowed) +
         R"(
# What a device whose CSR carries no IoT details gets: Allow on each resource.
[profiles.default.default_policy]
)" + toml_patterns(policy_template.default_grants);
}

}  // namespace estfleet::server
