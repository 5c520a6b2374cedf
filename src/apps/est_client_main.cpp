// est-client: command-line parsing and wiring only; the EST work is in client/.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "client/credentials.hpp"
#include "client/csr_attributes.hpp"
#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "client/fleet_config.hpp"
#include "client/provision.hpp"
#include "client/summary_table.hpp"
#include "common/files.hpp"
#include "crypto/key.hpp"
#include "http/client.hpp"

namespace {

using namespace estfleet;
namespace fs = std::filesystem;

constexpr auto kSecretMode = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto kPublicMode = kSecretMode | fs::perms::group_read | fs::perms::others_read;

struct Common {
  std::string server;
  std::string ca_file;
  std::string label;
};

// Adds --server, --ca-file and --label; returns --ca-file.
CLI::Option* add_common(CLI::App* cmd, Common& common, bool ca_required) {
  cmd->add_option("--server", common.server, "EST server URL, e.g. https://localhost:8443")
      ->required();
  auto* ca = cmd->add_option("--ca-file", common.ca_file, "trust anchor PEM (the server's root)");
  if (ca_required) {
    ca->required();
  }
  cmd->add_option("--label", common.label, "EST label (enrollment profile)");
  return ca;
}

client::EstClientOptions client_options(const Common& common) {
  client::EstClientOptions options;
  options.server_url = common.server;
  options.label = common.label;
  if (!common.ca_file.empty()) {
    options.trust_anchors_pem = common::read_file(common.ca_file);
  }
  options.on_pending = [](std::chrono::seconds delay) {
    std::cerr << "est-client: the server holds the request for approval; asking again in "
              << delay.count() << " s\n";
  };
  return options;
}

// A renewed key is of the same kind as the one it replaces.
crypto::KeyType same_type_as(const crypto::PrivateKey& key) {
  const auto d = crypto::describe_key(key.get());
  if (d.algorithm == "ED25519")
    return crypto::KeyType::ed25519;
  if (d.algorithm == "EC" && d.curve == "secp384r1")
    return crypto::KeyType::ec_p384;
  if (d.algorithm == "RSA") {
    return d.bits >= 4096   ? crypto::KeyType::rsa_4096
           : d.bits >= 3072 ? crypto::KeyType::rsa_3072
                            : crypto::KeyType::rsa_2048;
  }
  return crypto::KeyType::ec_p256;
}

std::string pem_bundle(const std::vector<crypto::Certificate>& certs) {
  std::string pem;
  for (const auto& cert : certs) {
    pem += cert.to_pem();
  }
  return pem;
}

struct ProvisionArgs {
  std::string config;
  std::string out;
  std::string server;
  std::string ca_file;
  std::string label;
  bool force = false;
  bool pop = false;
  unsigned wait_seconds = 0;
};

// A usage or configuration problem: reported before any network traffic, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::optional<std::string> environment_variable(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

// The terminal gets a line per device; a pipe or file gets only the summary.
void show_progress(client::ProvisionOptions& options, client::EstClientOptions& est) {
  options.on_start = [](std::size_t index, std::size_t total, const std::string& thing) {
    std::cout << "[" << index + 1 << "/" << total << "] " << thing << " ... " << std::flush;
  };
  options.on_done = [](const client::DeviceOutcome& outcome) {
    std::cout << client::to_string(outcome.result) << "\n";
  };
  est.on_pending = [](std::chrono::seconds delay) {
    std::cout << "pending, asking again in " << delay.count() << " s ... " << std::flush;
  };
}

int run_provision(const ProvisionArgs& args) {
  const auto config = client::load_fleet_config(args.config);
  client::ProvisionOptions options;
  options.fleet_secret = client::read_fleet_secret(config, environment_variable);
  options.force = args.force;
  options.pop = args.pop;

  client::EstClientOptions est;
  est.server_url = args.server.empty() ? config.server_url : args.server;
  try {
    http::parse_url(est.server_url);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--server: ") + e.what());
  }
  est.label = args.label.empty() ? config.label : args.label;
  est.max_pending_wait = std::chrono::seconds(args.wait_seconds);

  if (!args.out.empty()) {
    options.out = args.out;
  } else if (config.output_folder) {
    options.out = *config.output_folder;
  } else {
    throw UsageError("provision needs --out or ESTDetails.OutputFolder in the config");
  }
  std::filesystem::path ca_file = args.ca_file;
  if (ca_file.empty()) {
    if (!config.trust_anchor_file) {
      throw UsageError("provision needs --ca-file or ESTDetails.TrustAnchorFile in the config");
    }
    ca_file = *config.trust_anchor_file;
  }
  try {
    est.trust_anchors_pem = common::read_file(ca_file);
    options.trust_anchors = crypto::Certificate::chain_from_pem(est.trust_anchors_pem);
  } catch (const std::exception& e) {
    throw UsageError("the trust anchor " + ca_file.string() + " is unusable: " + e.what());
  }

  if (::isatty(STDOUT_FILENO) == 1) {
    show_progress(options, est);
  }
  client::EstClient est_client(est);
  const auto outcomes = client::provision(
      config, options, [&](const crypto::PrivateKey& key, const client::EnrollRequest& request) {
        return est_client.enroll(key, request);
      });
  std::cout << client::format_summary(outcomes);
  return client::provision_exit_code(outcomes);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"est-fleet EST (RFC 7030) device client"};
  app.name("est-client");
  app.require_subcommand(1);

  Common cacerts_common;
  std::string fingerprint;
  std::string out;
  auto* cacerts = app.add_subcommand("cacerts", "fetch the CA certificates");
  auto* cacerts_ca = add_common(cacerts, cacerts_common, false);
  cacerts
      ->add_option("--trust-fingerprint", fingerprint,
                   "bootstrap: trust the answer only if its root has this SHA-256 fingerprint")
      ->excludes(cacerts_ca);
  cacerts->add_option("--out", out, "write the chain here as PEM (default: stdout)");

  Common csrattrs_common;
  auto* csrattrs = app.add_subcommand("csrattrs", "show what the server wants in a CSR");
  add_common(csrattrs, csrattrs_common, true);

  Common enroll_common;
  std::string cn;
  std::string user;
  std::string password_file;
  std::string key_type_name = "ec-p256";
  std::string existing_key;
  bool pop = false;
  std::string key_out;
  std::string cert_out;
  auto* enroll = app.add_subcommand("enroll", "generate a key and enroll it");
  add_common(enroll, enroll_common, true);
  enroll->add_option("--cn", cn, "the device's ThingName (certificate CN)")->required();
  enroll->add_option("--user", user, "HTTP Basic user");
  enroll->add_option("--password-file", password_file,
                     "file holding the Basic password (default: $EST_PASSWORD)");
  enroll
      ->add_option("--key-type", key_type_name,
                   "ec-p256 (default), ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519")
      ->check(CLI::IsMember({"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"}));
  enroll->add_option("--key", existing_key, "use this existing private key instead of a new one");
  enroll->add_flag("--pop", pop, "bind the CSR to the TLS connection (proof of possession)");
  enroll->add_option("--key-out", key_out, "where to write the private key (0600)")->required();
  enroll->add_option("--cert-out", cert_out, "where to write the certificate")->required();

  Common reenroll_common;
  std::string cert_file;
  std::string key_file;
  bool keep_key = false;
  bool reenroll_pop = false;
  std::string new_key_out;
  std::string new_cert_out;
  auto* reenroll = app.add_subcommand("reenroll", "renew a certificate over mTLS");
  add_common(reenroll, reenroll_common, true);
  reenroll->add_option("--cert", cert_file, "the current certificate")->required();
  reenroll->add_option("--key", key_file, "the current private key")->required();
  reenroll->add_flag("--keep-key", keep_key, "renew the same key instead of a new one");
  reenroll->add_flag("--pop", reenroll_pop, "bind the CSR to the TLS connection");
  reenroll->add_option("--key-out", new_key_out, "where to write the key (0600)")->required();
  reenroll->add_option("--cert-out", new_cert_out, "where to write the new certificate")
      ->required();

  ProvisionArgs provision_args;
  auto* provision = app.add_subcommand("provision",
                                       "enroll every device of a client_config.json (exit 1 if "
                                       "any failed, 2 usage or config error, 3 if any is pending)");
  provision->add_option("--config", provision_args.config, "client_config.json")->required();
  provision->add_option("--out", provision_args.out,
                        "folder for the <ThingName>/ folders (default: ESTDetails.OutputFolder)");
  provision->add_option("--server", provision_args.server,
                        "EST server URL (default: ESTDetails.ESTAPIURL)");
  provision->add_option("--ca-file", provision_args.ca_file,
                        "trust anchor PEM (default: ESTDetails.TrustAnchorFile)");
  provision->add_option("--label", provision_args.label, "EST label (default: ESTDetails.Label)");
  provision->add_flag("--force", provision_args.force,
                      "enroll afresh with new keys even where a valid certificate is installed");
  provision->add_flag("--pop", provision_args.pop, "bind each CSR to its TLS connection");
  provision
      ->add_option("--wait", provision_args.wait_seconds,
                   "seconds to wait per device for a pending approval (default 0: report it)")
      ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help
    }
    std::cerr << "est-client: " << e.what() << "\n";
    return 2;
  }

  try {
    if (*provision) {
      return run_provision(provision_args);
    }
    if (*cacerts) {
      std::vector<crypto::Certificate> chain;
      if (!fingerprint.empty()) {
        chain = client::EstClient::bootstrap_cacerts(cacerts_common.server, cacerts_common.label,
                                                     fingerprint);
      } else if (!cacerts_common.ca_file.empty()) {
        chain = client::EstClient(client_options(cacerts_common)).cacerts();
      } else {
        std::cerr << "est-client: cacerts needs --ca-file or --trust-fingerprint\n";
        return 2;
      }
      if (out.empty()) {
        std::cout << pem_bundle(chain);
      } else {
        common::prepare_output(out);
        common::write_file_atomically(out, pem_bundle(chain), kPublicMode);
        std::cout << "wrote " << chain.size() << " CA certificate(s) to " << out << "\n";
      }
    } else if (*csrattrs) {
      const auto der = client::EstClient(client_options(csrattrs_common)).csrattrs();
      const auto lines = client::describe_csr_attributes(der);
      if (lines.empty()) {
        std::cout << "the server asks for no particular CSR attributes\n";
      }
      for (const auto& line : lines) {
        std::cout << line << "\n";
      }
    } else if (*enroll) {
      const auto credentials =
          client::basic_credentials(user, password_file, std::getenv("EST_PASSWORD"));
      common::prepare_output(key_out);
      common::prepare_output(cert_out);
      std::optional<crypto::PrivateKey> key;
      if (!existing_key.empty()) {
        key.emplace(crypto::PrivateKey::from_pem(common::read_file(existing_key)));
      } else {
        // --key-type is checked by the parser, so the name is always known here.
        key.emplace(crypto::PrivateKey::generate(*crypto::parse_key_type(key_type_name)));
      }
      const auto cert =
          client::EstClient(client_options(enroll_common)).enroll(*key, cn, credentials, pop);
      // The key is written only once its certificate is in hand and checked.
      common::write_file_atomically(key_out, key->to_pem(), kSecretMode);
      common::write_file_atomically(cert_out, cert.to_pem(), kPublicMode);
      std::cout << "enrolled " << cert.subject_common_name() << ": serial " << cert.serial_hex()
                << ", expires " << client::utc_text(cert.not_after()) << "\n";
    } else if (*reenroll) {
      common::prepare_output(new_key_out);
      common::prepare_output(new_cert_out);
      const auto current = crypto::Certificate::from_pem(common::read_file(cert_file));
      const auto current_key = crypto::PrivateKey::from_pem(common::read_file(key_file));
      if (current.not_after() <= std::chrono::system_clock::now()) {
        throw client::ClientError("the certificate expired at " +
                                  client::utc_text(current.not_after()) +
                                  "; it cannot renew itself: enroll again with bootstrap "
                                  "credentials");
      }
      std::optional<crypto::PrivateKey> fresh;
      if (!keep_key) {
        fresh.emplace(crypto::PrivateKey::generate(same_type_as(current_key)));
      }
      const crypto::PrivateKey& new_key = keep_key ? current_key : *fresh;
      const auto cert = client::EstClient(client_options(reenroll_common))
                            .reenroll(current, current_key, new_key, reenroll_pop);
      common::write_file_atomically(new_key_out, new_key.to_pem(), kSecretMode);
      common::write_file_atomically(new_cert_out, cert.to_pem(), kPublicMode);
      std::cout << "renewed " << cert.subject_common_name() << ": serial " << cert.serial_hex()
                << ", expires " << client::utc_text(cert.not_after()) << "\n";
    }
  } catch (const client::ConfigError& e) {
    std::cerr << "est-client: " << provision_args.config << ": " << e.what() << "\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "est-client: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "est-client: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
