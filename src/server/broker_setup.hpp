// The Mosquitto side of the data plane, as files: `est-server broker config` writes a working
// broker configuration (TLS listener for devices, the dynamic-security plugin, an admin listener
// on loopback for est-server) and records the connection in est-server.toml's [broker] table;
// est-server then keeps the broker's copy of the CRL fresh and tells the broker to reload it.
// See docs/broker.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hpp"

namespace estfleet::server {

struct BrokerSetupOptions {
  std::filesystem::path data_dir;
  std::filesystem::path out_dir;  // the broker's folder: mosquitto.conf and what it names
  std::uint16_t port = 8883;      // the devices' TLS listener
  std::string bind_address;       // empty: every address
  std::uint16_t admin_port = 0;   // 0: port + 1; always bound to 127.0.0.1
  // Names and addresses of the broker in its server certificate, the first one its CN; none:
  // localhost, 127.0.0.1 and ::1.
  std::vector<std::string> hostnames;
  // The dynamic-security plugin; empty: found in the usual library folders.
  std::filesystem::path plugin;
};

struct BrokerSetupResult {
  std::filesystem::path mosquitto_conf;
  bool kept_dynsec_state = false;  // dynamic-security.json and the admin password were kept
  std::string certificate_serial;
};

// Writes <out>/mosquitto.conf, ca.pem, server.pem, server.key (0600), crl.pem and, unless both it
// and the admin password already exist, dynamic-security.json (0600) with a new admin password in
// <data>/broker/admin.password (0600); then rewrites est-server.toml's [broker] table. Throws
// std::runtime_error naming what is wrong (ports, the plugin, a folder that cannot be written),
// before anything is written.
BrokerSetupResult write_broker_setup(const BrokerSetupOptions& options);

// The [broker] table for these settings, as est-server.toml holds it.
std::string broker_config_table(const BrokerConfig& broker);

// `text` (an est-server.toml) with its [broker] table replaced by `table`, or `table` appended.
std::string replace_broker_table(const std::string& text, const std::string& table);

// The dynamic-security plugin in the usual places (Debian's multiarch folder first); nullopt
// when there is none.
std::optional<std::filesystem::path> find_dynsec_plugin();

// Writes `crl_pem` to the broker's crlfile (0644, atomically) and asks the broker to reload it.
// Never throws: says what it did in one sentence ("reloaded by the broker (pid 123)", "the
// broker is not running; it reads the file when it starts", or why it failed); `ok` is false
// only when the file could not be written or the running broker could not be signalled.
struct CrlDelivery {
  bool ok = false;
  bool reloaded = false;
  std::string message;
};
CrlDelivery deliver_crl_to_broker(const BrokerConfig& broker, std::string_view crl_pem);

// The broker's process from its pid_file, if one is running under that pid and it is Mosquitto.
std::optional<int> running_broker_pid(const BrokerConfig& broker);

// The admin password from its file (0600 required).
std::string read_broker_admin_password(const BrokerConfig& broker);

}  // namespace estfleet::server
