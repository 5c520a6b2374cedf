// est-server: command-line parsing and wiring only; the work is in server/.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>
#include <optional>

#include "common/files.hpp"
#include "server/admin_audit.hpp"
#include "server/admin_broker.hpp"
#include "server/admin_certs.hpp"
#include "server/admin_fleet.hpp"
#include "server/admin_policy.hpp"
#include "server/admin_requests.hpp"
#include "server/admin_things.hpp"
#include "server/ca_rollover.hpp"
#include "server/data_folder.hpp"
#include "server/log_format.hpp"
#include "server/registry_access.hpp"
#include "server/serve.hpp"
#include "server/users.hpp"

namespace {

using namespace estfleet;

std::string strip_trailing_newline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

std::string read_password(const std::string& file) {
  if (!file.empty()) {
    return strip_trailing_newline(common::read_file(file));
  }
  std::string line;
  std::getline(std::cin, line);
  return strip_trailing_newline(line);
}

// The arguments of the admin commands; only one command runs, so they share one set.
struct AdminArgs {
  std::filesystem::path data;
  std::string name;
  std::string profile = "default";
  std::string disable_reason = "cessationOfOperation";
  std::string revoke_reason = "unspecified";
  std::string thing;
  std::optional<int> version;
  bool json = false;
};

CLI::App* admin_command(CLI::App& parent, const std::string& name, const std::string& help,
                        AdminArgs& args, bool takes_json = true) {
  auto* command = parent.add_subcommand(name, help);
  command->add_option("--data", args.data, "data folder")->required();
  if (takes_json) {
    command->add_flag("--json", args.json, "print JSON instead of a table");
  }
  return command;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"est-fleet EST (RFC 7030) enrollment server"};
  app.require_subcommand(1);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  server::InitOptions init;
  std::string import_key;
  std::string import_chain;
  auto* init_cmd = app.add_subcommand("init", "create a data folder: CA, TLS certificate, config");
  init_cmd->add_option("--data", init.data_dir, "data folder")->required();
  init_cmd->add_option("--hostname", init.extra_hostnames,
                       "extra DNS name or IP for the TLS certificate (repeatable)");
  init_cmd->add_flag("--force", init.force, "replace an existing CA (moved aside, not deleted)");
  init_cmd->add_option("--import-ca-key", import_key, "PEM key of an existing issuing CA");
  init_cmd->add_option("--import-ca-chain", import_chain,
                       "PEM chain of that CA: issuing first, root last");
  std::string pkcs11_uri;
  std::string pkcs11_pin_file;
  std::string pkcs11_module;
  init_cmd->add_option("--pkcs11", pkcs11_uri,
                       "generate the issuing CA key inside this PKCS#11 token "
                       "(pkcs11:token=LABEL;object=LABEL); PIN from --pin-file or EST_PKCS11_PIN");
  init_cmd->add_option("--pin-file", pkcs11_pin_file, "file holding the token's user PIN (0600)");
  init_cmd->add_option("--pkcs11-module", pkcs11_module,
                       "the token's PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)");

  server::ServeOptions serve;
  std::string listen;
  std::string port_file;
  auto* serve_cmd = app.add_subcommand("serve", "serve EST over HTTPS");
  serve_cmd->add_option("--data", serve.data_dir, "data folder")->required();
  serve_cmd->add_option("--listen", listen, "HOST:PORT (default from config, 127.0.0.1:8443)");
  serve_cmd->add_option("--port-file", port_file, "write the bound port here once listening");
  std::string metrics_listen;
  std::string metrics_port_file;
  std::string log_format = "text";
  serve_cmd->add_option("--metrics-listen", metrics_listen,
                        "HOST:PORT of the plain-HTTP /metrics, /healthz, /readyz listener "
                        "(default from config: off)");
  serve_cmd->add_option("--metrics-port-file", metrics_port_file,
                        "write the metrics listener's bound port here once listening");
  serve_cmd->add_option("--log-format", log_format, "text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  std::string user_name;
  std::filesystem::path user_data;
  std::string password_file;
  bool replace = false;
  auto* user_cmd = app.add_subcommand("user", "HTTP Basic users");
  user_cmd->require_subcommand(1);
  auto* user_add = user_cmd->add_subcommand("add", "add a user (password from file or stdin)");
  user_add->add_option("NAME", user_name, "user name")->required();
  user_add->add_option("--data", user_data, "data folder")->required();
  user_add->add_option("--password-file", password_file, "file holding the password");
  user_add->add_flag("--replace", replace, "replace the password of an existing user");

  AdminArgs admin;
  auto* fleet_cmd = app.add_subcommand("fleet", "fleet secrets and device passwords");
  fleet_cmd->require_subcommand(1);
  auto* fleet_secret =
      admin_command(*fleet_cmd, "secret", "print a profile's fleet secret", admin, false);
  fleet_secret->add_option("--profile", admin.profile, "profile (default: default)");
  auto* fleet_password =
      admin_command(*fleet_cmd, "password", "print NAME's fleet password", admin, false);
  fleet_password->add_option("NAME", admin.name, "ThingName")->required();
  fleet_password->add_option("--profile", admin.profile, "profile (default: default)");

  auto* things_cmd = app.add_subcommand("things", "registered devices");
  things_cmd->require_subcommand(1);
  auto* things_list = admin_command(*things_cmd, "list", "list things", admin);
  auto* things_show = admin_command(*things_cmd, "show", "a thing and its certificates", admin);
  things_show->add_option("NAME", admin.name, "ThingName")->required();
  auto* things_disable =
      admin_command(*things_cmd, "disable", "disable a thing and revoke its certificates", admin);
  things_disable->add_option("NAME", admin.name, "ThingName")->required();
  things_disable->add_option("--reason", admin.disable_reason, "RFC 5280 reason")
      ->capture_default_str();
  auto* things_enable = admin_command(*things_cmd, "enable", "let a thing enroll again", admin);
  things_enable->add_option("NAME", admin.name, "ThingName")->required();

  auto* certs_cmd = app.add_subcommand("certs", "issued certificates");
  certs_cmd->require_subcommand(1);
  auto* certs_list = admin_command(*certs_cmd, "list", "list certificates, newest first", admin);
  certs_list->add_option("--thing", admin.thing, "only this thing's");
  auto* certs_revoke = admin_command(*certs_cmd, "revoke", "revoke a certificate", admin);
  certs_revoke->add_option("SERIAL", admin.name, "serial (hex)")->required();
  certs_revoke->add_option("--reason", admin.revoke_reason, "RFC 5280 reason")
      ->capture_default_str();

  auto* policy_cmd = app.add_subcommand("policy", "stored AWS IoT policy documents");
  policy_cmd->require_subcommand(1);
  auto* policy_show = admin_command(*policy_cmd, "show", "print a policy document", admin, false);
  policy_show->add_option("NAME", admin.name, "policy name (the ThingName)")->required();
  policy_show->add_option("--version", admin.version, "version (default: the latest)")
      ->check(CLI::Range(1, 1 << 30));

  auto* requests_cmd = app.add_subcommand("requests", "enrollment requests awaiting approval");
  requests_cmd->require_subcommand(1);
  auto* requests_list = admin_command(*requests_cmd, "list", "list requests, oldest first", admin);
  auto* approve_cmd = admin_command(app, "approve", "approve NAME's pending enrollment", admin);
  approve_cmd->add_option("NAME", admin.name, "ThingName")->required();
  auto* reject_cmd = admin_command(
      app, "reject",
      "reject NAME's pending enrollment, or withdraw an approval its device has not collected",
      admin);
  reject_cmd->add_option("NAME", admin.name, "ThingName")->required();

  auto* ca_cmd = app.add_subcommand("ca", "the certificate authority");
  ca_cmd->require_subcommand(1);
  server::CaRolloverOptions rollover;
  std::string rollover_validity;
  std::string rollover_issuing_validity;
  auto* ca_rollover = ca_cmd->add_subcommand(
      "rollover",
      "replace the root and issuing CA with new keys (RFC 7030 4.1.3); the old CA keeps serving "
      "its certificates until its issuing CA expires");
  ca_rollover->add_option("--data", rollover.data_dir, "data folder")->required();
  ca_rollover->add_option("--validity", rollover_validity,
                          "the new root's validity (e.g. 7300d; default 20 years)");
  ca_rollover->add_option("--issuing-validity", rollover_issuing_validity,
                          "the new issuing CA's validity (default 10 years, never past the root)");
  ca_rollover->add_flag("--force", rollover.force,
                        "roll over although the previous rollover's transition is still running "
                        "(that previous CA stops serving its certificates)");

  auto* audit_cmd = app.add_subcommand("audit", "the registry's audit log");
  audit_cmd->require_subcommand(1);
  auto* audit_export =
      admin_command(*audit_cmd, "export", "print audit events, oldest first", admin);
  std::string since = "0";
  audit_export
      ->add_option("--since", since,
                   "from this time: RFC 3339, unix seconds, or a duration before now (24h)")
      ->check([](const std::string& text) {
        try {
          server::parse_since(text, 0);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });

  auto* broker_cmd = app.add_subcommand("broker", "the Mosquitto broker that enforces policies");
  broker_cmd->require_subcommand(1);
  server::BrokerSetupOptions broker_setup;
  auto* broker_config = broker_cmd->add_subcommand(
      "config", "write a Mosquitto 2 configuration and record it in est-server.toml");
  broker_config->add_option("--data", broker_setup.data_dir, "data folder")->required();
  broker_config->add_option("--out", broker_setup.out_dir, "the broker's folder")->required();
  broker_config->add_option("--port", broker_setup.port, "the devices' TLS port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  broker_config
      ->add_option("--admin-port", broker_setup.admin_port,
                   "est-server's admin listener on 127.0.0.1 (default: --port + 1)")
      ->check(CLI::Range(1, 65535));
  broker_config->add_option("--bind", broker_setup.bind_address,
                            "address of the devices' listener (default: every address)");
  broker_config->add_option("--hostname", broker_setup.hostnames,
                            "DNS name or IP devices reach the broker by, for its certificate "
                            "(repeatable; only these; default: localhost, 127.0.0.1, ::1)");
  broker_config->add_option("--plugin", broker_setup.plugin,
                            "mosquitto_dynamic_security.so (default: found under /usr/lib)");
  auto* broker_sync = admin_command(
      *broker_cmd, "sync",
      "apply every thing to the broker now and remove clients that are not things", admin);
  auto* broker_status =
      admin_command(*broker_cmd, "status", "things waiting to be applied to the broker", admin);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help
    }
    std::cerr << "est-server: " << e.what() << "\n";
    return 2;
  }

  try {
    if (*init_cmd) {
      if (!import_key.empty()) {
        init.import_ca_key = import_key;
      }
      if (!import_chain.empty()) {
        init.import_ca_chain = import_chain;
      }
      if (!pkcs11_uri.empty()) {
        init.pkcs11_uri = pkcs11_uri;
      }
      if (!pkcs11_pin_file.empty()) {
        init.pkcs11_pin_file = pkcs11_pin_file;
      }
      if (!pkcs11_module.empty()) {
        init.pkcs11_module = pkcs11_module;
      }
      const auto result = server::initialize_data_folder(init);
      if (result.pkcs11_key) {
        std::cout << "issuing CA key generated inside the token: " << *result.pkcs11_key << "\n";
      }
      if (result.moved_aside) {
        std::cout << "previous CA moved to " << result.moved_aside->string() << "\n";
      }
      std::cout << "data folder ready: " << init.data_dir.string() << "\n"
                << "root CA SHA-256 fingerprint: " << result.root_fingerprint << "\n";
    } else if (*serve_cmd) {
      if (!listen.empty()) {
        serve.listen = listen;
      }
      if (!port_file.empty()) {
        serve.port_file = port_file;
      }
      if (!metrics_listen.empty()) {
        serve.metrics_listen = metrics_listen;
      }
      if (!metrics_port_file.empty()) {
        serve.metrics_port_file = metrics_port_file;
      }
      server::configure_logging(server::parse_log_format(log_format));
      server::serve(serve);
    } else if (*user_add) {
      server::add_user(user_data, user_name, read_password(password_file), replace);
      std::cout << "user " << user_name << " saved\n";
    } else if (*fleet_secret) {
      std::cout << server::fleet_secret(admin.data, admin.profile) << "\n";
    } else if (*fleet_password) {
      std::cout << server::fleet_password(admin.data, admin.name, admin.profile) << "\n";
    } else if (*things_list) {
      std::cout << server::list_things(admin.data, admin.json);
    } else if (*things_show) {
      std::cout << server::show_thing(admin.data, admin.name, admin.json);
    } else if (*things_disable) {
      std::cout << server::disable_thing(admin.data, admin.name, admin.disable_reason, admin.json);
    } else if (*things_enable) {
      std::cout << server::enable_thing(admin.data, admin.name, admin.json);
    } else if (*certs_list) {
      std::cout << server::list_certificates(admin.data, admin.thing, admin.json);
    } else if (*certs_revoke) {
      std::cout << server::revoke_certificate(admin.data, admin.name, admin.revoke_reason,
                                              admin.json);
    } else if (*policy_show) {
      std::cout << server::show_policy(admin.data, admin.name, admin.version);
    } else if (*requests_list) {
      std::cout << server::list_requests(admin.data, admin.json);
    } else if (*ca_rollover) {
      if (!rollover_validity.empty()) {
        rollover.root_validity = server::parse_duration(rollover_validity);
      }
      if (!rollover_issuing_validity.empty()) {
        rollover.issuing_validity = server::parse_duration(rollover_issuing_validity);
      }
      const auto result = server::roll_over_ca(rollover, std::chrono::system_clock::now());
      if (result.dropped_previous) {
        std::cout << "dropped the previous CA " << *result.dropped_previous
                  << " before its transition ended (--force)\n";
      }
      std::cout << "new root CA: " << result.root.subject_text() << "\n"
                << "new root CA SHA-256 fingerprint: " << result.root.sha256_fingerprint() << "\n"
                << "new issuing CA: " << result.issuing.subject_text() << "\n"
                << "OldWithNew link: serial " << result.old_with_new.serial_hex() << "\n"
                << "NewWithOld link: serial " << result.new_with_old.serial_hex() << "\n"
                << "transition until "
                << server::iso_time(std::chrono::duration_cast<std::chrono::seconds>(
                                        result.transition_end.time_since_epoch())
                                        .count())
                << ": cacerts carries both links, and the old CA's certificates still renew\n"
                << "the previous ca/ and tls/ folders are kept in " << result.backup.string()
                << "\n"
                << "restart est-server serve to use the new CA\n";
      for (const auto& warning : result.warnings) {
        std::cerr << "est-server: warning: " << warning << "\n";
      }
    } else if (*broker_config) {
      std::cout << server::configure_broker(broker_setup);
    } else if (*broker_sync) {
      const auto outcome = server::sync_broker(admin.data, admin.json);
      std::cout << outcome.text;
      if (outcome.failed) {
        return 1;
      }
    } else if (*broker_status) {
      std::cout << server::broker_status(admin.data, admin.json);
    } else if (*audit_export) {
      std::cout << server::export_audit(admin.data, server::parse_since(since, server::unix_now()),
                                        admin.json);
    } else if (*approve_cmd || *reject_cmd) {
      std::cout << server::decide_request(admin.data, admin.name, bool(*approve_cmd), admin.json);
    }
  } catch (const std::exception& e) {
    std::cerr << "est-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
