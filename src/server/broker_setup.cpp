#include "server/broker_setup.hpp"

#include <sys/types.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include "broker/dynsec_bootstrap.hpp"
#include "ca/authority.hpp"
#include "common/files.hpp"
#include "crypto/fleet_password.hpp"
#include "crypto/key.hpp"
#include "policy/text.hpp"
#include "server/ca_rollover.hpp"
#include "server/fleet_secret_file.hpp"
#include "server/revocation_files.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPluginName = "mosquitto_dynamic_security.so";
constexpr const char* kAdminPasswordFile = "broker/admin.password";
// The broker's own certificate: renewed by running `broker config` again.
constexpr std::chrono::hours kBrokerCertificateValidity{24 * 397};

std::string toml_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  return quoted + "\"";
}

// mosquitto.conf takes the rest of the line as a path: a line break would end it early.
std::string conf_path(const fs::path& path) {
  auto text = path.string();
  if (policy::has_control_character(text)) {
    throw std::runtime_error("the path " + text +
                             " holds a control character, which mosquitto.conf cannot hold");
  }
  return text;
}

std::string mosquitto_conf(const BrokerSetupOptions& options, const fs::path& out,
                           const fs::path& plugin, std::uint16_t admin_port) {
  const auto file = [&out](const char* name) { return conf_path(out / name); };
  std::string conf =
      "# Mosquitto 2 configuration written by `est-server broker config` (docs/broker.md).\n"
      "# Devices log in with the certificate est-fleet issued them: its CN is their MQTT\n"
      "# username; the dynamic-security plugin holds each thing's ACLs, which est-server keeps in\n"
      "# step with the registry over the admin listener.\n"
      "per_listener_settings false\n"
      "allow_anonymous false\n"
      "pid_file " +
      file("mosquitto.pid") +
      "\n"
      "# The broker keeps no state of its own: things and ACLs live in dynamic-security.json\n"
      "# (rebuilt by `est-server broker sync`), sessions and retained messages are not kept.\n"
      "persistence false\n"
      "log_dest stderr\n"
      "log_type error\n"
      "log_type warning\n"
      "log_type notice\n"
      "log_type information\n"
      "connection_messages true\n"
      "plugin " +
      conf_path(plugin) + "\nplugin_opt_config_file " + file("dynamic-security.json") +
      "\n\n"
      "# Devices: TLS with a client certificate from est-fleet's CA, checked against its CRL\n"
      "# (est-server rewrites crl.pem and sends SIGHUP on every CRL it publishes).\n"
      "listener " +
      std::to_string(options.port) +
      (options.bind_address.empty() ? std::string() : " " + options.bind_address) +
      "\n"
      "protocol mqtt\n"
      "cafile " +
      file("ca.pem") + "\ncertfile " + file("server.pem") + "\nkeyfile " + file("server.key") +
      "\ncrlfile " + file("crl.pem") +
      "\n"
      "tls_version tlsv1.2\n"
      "require_certificate true\n"
      "use_identity_as_username true\n"
      "# The client id is the username (the CN) whatever the device asks for: dynsec does not\n"
      "# check client ids of certificate logins, and without this a device could take over\n"
      "# another's client id and knock it off (docs/broker.md).\n"
      "use_username_as_clientid true\n\n"
      "# est-server's admin connection (dynsec $CONTROL API): loopback only, password login.\n"
      "listener " +
      std::to_string(admin_port) +
      " 127.0.0.1\n"
      "protocol mqtt\n";
  return conf;
}

void check_writable_folder(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw std::runtime_error("cannot create the broker folder " + dir.string() + ": " +
                             error.message());
  }
  common::prepare_output(dir / "mosquitto.conf");
}

}  // namespace

std::optional<fs::path> find_dynsec_plugin() {
  std::vector<fs::path> candidates;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/usr/lib", error)) {
    if (entry.is_directory(error)) {
      candidates.push_back(entry.path() / kPluginName);
    }
  }
  candidates.emplace_back(fs::path("/usr/lib") / kPluginName);
  candidates.emplace_back(fs::path("/usr/local/lib") / kPluginName);
  for (const auto& candidate : candidates) {
    if (fs::is_regular_file(candidate, error)) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::string broker_config_table(const BrokerConfig& broker) {
  return "[broker]\n"
         "# Written by `est-server broker config`: the Mosquitto broker est-server keeps in step\n"
         "# with the registry (docs/broker.md). Remove the table to stop pushing to a broker.\n"
         "admin_host = " +
         toml_string(broker.admin_host) +
         "          # the broker's admin listener (dynsec $CONTROL API)\n"
         "admin_port = " +
         std::to_string(broker.admin_port) +
         "\n"
         "admin_username = " +
         toml_string(broker.admin_username) +
         "\n"
         "admin_password_file = " +
         toml_string(broker.admin_password_file.string()) +
         "   # 0600\n"
         "crl_file = " +
         toml_string(broker.crl_file.string()) +
         "   # the broker's crlfile, rewritten on every CRL\n"
         "pid_file = " +
         toml_string(broker.pid_file.string()) +
         "   # SIGHUP to this pid reloads the CRL\n"
         "timeout = \"" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(broker.timeout).count()) +
         "s\"             # each exchange with the broker\n";
}

std::string replace_broker_table(const std::string& text, const std::string& table) {
  // The [broker] header at the start of a line, and the next table header after it.
  std::size_t begin = std::string::npos;
  for (std::size_t at = 0; at < text.size();) {
    const auto end_of_line = text.find('\n', at);
    const auto line =
        text.substr(at, end_of_line == std::string::npos ? std::string::npos : end_of_line - at);
    if (begin == std::string::npos) {
      if (line.rfind("[broker]", 0) == 0) {
        begin = at;
      }
    } else if (!line.empty() && line.front() == '[') {
      return text.substr(0, begin) + table + "\n" + text.substr(at);
    }
    if (end_of_line == std::string::npos) {
      break;
    }
    at = end_of_line + 1;
  }
  if (begin != std::string::npos) {
    return text.substr(0, begin) + table;
  }
  std::string joined = text;
  if (!joined.empty() && joined.back() != '\n') {
    joined += '\n';
  }
  return joined + "\n" + table;
}

BrokerSetupResult write_broker_setup(const BrokerSetupOptions& options) {
  // Everything is checked before the first file is written.
  auto config = load_config(options.data_dir);
  if (options.port == 0) {
    throw std::runtime_error("--port must be a port number between 1 and 65535");
  }
  const std::uint16_t admin_port =
      options.admin_port != 0 ? options.admin_port : static_cast<std::uint16_t>(options.port + 1);
  if (admin_port == 0 || admin_port == options.port) {
    throw std::runtime_error("--admin-port must differ from --port (the devices' listener)");
  }
  fs::path plugin = options.plugin;
  if (plugin.empty()) {
    const auto found = find_dynsec_plugin();
    if (!found) {
      throw std::runtime_error(std::string("cannot find Mosquitto's dynamic-security plugin (") +
                               kPluginName +
                               ") under /usr/lib; install the mosquitto package or pass --plugin");
    }
    plugin = *found;
  } else if (!fs::is_regular_file(plugin)) {
    throw std::runtime_error("--plugin " + plugin.string() + " is not a file");
  }
  const fs::path out = fs::absolute(options.out_dir).lexically_normal();
  check_writable_folder(out);
  // As serve loads it: a token key, and during a rollover's transition the previous CA too.
  const auto authority = load_authority(config);
  const auto crl_pem = common::read_file(config.data_dir / kCrlPemFile);

  BrokerConfig broker = config.broker.value_or(BrokerConfig{});
  broker.admin_host = "127.0.0.1";
  broker.admin_port = admin_port;
  broker.admin_username = broker::kDefaultDynsecAdminUsername;
  broker.crl_file = out / "crl.pem";
  broker.pid_file = out / "mosquitto.pid";
  const fs::path password_file = config.data_dir / kAdminPasswordFile;
  broker.admin_password_file = kAdminPasswordFile;
  const auto conf_text = mosquitto_conf(options, out, plugin, admin_port);

  // The broker's server certificate: a service identity, not a thing in the registry. serverAuth
  // only, so it can never log in as a device, and without the EST server's id-kp-cmcRA, so
  // est-client never takes the broker (whose key sits on a network-facing host) for the EST
  // server. Only the names asked for: localhost when none were.
  std::vector<std::string> hostnames = options.hostnames;
  if (hostnames.empty()) {
    hostnames = {"localhost", "127.0.0.1", "::1"};
  }
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto cert =
      authority.issue_tls_server(key.get(), hostnames, std::chrono::system_clock::now(),
                                 kBrokerCertificateValidity, ca::TlsServerRole::other_service);
  std::vector<crypto::Certificate> served{cert};
  served.insert(served.end(), authority.chain().begin(), authority.chain().end() - 1);

  BrokerSetupResult result;
  result.mosquitto_conf = out / "mosquitto.conf";
  result.certificate_serial = cert.serial_hex();
  common::write_file_atomically(out / "server.key", key.to_pem(), common::kSecretFileMode);
  common::write_file_atomically(out / "server.pem", crypto::pem_bundle(served),
                                common::kPublicFileMode);
  // During a rollover's transition devices still hold certificates of the previous CA: the broker
  // trusts both chains until that CA expires (re-run broker config after it has).
  std::vector<crypto::Certificate> trusted = authority.chain();
  if (const auto& previous = authority.previous()) {
    const auto& old_chain = previous->authority->chain();
    trusted.insert(trusted.end(), old_chain.begin(), old_chain.end());
  }
  common::write_file_atomically(out / "ca.pem", crypto::pem_bundle(trusted),
                                common::kPublicFileMode);
  common::write_file_atomically(out / "crl.pem", crl_pem, common::kPublicFileMode);
  // The plugin's state is the broker's record of every thing: kept when it and the password that
  // logs into it both exist, so re-running this only refreshes the files around it.
  const fs::path dynsec_file = out / "dynamic-security.json";
  result.kept_dynsec_state = fs::exists(dynsec_file) && fs::exists(password_file);
  if (!result.kept_dynsec_state) {
    const auto password = crypto::generate_fleet_secret();
    common::write_file_atomically(dynsec_file,
                                  broker::dynsec_bootstrap_json(broker.admin_username, password),
                                  common::kSecretFileMode);
    fs::create_directories(password_file.parent_path());
    fs::permissions(password_file.parent_path(), fs::perms::owner_all);
    common::write_file_atomically(password_file, password + "\n", common::kSecretFileMode);
  }
  common::write_file_atomically(result.mosquitto_conf, conf_text, common::kPublicFileMode);

  const auto config_file = config.data_dir / kConfigFileName;
  const auto updated =
      replace_broker_table(common::read_file(config_file), broker_config_table(broker));
  common::write_file_atomically(config_file, updated, common::kSecretFileMode);
  load_config(options.data_dir);  // what was written must load
  return result;
}

std::optional<int> running_broker_pid(const BrokerConfig& broker) {
  std::string text;
  try {
    text = common::read_file(broker.pid_file);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  int pid = 0;
  try {
    pid = std::stoi(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (pid <= 1) {
    return std::nullopt;
  }
  // A stale pid file may name a pid that now belongs to another program: signal Mosquitto only.
  std::string comm;
  try {
    comm = common::read_file("/proc/" + std::to_string(pid) + "/comm");
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  if (comm.rfind("mosquitto", 0) != 0) {
    return std::nullopt;
  }
  return pid;
}

CrlDelivery deliver_crl_to_broker(const BrokerConfig& broker, std::string_view crl_pem) {
  CrlDelivery delivery;
  try {
    common::write_file_atomically(broker.crl_file, crl_pem, common::kPublicFileMode);
  } catch (const std::exception& e) {
    delivery.message = std::string("the broker's CRL copy could not be written: ") + e.what();
    return delivery;
  }
  const auto pid = running_broker_pid(broker);
  if (!pid) {
    delivery.ok = true;
    delivery.message = "written to " + broker.crl_file.string() +
                       "; the broker is not running and reads it when it starts";
    return delivery;
  }
  if (::kill(*pid, SIGHUP) != 0) {
    delivery.message = "written to " + broker.crl_file.string() + ", but the broker (pid " +
                       std::to_string(*pid) +
                       ") could not be told to reload it: " + std::strerror(errno);
    return delivery;
  }
  delivery.ok = true;
  delivery.reloaded = true;
  delivery.message = "written to " + broker.crl_file.string() +
                     " and reloaded by the broker (pid " + std::to_string(*pid) + ")";
  return delivery;
}

std::string read_broker_admin_password(const BrokerConfig& broker) {
  return read_fleet_secret(broker.admin_password_file);
}

}  // namespace estfleet::server
