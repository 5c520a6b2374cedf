// est-server.toml: one file per data folder. Unknown keys are errors, not silently ignored, so a
// typo in a security setting cannot pass unnoticed.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/key.hpp"
#include "crypto/pkcs11_key.hpp"
#include "est/profile.hpp"
#include "est/thing_name_pattern.hpp"
#include "http/server.hpp"
#include "policy/policy_template.hpp"
#include "server/auth_rate_limit.hpp"

namespace estfleet::server {

struct ProfileConfig {
  std::string label;  // "" for [profiles.default]
  std::vector<est::AuthMethod> auth_methods{est::AuthMethod::basic};
  bool require_all_methods = false;
  bool require_pop = false;
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  std::chrono::seconds backdate{std::chrono::minutes(5)};
  std::set<std::string> allowed_san{"dns", "ip", "uri"};
  std::optional<std::filesystem::path> bootstrap_trust_file;
  std::optional<est::ThingNamePattern> thing_name_pattern;  // compiled when the file loads
  std::optional<std::filesystem::path> fleet_secret_file;
  // policy_template sets `allowed`, default_policy `default_grants`; each absent half keeps
  // policy::default_template()'s.
  policy::PolicyTemplate policy_template = policy::default_template();
  std::set<std::string, std::less<>> allowed_attributes{"Region"};
  est::Approval approval = est::Approval::automatic;
  std::chrono::seconds retry_after{60};
  // How long a certificate this profile renewed stays good for relying parties (CRL, OCSP) after
  // its renewal; then it reads as revoked (superseded). EST itself never renews it again.
  std::chrono::seconds superseded_grace{0};
  // serverkeygen: offered unless false; the key type it generates (unset: the CSR's key type).
  bool serverkeygen = true;
  std::optional<crypto::KeyType> serverkeygen_key_type;
  // [profiles.NAME.csrattrs] (RFC 9908 template) and enforce_csrattrs.
  est::CsrRequirements csrattrs;
};

// [crl] and [ocsp]: how relying parties learn about revocations.
struct RevocationConfig {
  std::chrono::seconds crl_validity{std::chrono::hours(24)};  // nextUpdate - thisUpdate
  std::optional<std::string> crl_distribution_point;          // URI put in issued certificates
  std::optional<std::string> ocsp_url;                        // URL put in issued certificates
  std::chrono::seconds ocsp_validity{std::chrono::hours(1)};  // of each OCSP answer
};

// [metrics]: the plain-HTTP operations listener (/metrics, /healthz, /readyz); off unless set.
struct MetricsConfig {
  bool enabled = false;
  std::string listen_host;  // like [server] listen: an IP literal
  std::uint16_t listen_port = 0;
};

// [broker]: the Mosquitto broker est-server keeps in step with the registry (see docs/broker.md);
// `est-server broker config` writes it. Absent: no broker, nothing is pushed.
struct BrokerConfig {
  std::string admin_host = "127.0.0.1";  // the broker's admin listener (plain MQTT, loopback)
  std::uint16_t admin_port = 0;
  std::string admin_username;                 // the dynsec client with the admin role
  std::filesystem::path admin_password_file;  // 0600
  std::filesystem::path crl_file;  // the broker's copy of the CRL (its `crlfile`), rewritten on
                                   // every CRL est-server publishes
  std::filesystem::path pid_file;  // the broker's pid_file: SIGHUP makes it reload the CRL
  std::chrono::milliseconds timeout{5000};  // for each exchange with the broker
};

// "profiles.default" or "profiles.NAME": how messages name a profile's table.
std::string profile_table_name(const std::string& label);

struct Config {
  std::filesystem::path data_dir;
  http::ServerOptions http;      // listen address, TLS files, timeouts and limits
  std::filesystem::path ca_key;  // the PEM file; empty when ca_key_pkcs11 is set
  // ca.key = "pkcs11:token=...;object=..." (RFC 7512): the issuing key is in a PKCS#11 token,
  // whose user PIN is in ca.pin_file or else the environment variable EST_PKCS11_PIN, and whose
  // module is ca.pkcs11_module.
  std::optional<crypto::Pkcs11Uri> ca_key_pkcs11;
  std::optional<std::filesystem::path> ca_pin_file;
  std::filesystem::path pkcs11_module = crypto::kDefaultPkcs11Module;
  std::filesystem::path ca_chain;
  std::filesystem::path database_path;  // database.url "sqlite:///<path>"; empty for PostgreSQL
  // database.url as registry::open_store takes it: sqlite:///<absolute path>, or the
  // postgresql:// URL as written (it may hold a password: never log it, see registry::redact_url).
  std::string database_url;
  std::size_t database_pool_size = 8;  // database.pool_size: PostgreSQL connections per process
  std::vector<ProfileConfig> profiles;
  RevocationConfig revocation;
  MetricsConfig metrics;
  AuthRateLimits auth_limits;  // [limits]
  std::optional<BrokerConfig> broker;
};

inline constexpr const char* kConfigFileName = "est-server.toml";
// The default profile's fleet secret, relative to the data folder; `init` creates it.
inline constexpr const char* kDefaultFleetSecretFile = "fleet/default.secret";

// Reads <data_dir>/est-server.toml; relative paths in it are relative to data_dir. Throws
// std::runtime_error naming the file, the key and what is wrong with it.
Config load_config(const std::filesystem::path& data_dir);

// The documented configuration `est-server init` writes: its default profile accepts Basic users
// and the fleet secret in kDefaultFleetSecretFile, under policy::default_template().
std::string default_config_text();

// "HOST:PORT" or "[IPv6]:PORT" into the options. Throws std::invalid_argument naming the problem.
void apply_listen_address(const std::string& text, http::ServerOptions& options);

// "HOST:PORT" or "[IPv6]:PORT" as the metrics listener's address (which is then enabled).
// Throws std::invalid_argument naming the problem.
void apply_metrics_listen(const std::string& text, MetricsConfig& metrics);

// "90s", "15m", "12h", "365d" or a bare number of seconds. Throws std::invalid_argument.
std::chrono::seconds parse_duration(const std::string& text);

// The profile with this label ("" or "default": the default one). Throws std::runtime_error.
const ProfileConfig& find_profile(const Config& config, const std::string& label);

// Turns the configured profiles into protocol profiles (loading bootstrap trust stores and fleet
// secrets). Throws std::runtime_error naming the profile key whose file is unusable.
std::vector<est::EnrollmentProfile> build_profiles(const Config& config);

}  // namespace estfleet::server
