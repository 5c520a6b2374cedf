// est-client: command-line parsing and wiring only; the EST work is in client/.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "client/credentials.hpp"
#include "client/csr_attributes.hpp"
#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "client/fleet_config.hpp"
#include "client/pending_key.hpp"
#include "client/provision.hpp"
#include "client/renew.hpp"
#include "client/server_keygen.hpp"
#include "client/summary_table.hpp"
#include "client/trust_update.hpp"
#include "common/files.hpp"
#include "crypto/key.hpp"
#include "http/client.hpp"

namespace {

using namespace estfleet;
namespace fs = std::filesystem;

// A usage or configuration problem: reported before any network traffic, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The self-signed roots of the anchor file `path` (client::trust_anchors_from_pem). Throws
// UsageError naming the file.
std::vector<crypto::Certificate> trust_anchors(const fs::path& path) {
  try {
    return client::trust_anchors_from_pem(common::read_file(path));
  } catch (const std::exception& e) {
    throw UsageError("the trust anchor " + path.string() + " is unusable: " + e.what());
  }
}

struct Common {
  std::string server;
  std::string ca_file;
  std::string label;
  bool no_ra_check = false;
};

constexpr const char* kNoRaCheckHelp =
    "accept a server certificate without id-kp-cmcRA (an EST server other than est-fleet's); "
    "by default only est-fleet's EST server certificate is accepted, never its broker's";

client::EstServerMark server_mark(bool no_ra_check) {
  return no_ra_check ? client::EstServerMark::not_required : client::EstServerMark::required;
}

// Adds --server, --ca-file and --label; returns --ca-file.
CLI::Option* add_common(CLI::App* cmd, Common& common, bool ca_required) {
  cmd->add_option("--server", common.server, "EST server URL, e.g. https://localhost:8443")
      ->required();
  auto* ca = cmd->add_option("--ca-file", common.ca_file, "trust anchor PEM (the server's root)");
  if (ca_required) {
    ca->required();
  }
  cmd->add_option("--label", common.label, "EST label (enrollment profile)");
  cmd->add_flag("--no-ra-check", common.no_ra_check, kNoRaCheckHelp);
  return ca;
}

client::EstClientOptions client_options(const Common& common) {
  client::EstClientOptions options;
  options.server_url = common.server;
  options.label = common.label;
  options.server_mark = server_mark(common.no_ra_check);
  if (!common.ca_file.empty()) {
    options.trust_anchors_pem = crypto::pem_bundle(trust_anchors(common.ca_file));
  }
  options.on_pending = [](std::chrono::seconds delay) {
    std::cerr << "est-client: the server holds the request for approval; asking again in "
              << delay.count() << " s\n";
  };
  return options;
}

// csrattrs are advice (client::advised_csr_template): what was wrong with them goes to stderr.
void warn(const std::string& line) {
  std::cerr << "est-client: warning: " << line << "\n";
}

struct ProvisionArgs {
  std::string config;
  std::string out;
  std::string server;
  std::string ca_file;
  std::string label;
  bool force = false;
  bool pop = false;
  bool require_csrattrs = false;
  bool no_ra_check = false;
  unsigned wait_seconds = 0;
};

// Two of these options naming one file (after ./x, links and hard links are resolved) would
// write over each other: a certificate written over the only copy of its new key loses the key.
// Each pair is (option, path); empty paths were not given. Throws UsageError before any traffic.
void refuse_same_file(const std::vector<std::pair<std::string_view, std::string>>& named) {
  for (std::size_t i = 0; i < named.size(); ++i) {
    for (std::size_t j = i + 1; j < named.size(); ++j) {
      const auto& [first, first_path] = named[i];
      const auto& [second, second_path] = named[j];
      if (!first_path.empty() && !second_path.empty() &&
          common::same_file(first_path, second_path)) {
        throw UsageError(std::string(first) + " and " + std::string(second) +
                         " name the same file (" + first_path + " and " + second_path +
                         "): the key and the certificate need a file each, or one would "
                         "overwrite the other");
      }
    }
  }
}

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

struct RenewArgs {
  std::string config;
  std::string out;
  std::string cert;
  std::string key;
  std::string out_cert;
  std::string out_key;
  std::string server;
  std::string ca_file;
  std::string label;
  std::string threshold;
  std::string retry_min = "5s";
  std::string retry_max = "1h";
  bool watch = false;
  bool keep_key = false;
  bool now = false;
  bool pop = false;
  bool no_ra_check = false;
  unsigned wait_seconds = 0;
};

// SIGTERM and SIGINT, blocked so that --watch takes them synchronously between renewals.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Sleeps until `until` unless SIGTERM or SIGINT arrives (then false).
bool sleep_unless_stopped(crypto::TimePoint until) {
  const auto set = stop_signals();
  while (true) {
    const auto left = until - std::chrono::system_clock::now();
    if (left <= std::chrono::system_clock::duration::zero()) {
      siginfo_t info{};
      const timespec zero{0, 0};
      return ::sigtimedwait(&set, &info, &zero) < 0;
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec wait{static_cast<time_t>(ns / 1'000'000'000),
                        static_cast<long>(ns % 1'000'000'000)};
    siginfo_t info{};
    const int signal = ::sigtimedwait(&set, &info, &wait);
    if (signal > 0) {
      std::cout << client::utc_text(std::chrono::system_clock::now()) << " stopping on "
                << (signal == SIGTERM ? "SIGTERM" : "SIGINT") << std::endl;
      return false;
    }
    // EAGAIN (timed out) or EINTR: look at the clock again.
  }
}

std::filesystem::path renew_anchor_file(const RenewArgs& args, const client::FleetConfig* config) {
  if (!args.ca_file.empty()) {
    return args.ca_file;
  }
  if (config != nullptr && config->trust_anchor_file) {
    return *config->trust_anchor_file;
  }
  return {};
}

// The devices to renew, checked before anything is sent. Throws UsageError.
std::vector<client::RenewTarget> renew_targets(const RenewArgs& args,
                                               const client::FleetConfig* config,
                                               const std::vector<crypto::Certificate>& anchors) {
  std::vector<client::RenewTarget> targets;
  if (config == nullptr) {
    const fs::path cert(args.cert);
    const fs::path key(args.key);
    client::RenewTarget target;
    target.folder = cert.has_parent_path() ? cert.parent_path() : fs::path(".");
    target.names.certificate = cert.filename().string();
    target.names.key = key.filename().string();
    target.trust_anchors = anchors;
    if (!args.out_cert.empty()) {
      target.out_certificate = args.out_cert;
      target.out_key = args.out_key;
    } else if (fs::absolute(target.folder).lexically_normal() !=
               fs::absolute(key.has_parent_path() ? key.parent_path() : fs::path("."))
                   .lexically_normal()) {
      throw UsageError(
          "renewing in place needs --cert and --key in the same folder, so that the pair can be "
          "swapped at once; give --out-cert and --out-key to write the new pair elsewhere");
    }
    try {
      target.name = crypto::Certificate::from_pem(common::read_file(cert)).subject_common_name();
    } catch (const std::exception& e) {
      throw UsageError(std::string("--cert: ") + e.what());
    }
    targets.push_back(std::move(target));
    return targets;
  }
  fs::path out = args.out;
  if (out.empty()) {
    if (!config->output_folder) {
      throw UsageError("renew needs --out or ESTDetails.OutputFolder in the config");
    }
    out = *config->output_folder;
  }
  for (const auto& device : config->devices) {
    const auto& thing = device.iot_details.thing_name;
    client::RenewTarget target;
    target.name = thing;
    target.folder = out / thing;
    target.thing_name = thing;
    target.extensions = client::device_extensions(device.iot_details, config->region);
    target.trust_anchors = anchors;
    targets.push_back(std::move(target));
  }
  return targets;
}

int run_renew(const RenewArgs& args) {
  // Before anything else, so that no thread started later takes the signals instead.
  const auto signals = stop_signals();
  if (args.watch) {
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  }
  const bool single = !args.cert.empty();
  if (single == !args.config.empty()) {
    throw UsageError("renew needs either --config (every device) or --cert and --key (one)");
  }
  if (single && (args.key.empty() || args.server.empty() || args.ca_file.empty())) {
    throw UsageError("renew --cert needs --key, --server and --ca-file");
  }
  if (!single && (!args.cert.empty() || !args.key.empty() || !args.out_cert.empty() ||
                  !args.out_key.empty())) {
    throw UsageError("--key, --out-cert and --out-key go with --cert, not with --config");
  }
  if (args.out_cert.empty() != args.out_key.empty()) {
    throw UsageError("--out-cert and --out-key go together");
  }
  if (args.watch && !args.out_cert.empty()) {
    throw UsageError("--watch renews in place; it cannot write to --out-cert/--out-key");
  }
  // One combined PEM as --cert and --key reads fine, but the renewal writes the key and the
  // certificate under those two names.
  refuse_same_file({{"--cert", args.cert}, {"--key", args.key}});
  refuse_same_file({{"--out-cert", args.out_cert}, {"--out-key", args.out_key}});

  std::optional<client::FleetConfig> config;
  if (!single) {
    try {
      config = client::load_fleet_config(args.config);
    } catch (const client::ConfigError& e) {
      throw UsageError(args.config + ": " + e.what());
    }
  }
  client::RenewOptions options;
  options.keep_key = args.keep_key;
  options.ignore_threshold = args.now;
  options.pop = args.pop;
  client::WatchOptions watch_options;
  try {
    if (!args.threshold.empty()) {
      options.threshold = client::RenewalThreshold::parse(args.threshold);
    } else if (config && config->renewal_threshold) {
      options.threshold = *config->renewal_threshold;
    }
    watch_options.retry_min = client::parse_positive_duration(args.retry_min, "--retry-min");
    watch_options.retry_max = client::parse_positive_duration(args.retry_max, "--retry-max");
  } catch (const client::ClientError& e) {
    throw UsageError(e.what());
  }
  if (watch_options.retry_max < watch_options.retry_min) {
    throw UsageError("--retry-max must not be shorter than --retry-min");
  }

  const std::string server = !args.server.empty() ? args.server : config->server_url;
  try {
    http::parse_url(server);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--server: ") + e.what());
  }
  const std::string label = !args.label.empty() ? args.label : (config ? config->label : "");
  std::vector<crypto::Certificate> anchors;
  if (const auto anchor_file = renew_anchor_file(args, config ? &*config : nullptr);
      !anchor_file.empty()) {
    anchors = trust_anchors(anchor_file);
  }
  const auto targets = renew_targets(args, config ? &*config : nullptr, anchors);

  const auto reenroll =
      [&](const crypto::Certificate& current, const crypto::PrivateKey& current_key,
          const crypto::PrivateKey& new_key, const client::ReenrollRequest& request,
          const std::string& anchors_pem) {
        client::EstClientOptions est;
        est.server_url = server;
        est.label = label;
        est.trust_anchors_pem = anchors_pem;
        est.server_mark = server_mark(args.no_ra_check);
        // --watch never blocks on one device: a 202 is scheduled with its Retry-After instead.
        est.max_pending_wait =
            args.watch ? std::chrono::seconds(0) : std::chrono::seconds(args.wait_seconds);
        est.on_pending = [](std::chrono::seconds delay) {
          std::cerr << "est-client: the server holds the renewal for approval; asking again in "
                    << delay.count() << " s\n";
        };
        return client::EstClient(est).reenroll(current, current_key, new_key, request);
      };

  if (args.watch) {
    std::cout << client::utc_text(std::chrono::system_clock::now()) << " watching "
              << targets.size() << (targets.size() == 1 ? " device" : " devices") << " (threshold "
              << options.threshold.text() << ", retries " << args.retry_min << " .. "
              << args.retry_max << ")" << std::endl;
    client::WatchHooks hooks;
    hooks.now = [] { return std::chrono::system_clock::now(); };
    hooks.sleep_until = sleep_unless_stopped;
    hooks.log = [](const std::string& line) { std::cout << line << std::endl; };
    std::mt19937_64 random(std::random_device{}());
    client::watch(targets, options, watch_options, reenroll, hooks, random);
    return 0;
  }

  std::vector<client::DeviceOutcome> outcomes;
  outcomes.reserve(targets.size());
  for (const auto& target : targets) {
    outcomes.push_back(
        client::renew_device(target, options, reenroll, std::chrono::system_clock::now()).outcome);
  }
  std::cout << client::format_summary(
      outcomes, {client::DeviceResult::renewed, client::DeviceResult::skipped,
                 client::DeviceResult::pending, client::DeviceResult::failed});
  return client::provision_exit_code(outcomes);
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
  est.server_mark = server_mark(args.no_ra_check);

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
  options.trust_anchors = trust_anchors(ca_file);
  est.trust_anchors_pem = crypto::pem_bundle(options.trust_anchors);

  if (::isatty(STDOUT_FILENO) == 1) {
    show_progress(options, est);
  }
  client::EstClient est_client(est);
  // The server's csrattrs decide the key type and subject attributes beside the CN.
  const auto wanted = client::advised_csr_template([&] { return est_client.csrattrs(); },
                                                   args.require_csrattrs, warn);
  options.required_key_type = wanted.key_type;
  options.fixed_subject = wanted.fixed_subject;
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
  std::string chain_out;
  auto* cacerts = app.add_subcommand("cacerts", "fetch the CA certificates");
  auto* cacerts_ca = add_common(cacerts, cacerts_common, false);
  cacerts
      ->add_option("--trust-fingerprint", fingerprint,
                   "bootstrap: trust the answer only if its root has this SHA-256 fingerprint")
      ->excludes(cacerts_ca);
  cacerts->add_option("--out", out,
                      "write the root CA certificate(s) here as PEM: a trust anchor file for "
                      "--ca-file and TrustAnchorFile");
  cacerts->add_option("--chain-out", chain_out,
                      "write the whole answer (issuing CA and all) here as PEM; without --out "
                      "and --chain-out it goes to stdout");

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
  bool require_csrattrs = false;
  std::string key_out;
  std::string cert_out;
  auto* enroll = app.add_subcommand("enroll", "generate a key and enroll it");
  add_common(enroll, enroll_common, true);
  enroll->add_option("--cn", cn, "the device's ThingName (certificate CN)")->required();
  enroll->add_option("--user", user, "HTTP Basic user");
  enroll->add_option("--password-file", password_file,
                     "file holding the Basic password (default: $EST_PASSWORD)");
  auto* enroll_key_type =
      enroll->add_option("--key-type", key_type_name,
                         "ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519 (default: what "
                         "the server's csrattrs ask for, else ec-p256)");
  enroll_key_type->check(
      CLI::IsMember({"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"}));
  enroll->add_option("--key", existing_key, "use this existing private key instead of a new one");
  enroll->add_flag("--pop", pop, "bind the CSR to the TLS connection (proof of possession)");
  enroll->add_flag("--require-csrattrs", require_csrattrs,
                   "fail when the server's csrattrs are missing or unreadable (default: warn and "
                   "enroll as configured)");
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

  Common keygen_common;
  std::string keygen_cn;
  std::string keygen_user;
  std::string keygen_password_file;
  std::string keygen_key_type = "ec-p256";
  std::string decrypt_cert;
  std::string decrypt_key;
  bool keygen_pop = false;
  std::string keygen_key_out;
  std::string keygen_cert_out;
  auto* serverkeygen = app.add_subcommand(
      "serverkeygen", "enroll with a key the server generates (RFC 7030 serverkeygen)");
  add_common(serverkeygen, keygen_common, true);
  serverkeygen->add_option("--cn", keygen_cn, "the device's ThingName (certificate CN)")
      ->required();
  serverkeygen->add_option("--user", keygen_user, "HTTP Basic user");
  serverkeygen->add_option("--password-file", keygen_password_file,
                           "file holding the Basic password (default: $EST_PASSWORD)");
  serverkeygen
      ->add_option("--key-type", keygen_key_type,
                   "the key type asked for (the server's profile may fix another): ec-p256 "
                   "(default), ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519")
      ->check(CLI::IsMember({"ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"}));
  auto* decrypt_cert_option = serverkeygen->add_option(
      "--decrypt-cert", decrypt_cert,
      "have the key encrypted to this certificate (RSA or EC, with a subjectKeyIdentifier), "
      "which is also presented as the TLS client certificate");
  auto* decrypt_key_option = serverkeygen->add_option(
      "--decrypt-key", decrypt_key, "the private key of --decrypt-cert, to open the key with");
  decrypt_cert_option->needs(decrypt_key_option);
  decrypt_key_option->needs(decrypt_cert_option);
  serverkeygen->add_flag("--pop", keygen_pop, "bind the CSR to the TLS connection");
  serverkeygen->add_option("--key-out", keygen_key_out, "where to write the private key (0600)")
      ->required();
  serverkeygen->add_option("--cert-out", keygen_cert_out, "where to write the certificate")
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
  provision->add_flag("--no-ra-check", provision_args.no_ra_check, kNoRaCheckHelp);
  provision->add_flag("--require-csrattrs", provision_args.require_csrattrs,
                      "fail when the server's csrattrs are missing or unreadable (default: warn "
                      "and enroll as configured)");
  provision
      ->add_option("--wait", provision_args.wait_seconds,
                   "seconds to wait per device for a pending approval (default 0: report it)")
      ->check(CLI::NonNegativeNumber);

  RenewArgs renew_args;
  auto* renew = app.add_subcommand(
      "renew",
      "renew every device past its renewal threshold over mTLS (--config), or one (--cert/--key); "
      "exit 1 if any failed, 2 usage or config error, 3 if any is pending");
  renew->add_option("--config", renew_args.config, "client_config.json: renew all its devices");
  renew->add_option("--out", renew_args.out,
                    "folder of the <ThingName>/ folders (default: ESTDetails.OutputFolder)");
  renew->add_option("--cert", renew_args.cert, "one device: its certificate");
  renew->add_option("--key", renew_args.key, "one device: its private key");
  renew->add_option("--out-cert", renew_args.out_cert,
                    "one device: write the new certificate here instead of in place");
  renew->add_option("--out-key", renew_args.out_key,
                    "one device: write the new key here (0600) instead of in place");
  renew->add_option("--server", renew_args.server,
                    "EST server URL (default: ESTDetails.ESTAPIURL)");
  renew->add_option("--ca-file", renew_args.ca_file,
                    "trust anchor PEM (default: ESTDetails.TrustAnchorFile, else each device's "
                    "root_ca.pem)");
  renew->add_option("--label", renew_args.label, "EST label (default: ESTDetails.Label)");
  renew->add_option("--threshold", renew_args.threshold,
                    "renew after this share of the lifetime (80%) or this long before expiry "
                    "(7d, 12h, 30m, 45s); default ESTDetails.RenewalThreshold, else 80%");
  renew->add_flag("--keep-key", renew_args.keep_key, "renew the same key instead of a new one");
  renew->add_flag("--now", renew_args.now, "renew even before the threshold");
  renew->add_flag("--pop", renew_args.pop, "bind each CSR to its TLS connection");
  renew->add_flag("--no-ra-check", renew_args.no_ra_check, kNoRaCheckHelp);
  renew->add_flag("--watch", renew_args.watch,
                  "keep running: renew each device when due, retry failures with backoff; stop "
                  "with SIGTERM or SIGINT");
  renew
      ->add_option("--wait", renew_args.wait_seconds,
                   "without --watch: seconds to wait per device for a pending approval")
      ->check(CLI::NonNegativeNumber);
  renew->add_option("--retry-min", renew_args.retry_min,
                    "--watch: shortest wait before retrying a failed renewal (default 5s)");
  renew->add_option("--retry-max", renew_args.retry_max,
                    "--watch: longest wait before retrying a failed renewal (default 1h)");

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
    if (*renew) {
      return run_renew(renew_args);
    }
    if (*cacerts) {
      refuse_same_file({{"--out", out}, {"--chain-out", chain_out}});
      std::vector<crypto::Certificate> chain;
      // What --out may write: roots only. Taking the whole answer for an anchor file would make
      // the issuing CA an anchor, whose online key could then vouch for a root of its own.
      std::vector<crypto::Certificate> roots;
      if (!fingerprint.empty()) {
        auto pinned =
            client::EstClient::bootstrap_cacerts(client_options(cacerts_common), fingerprint);
        chain = std::move(pinned.chain);
        roots = {std::move(pinned.root)};
      } else if (!cacerts_common.ca_file.empty()) {
        const auto options = client_options(cacerts_common);
        chain = client::EstClient(options).cacerts();
        roots =
            client::roots_to_trust(crypto::Certificate::chain_from_pem(options.trust_anchors_pem),
                                   chain, std::chrono::system_clock::now());
      } else {
        std::cerr << "est-client: cacerts needs --ca-file or --trust-fingerprint\n";
        return 2;
      }
      if (out.empty() && chain_out.empty()) {
        std::cout << crypto::pem_bundle(chain);
      }
      if (!out.empty()) {
        common::prepare_output(out);
        common::write_file_atomically(out, crypto::pem_bundle(roots), common::kPublicFileMode);
        std::cout << "wrote " << roots.size() << " root CA certificate(s) to " << out << "\n";
      }
      if (!chain_out.empty()) {
        common::prepare_output(chain_out);
        common::write_file_atomically(chain_out, crypto::pem_bundle(chain),
                                      common::kPublicFileMode);
        std::cout << "wrote " << chain.size() << " CA certificate(s) to " << chain_out << "\n";
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
      refuse_same_file({{"--key-out", key_out}, {"--cert-out", cert_out}});
      refuse_same_file({{"--key", existing_key}, {"--cert-out", cert_out}});
      const auto credentials =
          client::basic_credentials(user, password_file, std::getenv("EST_PASSWORD"));
      common::prepare_output(key_out);
      common::prepare_output(cert_out);
      client::EstClient est_client(client_options(enroll_common));
      // The server's csrattrs: the key type unless --key-type or --key decides, and the subject
      // attributes it fixes beside the CN.
      const auto wanted = client::advised_csr_template([&] { return est_client.csrattrs(); },
                                                       require_csrattrs, warn);
      std::optional<crypto::PrivateKey> key;
      // A key made here is saved beside --key-out before it is sent, and taken again by the
      // next run while no certificate came: an answer that was lost is then asked again with
      // the same key, which the server answers with the same certificate.
      const fs::path pending_key = client::enroll_pending_key(key_out, cn);
      if (!existing_key.empty()) {
        key.emplace(crypto::PrivateKey::from_pem(common::read_file(existing_key)));
      } else {
        // --key-type is checked by the parser, so the name is always known here.
        const auto type = enroll_key_type->count() == 0 && wanted.key_type
                              ? *wanted.key_type
                              : *crypto::parse_key_type(key_type_name);
        const auto installed = [&cert_out](const crypto::PrivateKey& saved) {
          std::error_code missing;
          if (!fs::is_regular_file(cert_out, missing)) {
            return false;
          }
          try {
            return crypto::Certificate::from_pem(common::read_file(cert_out))
                .matches_private_key(saved.get());
          } catch (const std::exception&) {
            return false;
          }
        };
        auto requested = client::request_key(
            pending_key, [type] { return crypto::PrivateKey::generate(type); }, false, installed);
        if (!requested.note.empty()) {
          std::cerr << "est-client: " << requested.note << " (" << pending_key.string() << ")\n";
        }
        key.emplace(std::move(requested.key));
      }
      client::EnrollRequest request{cn, credentials, pop, {}};
      request.subject_der = client::subject_with_template(cn, wanted.fixed_subject);
      const auto cert = est_client.enroll(*key, request).certificate;
      common::write_file_atomically(key_out, key->to_pem(), common::kSecretFileMode);
      common::write_file_atomically(cert_out, cert.to_pem(), common::kPublicFileMode);
      std::error_code ignored;
      fs::remove(pending_key, ignored);
      std::cout << "enrolled " << cert.subject_common_name() << ": serial " << cert.serial_hex()
                << ", expires " << client::utc_text(cert.not_after()) << "\n";
    } else if (*serverkeygen) {
      refuse_same_file({{"--key-out", keygen_key_out}, {"--cert-out", keygen_cert_out}});
      refuse_same_file({{"--decrypt-key", decrypt_key}, {"--key-out", keygen_key_out}});
      refuse_same_file({{"--decrypt-key", decrypt_key}, {"--cert-out", keygen_cert_out}});
      client::ServerKeygenRequest request;
      request.common_name = keygen_cn;
      request.credentials =
          client::basic_credentials(keygen_user, keygen_password_file, std::getenv("EST_PASSWORD"));
      request.pop = keygen_pop;
      request.key_type_hint = *crypto::parse_key_type(keygen_key_type);
      if (!decrypt_cert.empty()) {
        request.decrypt_certificate =
            crypto::Certificate::from_pem(common::read_file(decrypt_cert));
        request.decrypt_key = crypto::PrivateKey::from_pem(common::read_file(decrypt_key));
      }
      common::prepare_output(keygen_key_out);
      common::prepare_output(keygen_cert_out);
      const auto options = client_options(keygen_common);
      client::EstClient est_client(options);
      const auto issued = client::server_keygen(est_client, request, options.trust_anchors_pem);
      common::write_file_atomically(keygen_key_out, issued.key.to_pem(), common::kSecretFileMode);
      common::write_file_atomically(keygen_cert_out, issued.certificate.to_pem(),
                                    common::kPublicFileMode);
      std::cout << "enrolled " << issued.certificate.subject_common_name()
                << " with a server-generated " << crypto::describe_key(issued.key.get()).to_string()
                << " key (" << (issued.enveloped ? "encrypted to the decryption key" : "PKCS#8")
                << "): serial " << issued.certificate.serial_hex() << ", expires "
                << client::utc_text(issued.certificate.not_after()) << "\n";
    } else if (*reenroll) {
      refuse_same_file({{"--key-out", new_key_out}, {"--cert-out", new_cert_out}});
      common::prepare_output(new_key_out);
      common::prepare_output(new_cert_out);
      const auto current = crypto::Certificate::from_pem(common::read_file(cert_file));
      const auto current_key = crypto::PrivateKey::from_pem(common::read_file(key_file));
      if (current.not_after() <= std::chrono::system_clock::now()) {
        throw client::ClientError(client::expired_reason(current));
      }
      std::optional<crypto::PrivateKey> fresh;
      if (!keep_key) {
        fresh.emplace(crypto::PrivateKey::generate(client::same_key_type(current_key)));
      }
      const crypto::PrivateKey& new_key = keep_key ? current_key : *fresh;
      const auto cert = client::EstClient(client_options(reenroll_common))
                            .reenroll(current, current_key, new_key, reenroll_pop);
      common::write_file_atomically(new_key_out, new_key.to_pem(), common::kSecretFileMode);
      common::write_file_atomically(new_cert_out, cert.to_pem(), common::kPublicFileMode);
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
