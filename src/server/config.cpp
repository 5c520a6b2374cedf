#include "server/config.hpp"

#include <openssl/objects.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "common/files.hpp"
#include "crypto/error.hpp"
#include "crypto/ossl.hpp"
#include "est/route.hpp"
#include "policy/policy_error.hpp"
#include "policy/thing_name.hpp"
#include "registry/open_store.hpp"
#include "server/fleet_secret_file.hpp"

namespace estfleet::server {
namespace {

using Keys = std::set<std::string, std::less<>>;

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void refuse_unknown_keys(const toml::table& table, const std::string& where, const Keys& known) {
  for (const auto& [key, value] : table) {
    if (!known.contains(key.str())) {
      throw ConfigError("unknown key '" + std::string(key.str()) + "' in " + where);
    }
  }
}

const toml::table* sub_table(const toml::table& root, std::string_view name) {
  const auto* node = root.get(name);
  if (node == nullptr) {
    return nullptr;
  }
  if (!node->is_table()) {
    throw ConfigError("'" + std::string(name) + "' must be a table");
  }
  return node->as_table();
}

template <class T>
std::optional<T> get(const toml::table& table, std::string_view key, const std::string& where) {
  const auto* node = table.get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  auto value = node->value<T>();
  if (!value) {
    throw ConfigError("'" + where + "." + std::string(key) + "' has the wrong type");
  }
  return value;
}

std::filesystem::path resolve(const std::filesystem::path& data_dir, const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() ? p : data_dir / p;
}

std::chrono::milliseconds millis(const toml::table& t, std::string_view key,
                                 std::chrono::milliseconds fallback) {
  const auto v = get<std::string>(t, key, "server");
  if (!v) {
    return fallback;
  }
  try {
    return std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration(*v));
  } catch (const std::invalid_argument& e) {
    throw ConfigError("'server." + std::string(key) + "': " + e.what());
  }
}

std::size_t size_value(const toml::table& t, std::string_view key, std::size_t fallback) {
  const auto v = get<std::int64_t>(t, key, "server");
  if (!v) {
    return fallback;
  }
  if (*v <= 0) {
    throw ConfigError("'server." + std::string(key) + "' must be positive");
  }
  return static_cast<std::size_t>(*v);
}

void load_server(const toml::table& t, Config& config) {
  refuse_unknown_keys(t, "[server]",
                      {"listen", "threads", "handler_threads", "handshake_timeout",
                       "header_timeout", "body_timeout", "idle_timeout", "write_timeout",
                       "max_header_bytes", "max_body_bytes", "max_connections"});
  if (const auto listen = get<std::string>(t, "listen", "server")) {
    try {
      apply_listen_address(*listen, config.http);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("'server.listen': ") + e.what());
    }
  }
  if (const auto threads = get<std::int64_t>(t, "threads", "server")) {
    if (*threads < 0 || *threads > 1024) {
      throw ConfigError("'server.threads' must be between 0 (one per core) and 1024");
    }
    config.http.threads = static_cast<unsigned>(*threads);
  }
  if (const auto threads = get<std::int64_t>(t, "handler_threads", "server")) {
    if (*threads < 0 || *threads > 1024) {
      throw ConfigError(
          "'server.handler_threads' must be between 0 (eight per io thread, at least 16) and 1024");
    }
    config.http.handler_threads = static_cast<unsigned>(*threads);
  }
  auto& h = config.http;
  h.handshake_timeout = millis(t, "handshake_timeout", h.handshake_timeout);
  h.header_timeout = millis(t, "header_timeout", h.header_timeout);
  h.body_timeout = millis(t, "body_timeout", h.body_timeout);
  h.idle_timeout = millis(t, "idle_timeout", h.idle_timeout);
  h.write_timeout = millis(t, "write_timeout", h.write_timeout);
  h.max_header_bytes = size_value(t, "max_header_bytes", h.max_header_bytes);
  h.max_body_bytes = size_value(t, "max_body_bytes", h.max_body_bytes);
  h.max_connections = size_value(t, "max_connections", h.max_connections);
}

std::vector<est::AuthMethod> parse_auth(const toml::array& array, const std::string& where) {
  std::vector<est::AuthMethod> methods;
  for (const auto& node : array) {
    const auto name = node.value<std::string>();
    if (name == "basic") {
      methods.push_back(est::AuthMethod::basic);
    } else if (name == "tls-client") {
      methods.push_back(est::AuthMethod::tls_client);
    } else {
      throw ConfigError("'" + where + ".auth' holds '" + name.value_or("?") +
                        "'; the methods are \"basic\" and \"tls-client\"");
    }
  }
  if (methods.empty()) {
    throw ConfigError("'" + where + ".auth' must name at least one method");
  }
  return methods;
}

// A table of action = [resource patterns], as policy_template and default_policy are written.
policy::ResourcePatterns parse_patterns(const toml::node& node, const std::string& key_path) {
  if (!node.is_table()) {
    throw ConfigError("'" + key_path +
                      "' must be a table of Connect/Publish/Receive/Subscribe = [resources]");
  }
  policy::ResourcePatterns patterns;
  for (const auto& [key, value] : *node.as_table()) {
    const std::string action_path = key_path + "." + std::string(key.str());
    const auto action = policy::parse_action(key.str());
    if (!action) {
      throw ConfigError("'" + action_path +
                        "' is not an action; use Connect, Publish, Receive or Subscribe");
    }
    if (!value.is_array()) {
      throw ConfigError("'" + action_path + "' must be an array of resource patterns");
    }
    auto& list = patterns[*action];
    for (const auto& element : *value.as_array()) {
      const auto text = element.value<std::string>();
      if (!text) {
        throw ConfigError("'" + action_path + "' must hold only strings");
      }
      try {
        list.push_back(policy::normalise_resource(*action, *text, action_path));
      } catch (const policy::PolicyError& e) {
        throw ConfigError("'" + action_path + "' holds '" + *text + "': " + e.message());
      }
      // Refused here rather than left to match nothing: topic/${ThingName}* would otherwise
      // read as DeviceAlpha's own topics to the operator, and DeviceAlpha2's to the check.
      if (const auto problem = policy::template_pattern_problem(list.back())) {
        throw ConfigError("'" + action_path + "' holds '" + *text + "': " + *problem);
      }
    }
  }
  return patterns;
}

// A default that the template itself would refuse would make every detail-less device's policy
// one no device could ask for; refuse it when the file loads instead.
void check_default_policy(const policy::PolicyTemplate& policy_template, const std::string& where) {
  // Any name the template does not reserve shows what the grants give; a template may well hold a
  // fixed segment "ThingName" (a typo for the variable), which is no fault of default_policy.
  std::string probe = "ThingName";
  while (policy::reserved_by(policy_template, probe)) {
    probe += "0";
  }
  try {
    const auto details = policy::default_details(policy_template, probe);
    if (const auto violation = policy::check_against_template(details, policy_template)) {
      throw ConfigError("'" + where +
                        ".default_policy' grants what policy_template does not allow (" +
                        violation->message + ")");
    }
  } catch (const policy::PolicyError& e) {
    throw ConfigError("'" + where + ".default_policy': " + e.message());
  }
}

void load_iot_keys(const toml::table& t, const std::string& where,
                   const std::filesystem::path& data_dir, ProfileConfig& profile) {
  if (const auto pattern = get<std::string>(t, "thing_name_pattern", where)) {
    try {
      profile.thing_name_pattern.emplace(*pattern);
    } catch (const std::regex_error& e) {
      throw ConfigError("'" + where +
                        ".thing_name_pattern' is not a valid ECMAScript regex: " + e.what());
    }
  }
  if (const auto file = get<std::string>(t, "fleet_secret_file", where)) {
    profile.fleet_secret_file = resolve(data_dir, *file);
  }
  if (const auto* node = t.get("policy_template")) {
    profile.policy_template.allowed = parse_patterns(*node, where + ".policy_template");
  }
  if (const auto* node = t.get("default_policy")) {
    profile.policy_template.default_grants = parse_patterns(*node, where + ".default_policy");
  }
  check_default_policy(profile.policy_template, where);
  if (const auto* node = t.get("allowed_attributes")) {
    if (!node->is_array()) {
      throw ConfigError("'" + where + ".allowed_attributes' must be an array of names");
    }
    profile.allowed_attributes.clear();
    for (const auto& element : *node->as_array()) {
      const auto name = element.value<std::string>();
      if (!name || name->empty()) {
        throw ConfigError("'" + where + ".allowed_attributes' must hold only non-empty strings");
      }
      profile.allowed_attributes.insert(*name);
    }
  }
  if (const auto approval = get<std::string>(t, "approval", where)) {
    if (*approval != "automatic" && *approval != "manual") {
      throw ConfigError("'" + where + ".approval' must be \"automatic\" or \"manual\"");
    }
    profile.approval = *approval == "manual" ? est::Approval::manual : est::Approval::automatic;
  }
  if (const auto retry = get<std::string>(t, "retry_after", where)) {
    try {
      profile.retry_after = parse_duration(*retry);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("'" + where + ".retry_after': " + e.what());
    }
    if (profile.retry_after.count() == 0) {
      throw ConfigError("'" + where + ".retry_after' must be at least 1s");
    }
  }
}

// A URL written into every issued certificate: http(s), and nothing OpenSSL's extension syntax
// would split (commas) or a relying party would choke on (spaces, control characters).
std::string revocation_url(const toml::table& t, std::string_view key, const std::string& where) {
  auto url = get<std::string>(t, key, where).value_or("");
  const std::string name = "'" + where + "." + std::string(key) + "'";
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    throw ConfigError(name + " must be an http:// or https:// URL");
  }
  if (url.size() <= std::string_view("https://").size() ||
      url.find_first_of(", \t\r\n\"") != std::string::npos ||
      std::any_of(url.begin(), url.end(), [](unsigned char c) { return c < 0x20 || c >= 0x7f; })) {
    throw ConfigError(name + " holds '" + url +
                      "'; a URL here has a host and no commas, spaces or non-ASCII characters");
  }
  return url;
}

std::chrono::seconds positive_duration(const toml::table& t, std::string_view key,
                                       const std::string& where, std::chrono::seconds fallback) {
  const auto text = get<std::string>(t, key, where);
  if (!text) {
    return fallback;
  }
  const std::string name = "'" + where + "." + std::string(key) + "'";
  std::chrono::seconds value{};
  try {
    value = parse_duration(*text);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(name + ": " + e.what());
  }
  if (value.count() < 2) {
    throw ConfigError(name + " must be at least 2s");
  }
  return value;
}

void load_metrics(const toml::table* table, MetricsConfig& metrics) {
  if (table == nullptr) {
    return;
  }
  refuse_unknown_keys(*table, "[metrics]", {"listen"});
  if (const auto listen = get<std::string>(*table, "listen", "metrics")) {
    try {
      apply_metrics_listen(*listen, metrics);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("'metrics.listen': " + std::string(e.what()));
    }
  }
}

// [limits]: failed authentications per source address (see auth_rate_limit.hpp).
void load_limits(const toml::table* table, AuthRateLimits& limits) {
  if (table == nullptr) {
    return;
  }
  refuse_unknown_keys(*table, "[limits]",
                      {"auth_failures_per_minute", "auth_failure_burst", "auth_tracked_sources"});
  const auto bounded = [table](std::string_view key, std::int64_t low, std::int64_t high,
                               std::int64_t fallback) {
    const auto v = get<std::int64_t>(*table, key, "limits");
    if (v && (*v < low || *v > high)) {
      throw ConfigError("'limits." + std::string(key) + "' must be between " + std::to_string(low) +
                        " and " + std::to_string(high));
    }
    return v.value_or(fallback);
  };
  limits.failures_per_minute = static_cast<unsigned>(
      bounded("auth_failures_per_minute", 0, 1'000'000, limits.failures_per_minute));
  limits.burst = static_cast<unsigned>(bounded("auth_failure_burst", 1, 1'000'000, limits.burst));
  limits.max_sources = static_cast<std::size_t>(bounded(
      "auth_tracked_sources", 1, 10'000'000, static_cast<std::int64_t>(limits.max_sources)));
}

// [broker]: written by `est-server broker config`; every path is required, so a half-written
// table is refused rather than half-used.
std::optional<BrokerConfig> load_broker(const toml::table* table,
                                        const std::filesystem::path& data_dir) {
  if (table == nullptr) {
    return std::nullopt;
  }
  refuse_unknown_keys(*table, "[broker]",
                      {"admin_host", "admin_port", "admin_username", "admin_password_file",
                       "crl_file", "pid_file", "timeout"});
  BrokerConfig broker;
  broker.admin_host = get<std::string>(*table, "admin_host", "broker").value_or(broker.admin_host);
  const auto port = get<std::int64_t>(*table, "admin_port", "broker");
  if (!port || *port < 1 || *port > 65535) {
    throw ConfigError("'broker.admin_port' must be a port number between 1 and 65535");
  }
  broker.admin_port = static_cast<std::uint16_t>(*port);
  const auto required_text = [table](std::string_view key) {
    auto value = get<std::string>(*table, key, "broker");
    if (!value || value->empty()) {
      throw ConfigError("'broker." + std::string(key) + "' is required");
    }
    return *value;
  };
  broker.admin_username = required_text("admin_username");
  // A device logs in to the broker under its certificate's CN: an administrator named like a
  // ThingName would be the broker's administrator for whoever enrolls that name.
  if (policy::is_valid_thing_name(broker.admin_username)) {
    throw ConfigError("'broker.admin_username' is '" + broker.admin_username +
                      "', which a device could enroll as its ThingName and so log in as the "
                      "broker's administrator; use a name with a character ThingNames cannot "
                      "hold, such as '.' or '@' (the default is est-fleet.admin)");
  }
  broker.admin_password_file = resolve(data_dir, required_text("admin_password_file"));
  broker.crl_file = resolve(data_dir, required_text("crl_file"));
  broker.pid_file = resolve(data_dir, required_text("pid_file"));
  broker.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      positive_duration(*table, "timeout", "broker", std::chrono::seconds(5)));
  return broker;
}

void load_revocation(const toml::table* crl, const toml::table* ocsp, RevocationConfig& config) {
  if (crl != nullptr) {
    refuse_unknown_keys(*crl, "[crl]", {"validity", "distribution_point"});
    config.crl_validity = positive_duration(*crl, "validity", "crl", config.crl_validity);
    if (crl->contains("distribution_point")) {
      config.crl_distribution_point = revocation_url(*crl, "distribution_point", "crl");
    }
  }
  if (ocsp != nullptr) {
    refuse_unknown_keys(*ocsp, "[ocsp]", {"url", "validity"});
    config.ocsp_validity = positive_duration(*ocsp, "validity", "ocsp", config.ocsp_validity);
    if (ocsp->contains("url")) {
      config.ocsp_url = revocation_url(*ocsp, "url", "ocsp");
    }
  }
}

// A dotted OID for an attribute or extension name ("O", "organizationName", "subjectAltName",
// "2.5.29.17"), or nullopt when OpenSSL knows no such name.
std::optional<std::string> dotted_oid(const std::string& name) {
  crypto::Asn1ObjectPtr object(OBJ_txt2obj(name.c_str(), 0));
  if (!object) {
    crypto::clear_openssl_errors();
    return std::nullopt;
  }
  char text[128];
  const int length = OBJ_obj2txt(text, sizeof text, object.get(), 1);
  return length > 0
             ? std::optional<std::string>(std::string(text, static_cast<std::size_t>(length)))
             : std::nullopt;
}

std::vector<std::string> string_array(const toml::table& t, std::string_view key,
                                      const std::string& where) {
  std::vector<std::string> result;
  const auto* node = t.get(key);
  if (node == nullptr) {
    return result;
  }
  const std::string name = "'" + where + "." + std::string(key) + "'";
  if (!node->is_array()) {
    throw ConfigError(name + " must be an array of strings");
  }
  for (const auto& element : *node->as_array()) {
    const auto text = element.value<std::string>();
    if (!text || text->empty()) {
      throw ConfigError(name + " must hold only non-empty strings");
    }
    result.push_back(*text);
  }
  return result;
}

// [profiles.NAME.csrattrs]: key_type, subject = ["O=Acme", "OU"], extensions = ["subjectAltName"].
void load_csrattrs(const toml::table& profile_table, const std::string& profile_where,
                   est::CsrRequirements& wanted) {
  wanted.enforce = get<bool>(profile_table, "enforce_csrattrs", profile_where).value_or(false);
  const auto* node = profile_table.get("csrattrs");
  if (node == nullptr) {
    if (wanted.enforce) {
      throw ConfigError("'" + profile_where + ".enforce_csrattrs' needs a [" + profile_where +
                        ".csrattrs] table");
    }
    return;
  }
  const std::string where = profile_where + ".csrattrs";
  if (!node->is_table()) {
    throw ConfigError("'" + where + "' must be a table");
  }
  const auto& t = *node->as_table();
  refuse_unknown_keys(t, "[" + where + "]", {"key_type", "subject", "extensions"});
  if (const auto type = get<std::string>(t, "key_type", where)) {
    wanted.key_type = crypto::parse_key_type(*type);
    if (!wanted.key_type) {
      throw ConfigError("'" + where + ".key_type' holds '" + *type +
                        "'; the types are ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 and "
                        "ed25519");
    }
  }
  for (const auto& entry : string_array(t, "subject", where)) {
    const auto equals = entry.find('=');
    const auto name = entry.substr(0, equals);
    const auto oid = dotted_oid(name);
    if (!oid) {
      throw ConfigError("'" + where + ".subject' holds '" + entry + "': '" + name +
                        "' is not an attribute name such as O, OU, C or 2.5.4.10");
    }
    if (*oid == "2.5.4.3") {
      throw ConfigError("'" + where + ".subject' holds '" + entry +
                        "': the CN is always the ThingName and is not configured here");
    }
    std::optional<std::string> value;
    if (equals != std::string::npos) {
      value = entry.substr(equals + 1);
      if (value->empty()) {
        throw ConfigError("'" + where + ".subject' holds '" + entry +
                          "': write the name alone for any value");
      }
    }
    wanted.subject.emplace_back(*oid, value);
  }
  for (const auto& name : string_array(t, "extensions", where)) {
    const auto oid = dotted_oid(name);
    if (!oid) {
      throw ConfigError("'" + where + ".extensions' holds '" + name +
                        "', which is not an extension name such as subjectAltName or an OID");
    }
    wanted.extensions.push_back(*oid);
  }
}

ProfileConfig load_profile(const std::string& name, const toml::table& t,
                           const std::filesystem::path& data_dir) {
  const std::string where = "profiles." + name;
  refuse_unknown_keys(
      t, "[" + where + "]",
      {"auth", "auth_mode", "require_pop", "validity", "backdate", "allowed_san", "bootstrap_trust",
       "thing_name_pattern", "fleet_secret_file", "policy_template", "default_policy",
       "allowed_attributes", "approval", "retry_after", "superseded_grace", "serverkeygen",
       "serverkeygen_key_type", "csrattrs", "enforce_csrattrs"});
  ProfileConfig profile;
  profile.label = name == "default" ? "" : name;
  if (const auto* auth = t.get("auth")) {
    if (!auth->is_array()) {
      throw ConfigError("'" + where + ".auth' must be an array such as [\"basic\"]");
    }
    profile.auth_methods = parse_auth(*auth->as_array(), where);
  }
  if (const auto mode = get<std::string>(t, "auth_mode", where)) {
    if (*mode != "any" && *mode != "all") {
      throw ConfigError("'" + where + ".auth_mode' must be \"any\" or \"all\"");
    }
    profile.require_all_methods = *mode == "all";
  }
  profile.require_pop = get<bool>(t, "require_pop", where).value_or(false);
  profile.serverkeygen = get<bool>(t, "serverkeygen", where).value_or(true);
  load_csrattrs(t, where, profile.csrattrs);
  if (const auto type = get<std::string>(t, "serverkeygen_key_type", where)) {
    profile.serverkeygen_key_type = crypto::parse_key_type(*type);
    if (!profile.serverkeygen_key_type) {
      throw ConfigError("'" + where + ".serverkeygen_key_type' holds '" + *type +
                        "'; the types are ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 and "
                        "ed25519");
    }
  }
  try {
    if (const auto v = get<std::string>(t, "validity", where)) {
      profile.validity = parse_duration(*v);
    }
    if (const auto v = get<std::string>(t, "backdate", where)) {
      profile.backdate = parse_duration(*v);
    }
    if (const auto v = get<std::string>(t, "superseded_grace", where)) {
      profile.superseded_grace = parse_duration(*v);
    }
  } catch (const std::invalid_argument& e) {
    throw ConfigError("'" + where + "': " + e.what());
  }
  // The backdate lengthens every certificate's validity into the past. Past a quarter of the
  // validity, a device renewing at a share of notBefore..notAfter is due almost as soon as it
  // holds the certificate, and a fleet renews in a loop (two devices made 2,382 renewals in 40 s
  // with validity "12s" and the default backdate of 5m).
  if (profile.backdate * 4 > profile.validity) {
    throw ConfigError("'" + where + ".backdate' (" + std::to_string(profile.backdate.count()) +
                      " s) is more than a quarter of '" + where + ".validity' (" +
                      std::to_string(profile.validity.count()) +
                      " s): certificates would be due for renewal almost as soon as issued; "
                      "shorten backdate or lengthen validity");
  }
  if (const auto* san = t.get("allowed_san")) {
    if (!san->is_array()) {
      throw ConfigError("'" + where + ".allowed_san' must be an array");
    }
    profile.allowed_san.clear();
    for (const auto& node : *san->as_array()) {
      const auto kind = node.value<std::string>().value_or("");
      if (kind != "dns" && kind != "ip" && kind != "uri" && kind != "email") {
        throw ConfigError("'" + where + ".allowed_san' holds '" + kind +
                          "'; the kinds are dns, ip, uri and email");
      }
      profile.allowed_san.insert(kind);
    }
  }
  if (const auto trust = get<std::string>(t, "bootstrap_trust", where)) {
    profile.bootstrap_trust_file = resolve(data_dir, *trust);
  }
  if (std::find(profile.auth_methods.begin(), profile.auth_methods.end(),
                est::AuthMethod::tls_client) != profile.auth_methods.end() &&
      !profile.bootstrap_trust_file) {
    throw ConfigError("'" + where + "' accepts tls-client but sets no bootstrap_trust file");
  }
  load_iot_keys(t, where, data_dir, profile);
  if (profile.fleet_secret_file &&
      std::find(profile.auth_methods.begin(), profile.auth_methods.end(), est::AuthMethod::basic) ==
          profile.auth_methods.end()) {
    throw ConfigError("'" + where + ".fleet_secret_file' needs \"basic\" in auth");
  }
  return profile;
}

}  // namespace

std::string profile_table_name(const std::string& label) {
  return "profiles." + (label.empty() ? std::string("default") : label);
}

const ProfileConfig& find_profile(const Config& config, const std::string& label) {
  const std::string wanted = label == "default" ? "" : label;
  for (const auto& profile : config.profiles) {
    if (profile.label == wanted) {
      return profile;
    }
  }
  throw std::runtime_error("no profile named '" + label + "' in " +
                           (config.data_dir / kConfigFileName).string());
}

std::chrono::seconds parse_duration(const std::string& text) {
  if (text.empty()) {
    throw std::invalid_argument("a duration cannot be empty");
  }
  std::int64_t number = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || number < 0) {
    throw std::invalid_argument("'" + text + "' is not a duration such as 90s, 15m, 12h or 365d");
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  std::int64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    throw std::invalid_argument("'" + text + "' has an unknown unit; use s, m, h or d");
  }
  return std::chrono::seconds(number * scale);
}

void apply_listen_address(const std::string& text, http::ServerOptions& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument("listen address '" + text + "' is not HOST:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const auto* first = text.data() + colon + 1;
  const auto* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || ptr != last || port > 65535) {
    throw std::invalid_argument("listen address '" + text + "' has an invalid port");
  }
  options.listen_host = host;
  options.listen_port = static_cast<std::uint16_t>(port);
}

void apply_metrics_listen(const std::string& text, MetricsConfig& metrics) {
  http::ServerOptions address;
  apply_listen_address(text, address);
  metrics.enabled = true;
  metrics.listen_host = address.listen_host;
  metrics.listen_port = address.listen_port;
}

namespace {

// [ca] key: a PEM file, or a PKCS#11 URI with its pin_file and pkcs11_module.
void load_ca_key(const toml::table& ca, Config& config) {
  const auto key = get<std::string>(ca, "key", "ca").value_or("ca/issuing.key");
  if (crypto::Pkcs11Uri::looks_like(key)) {
    try {
      config.ca_key_pkcs11 = crypto::Pkcs11Uri::parse(key);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("'ca.key': " + std::string(e.what()));
    }
  } else {
    config.ca_key = resolve(config.data_dir, key);
  }
  const auto pin_file = get<std::string>(ca, "pin_file", "ca");
  const auto module = get<std::string>(ca, "pkcs11_module", "ca");
  if ((pin_file || module) && !config.ca_key_pkcs11) {
    throw ConfigError(
        "'ca.pin_file' and 'ca.pkcs11_module' apply only when 'ca.key' is a pkcs11: URI");
  }
  if (pin_file) {
    config.ca_pin_file = resolve(config.data_dir, *pin_file);
  }
  if (module) {
    config.pkcs11_module = resolve(config.data_dir, *module);
  }
}

}  // namespace

Config load_config(const std::filesystem::path& data_dir) {
  const auto file = data_dir / kConfigFileName;
  if (!std::filesystem::exists(file)) {
    throw std::runtime_error(file.string() + " does not exist; run 'est-server init --data " +
                             data_dir.string() + "' first");
  }
  try {
    const toml::table root = toml::parse(common::read_file(file), file.string());
    refuse_unknown_keys(root, "the top level",
                        {"server", "tls", "ca", "database", "profiles", "crl", "ocsp", "metrics",
                         "limits", "broker"});
    Config config;
    config.data_dir = data_dir;
    if (const auto* t = sub_table(root, "server")) {
      load_server(*t, config);
    }
    const auto* tls = sub_table(root, "tls");
    const auto* ca = sub_table(root, "ca");
    const auto* db = sub_table(root, "database");
    if (tls == nullptr || ca == nullptr || db == nullptr) {
      throw ConfigError("the [tls], [ca] and [database] tables are required");
    }
    refuse_unknown_keys(*tls, "[tls]", {"certificate", "key"});
    refuse_unknown_keys(*ca, "[ca]", {"key", "chain", "pin_file", "pkcs11_module"});
    refuse_unknown_keys(*db, "[database]", {"url", "pool_size"});
    config.http.certificate_chain_file =
        resolve(data_dir, get<std::string>(*tls, "certificate", "tls").value_or("tls/server.pem"));
    config.http.private_key_file =
        resolve(data_dir, get<std::string>(*tls, "key", "tls").value_or("tls/server.key"));
    load_ca_key(*ca, config);
    config.ca_chain =
        resolve(data_dir, get<std::string>(*ca, "chain", "ca").value_or("ca/chain.pem"));
    const auto url = get<std::string>(*db, "url", "database").value_or("sqlite:///registry.db");
    constexpr std::string_view kSqlite = "sqlite:///";
    if (url.starts_with(kSqlite) && url.size() > kSqlite.size()) {
      // A relative path is inside the data folder.
      config.database_path = resolve(data_dir, url.substr(kSqlite.size()));
      config.database_url = std::string(kSqlite) + config.database_path.string();
    } else if (registry::is_postgres_url(url)) {
      config.database_url = url;
    } else {
      throw ConfigError(
          "'database.url' must be sqlite:///<path> or postgresql://[user@]host[:port]/database");
    }
    const auto pool_size = get<std::int64_t>(*db, "pool_size", "database");
    if (pool_size && (*pool_size < 1 || *pool_size > 1000)) {
      throw ConfigError("'database.pool_size' must be between 1 and 1000");
    }
    config.database_pool_size = static_cast<std::size_t>(pool_size.value_or(8));
    load_revocation(sub_table(root, "crl"), sub_table(root, "ocsp"), config.revocation);
    load_metrics(sub_table(root, "metrics"), config.metrics);
    load_limits(sub_table(root, "limits"), config.auth_limits);
    config.broker = load_broker(sub_table(root, "broker"), data_dir);
    if (const auto* profiles = sub_table(root, "profiles")) {
      for (const auto& [name, node] : *profiles) {
        if (!node.is_table()) {
          throw ConfigError("'profiles." + std::string(name.str()) + "' must be a table");
        }
        if (name.str() != "default" && !est::is_valid_label(name.str())) {
          throw ConfigError("profile name '" + std::string(name.str()) +
                            "' is not a valid EST label ([A-Za-z0-9_-]{1,64})");
        }
        config.profiles.push_back(
            load_profile(std::string(name.str()), *node.as_table(), data_dir));
      }
    }
    if (config.profiles.empty()) {
      throw ConfigError("no [profiles.*] table is configured, so nobody could enroll");
    }
    return config;
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(file.string() + " is not valid TOML: " + std::string(e.description()) +
                             " (line " + std::to_string(e.source().begin.line) + ")");
  } catch (const ConfigError& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

std::vector<est::EnrollmentProfile> build_profiles(const Config& config) {
  std::vector<est::EnrollmentProfile> profiles;
  for (const auto& p : config.profiles) {
    est::EnrollmentProfile profile;
    profile.label = p.label;
    profile.auth_methods = p.auth_methods;
    profile.require_all_methods = p.require_all_methods;
    profile.require_pop = p.require_pop;
    profile.issuance.validity = p.validity;
    profile.issuance.backdate = p.backdate;
    profile.issuance.allowed_san_kinds = p.allowed_san;
    profile.issuance.crl_distribution_point = config.revocation.crl_distribution_point;
    profile.issuance.ocsp_url = config.revocation.ocsp_url;
    if (p.bootstrap_trust_file) {
      const auto roots =
          crypto::Certificate::chain_from_pem(common::read_file(*p.bootstrap_trust_file));
      profile.bootstrap_trust = std::make_shared<const crypto::TrustStore>(roots);
    }
    if (p.fleet_secret_file) {
      try {
        profile.fleet_secret = read_fleet_secret(*p.fleet_secret_file);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error("'" + profile_table_name(p.label) +
                                 ".fleet_secret_file': " + e.what());
      }
    }
    profile.thing_name_pattern = p.thing_name_pattern;
    profile.policy_template = p.policy_template;
    profile.allowed_attributes = p.allowed_attributes;
    profile.approval = p.approval;
    profile.retry_after = p.retry_after;
    profile.serverkeygen = p.serverkeygen;
    profile.serverkeygen_key_type = p.serverkeygen_key_type;
    profile.csrattrs = p.csrattrs;
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

}  // namespace estfleet::server
