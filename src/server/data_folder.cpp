#include "server/data_folder.hpp"

#include <chrono>
#include <stdexcept>

#include "ca/authority.hpp"
#include "ca/bootstrap.hpp"
#include "common/files.hpp"
#include "crypto/key.hpp"
#include "crypto/pkcs11_key.hpp"
#include "server/ca_key.hpp"
#include "server/config.hpp"
#include "server/fleet_secret_file.hpp"
#include "server/registry_access.hpp"
#include "server/revocation_files.hpp"
#include "server/tls_identity.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;

// With --force the previous CA is moved, never deleted: a replaced CA key may still be needed
// to revoke what it issued.
fs::path move_previous_ca_aside(const fs::path& data_dir) {
  const auto stamp = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  fs::path aside = data_dir / ("replaced-" + std::to_string(stamp));
  common::create_private_directory(aside);
  for (const char* name : {"ca", "tls"}) {
    if (fs::exists(data_dir / name)) {
      fs::rename(data_dir / name, aside / name);
    }
  }
  return aside;
}

// The configuration init writes for a CA key in a token: ca.key is the URI (and the PIN file and
// module when given), instead of ca/issuing.key.
std::string config_text_for_token(const crypto::Pkcs11Uri& uri,
                                  const std::optional<fs::path>& pin_file,
                                  const std::optional<fs::path>& module) {
  std::string text = default_config_text();
  const std::string file_line =
      "key = \"ca/issuing.key\"          # the issuing CA's private key (0600)\n";
  const auto at = text.find(file_line);
  if (at == std::string::npos) {
    throw std::logic_error("the default configuration has no [ca] key line to replace");
  }
  std::string lines =
      "key = \"" + uri.to_string() + "\"  # the issuing CA's key, inside a PKCS#11 token\n";
  if (pin_file) {
    lines += "pin_file = \"" + fs::absolute(*pin_file).string() + "\"  # the token's user PIN\n";
  } else {
    lines +=
        "# The token's user PIN: pin_file = \"/path\" (0600), or EST_PKCS11_PIN in the "
        "environment.\n";
  }
  if (module) {
    lines += "pkcs11_module = \"" + fs::absolute(*module).string() + "\"\n";
  }
  return text.replace(at, file_line.size(), lines);
}

// What init --pkcs11 needs, checked before anything is created: the URI, the PIN, and an
// existing configuration (kept across --force) that would use that key.
struct TokenPlan {
  crypto::Pkcs11Uri uri;
  crypto::Pkcs11Access access;
};

TokenPlan plan_token_key(const InitOptions& options) {
  TokenPlan plan;
  try {
    plan.uri = crypto::Pkcs11Uri::parse(*options.pkcs11_uri);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("--pkcs11: " + std::string(e.what()));
  }
  const auto& dir = options.data_dir;
  if (fs::exists(dir / kConfigFileName)) {
    const auto existing = load_config(dir);
    if (!existing.ca_key_pkcs11 || existing.ca_key_pkcs11->token != plan.uri.token ||
        existing.ca_key_pkcs11->object != plan.uri.object) {
      throw std::runtime_error((dir / kConfigFileName).string() +
                               " exists and its ca.key is not this PKCS#11 key; set [ca] key = \"" +
                               plan.uri.to_string() + "\" there first, or init a new folder");
    }
  }
  plan.access.pin = read_pkcs11_pin(options.pkcs11_pin_file);
  if (options.pkcs11_module) {
    plan.access.module = *options.pkcs11_module;
  }
  return plan;
}

}  // namespace

InitResult initialize_data_folder(const InitOptions& options) {
  const fs::path& dir = options.data_dir;
  InitResult result;
  std::optional<TokenPlan> token;
  if (options.pkcs11_uri) {
    if (options.import_ca_key) {
      throw std::runtime_error("--pkcs11 creates a new issuing key; it cannot import one too");
    }
    token = plan_token_key(options);
  } else if (options.pkcs11_pin_file || options.pkcs11_module) {
    throw std::runtime_error("--pin-file and --pkcs11-module go with --pkcs11");
  }
  const bool holds_ca =
      fs::exists(dir / "ca" / "root.pem") || fs::exists(dir / "ca" / "issuing.key");
  if (holds_ca && !options.force) {
    throw std::runtime_error(dir.string() +
                             " already holds a CA; pass --force to replace it (the old one is "
                             "moved aside, not deleted)");
  }
  if (options.import_ca_key.has_value() != options.import_ca_chain.has_value()) {
    throw std::runtime_error("importing a CA needs both --import-ca-key and --import-ca-chain");
  }
  // The token key first: when the token refuses (an object of that name exists, the PIN is
  // wrong), nothing has been created or moved yet. What comes back is a handle; the key stays.
  std::optional<crypto::PrivateKey> token_key;
  if (token) {
    token->uri =
        crypto::generate_pkcs11_key(token->uri, token->access, ca::NewCaOptions{}.issuing_key_type);
    token_key.emplace(crypto::load_pkcs11_private_key(token->uri, token->access));
  }
  if (holds_ca) {
    result.moved_aside = move_previous_ca_aside(dir);
  }
  common::create_private_directory(dir);
  common::create_private_directory(dir / "ca");
  common::create_private_directory(dir / "tls");
  const auto now = std::chrono::system_clock::now();

  std::optional<ca::Authority> authority;
  std::string issuing_key_pem;
  if (options.import_ca_key) {
    authority.emplace(ca::Authority::load(*options.import_ca_key, *options.import_ca_chain));
    if (authority->root().subject_der() != authority->root().issuer_der()) {
      throw std::runtime_error("the imported chain must end with its self-signed root");
    }
    issuing_key_pem =
        crypto::PrivateKey::from_pem(common::read_file(*options.import_ca_key)).to_pem();
  } else if (token_key) {
    auto fresh = ca::create_ca(ca::NewCaOptions{}, now, std::move(*token_key));
    common::write_file_atomically(dir / "ca" / "root.key", fresh.root_key.to_pem(),
                                  common::kSecretFileMode);
    authority.emplace(std::move(fresh.issuing_key),
                      std::vector<crypto::Certificate>{fresh.issuing, fresh.root});
    result.pkcs11_key = token->uri.to_string();
  } else {
    auto fresh = ca::create_ca(ca::NewCaOptions{}, now);
    common::write_file_atomically(dir / "ca" / "root.key", fresh.root_key.to_pem(),
                                  common::kSecretFileMode);
    issuing_key_pem = fresh.issuing_key.to_pem();
    authority.emplace(std::move(fresh.issuing_key),
                      std::vector<crypto::Certificate>{fresh.issuing, fresh.root});
  }
  if (!token) {
    common::write_file_atomically(dir / "ca" / "issuing.key", issuing_key_pem,
                                  common::kSecretFileMode);
  }
  common::write_file_atomically(dir / "ca" / "issuing.pem",
                                authority->issuing_certificate().to_pem(), common::kPublicFileMode);
  common::write_file_atomically(dir / "ca" / "chain.pem", crypto::pem_bundle(authority->chain()),
                                common::kPublicFileMode);
  common::write_file_atomically(dir / "ca" / "root.pem", authority->root().to_pem(),
                                common::kPublicFileMode);

  std::vector<std::string> hostnames{"localhost", "127.0.0.1", "::1"};
  hostnames.insert(hostnames.end(), options.extra_hostnames.begin(), options.extra_hostnames.end());
  const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto tls_cert = authority->issue_tls_server(
      tls_key.get(), hostnames, now, kServerCertificateValidity, ca::TlsServerRole::est_server);
  common::write_file_atomically(dir / "tls" / "server.key", tls_key.to_pem(),
                                common::kSecretFileMode);
  std::vector<crypto::Certificate> tls_chain{tls_cert};
  tls_chain.insert(tls_chain.end(), authority->chain().begin(), authority->chain().end() - 1);
  common::write_file_atomically(dir / "tls" / "server.pem", crypto::pem_bundle(tls_chain),
                                common::kPublicFileMode);

  if (!fs::exists(dir / kConfigFileName)) {
    common::write_file_atomically(
        dir / kConfigFileName,
        token ? config_text_for_token(token->uri, options.pkcs11_pin_file, options.pkcs11_module)
              : default_config_text(),
        common::kSecretFileMode);
  }
  // Kept across --force: every device's password derives from it, and a new CA does not
  // invalidate the factory stations that hold it.
  if (!fs::exists(dir / kDefaultFleetSecretFile)) {
    create_fleet_secret(dir / kDefaultFleetSecretFile);
  }
  const auto config = load_config(dir);
  const auto store = open_registry(config);
  // The responder and a first CRL, so brokers have a CRL file before the server first runs.
  ensure_ocsp_responder(dir, *authority, now);
  refresh_crl(config, *authority, *store, now);

  result.root_fingerprint = authority->root().sha256_fingerprint();
  return result;
}

}  // namespace estfleet::server
