#include "server/data_folder.hpp"

#include <chrono>
#include <stdexcept>

#include "ca/authority.hpp"
#include "ca/bootstrap.hpp"
#include "common/files.hpp"
#include "crypto/key.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "server/config.hpp"
#include "server/fleet_secret_file.hpp"
#include "server/revocation_files.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;
constexpr auto kSecret = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto kPublic = kSecret | fs::perms::group_read | fs::perms::others_read;
constexpr auto kPrivateDir = fs::perms::owner_all;

void make_private_dir(const fs::path& dir) {
  fs::create_directories(dir);
  fs::permissions(dir, kPrivateDir);
}

std::string pem_bundle(const std::vector<crypto::Certificate>& certs) {
  std::string pem;
  for (const auto& cert : certs) {
    pem += cert.to_pem();
  }
  return pem;
}

// With --force the previous CA is moved, never deleted: a replaced CA key may still be needed
// to revoke what it issued.
fs::path move_previous_ca_aside(const fs::path& data_dir) {
  const auto stamp = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  fs::path aside = data_dir / ("replaced-" + std::to_string(stamp));
  make_private_dir(aside);
  for (const char* name : {"ca", "tls"}) {
    if (fs::exists(data_dir / name)) {
      fs::rename(data_dir / name, aside / name);
    }
  }
  return aside;
}

}  // namespace

InitResult initialize_data_folder(const InitOptions& options) {
  const fs::path& dir = options.data_dir;
  InitResult result;
  if (fs::exists(dir / "ca" / "root.pem") || fs::exists(dir / "ca" / "issuing.key")) {
    if (!options.force) {
      throw std::runtime_error(dir.string() +
                               " already holds a CA; pass --force to replace it (the old one is "
                               "moved aside, not deleted)");
    }
    result.moved_aside = move_previous_ca_aside(dir);
  }
  if (options.import_ca_key.has_value() != options.import_ca_chain.has_value()) {
    throw std::runtime_error("importing a CA needs both --import-ca-key and --import-ca-chain");
  }
  make_private_dir(dir);
  make_private_dir(dir / "ca");
  make_private_dir(dir / "tls");
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
  } else {
    auto fresh = ca::create_ca(ca::NewCaOptions{}, now);
    common::write_file_atomically(dir / "ca" / "root.key", fresh.root_key.to_pem(), kSecret);
    issuing_key_pem = fresh.issuing_key.to_pem();
    authority.emplace(std::move(fresh.issuing_key),
                      std::vector<crypto::Certificate>{fresh.issuing, fresh.root});
  }
  common::write_file_atomically(dir / "ca" / "issuing.key", issuing_key_pem, kSecret);
  common::write_file_atomically(dir / "ca" / "issuing.pem",
                                authority->issuing_certificate().to_pem(), kPublic);
  common::write_file_atomically(dir / "ca" / "chain.pem", pem_bundle(authority->chain()), kPublic);
  common::write_file_atomically(dir / "ca" / "root.pem", authority->root().to_pem(), kPublic);

  std::vector<std::string> hostnames{"localhost", "127.0.0.1", "::1"};
  hostnames.insert(hostnames.end(), options.extra_hostnames.begin(), options.extra_hostnames.end());
  const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto tls_cert =
      authority->issue_tls_server(tls_key.get(), hostnames, now, std::chrono::hours(24 * 397));
  common::write_file_atomically(dir / "tls" / "server.key", tls_key.to_pem(), kSecret);
  std::vector<crypto::Certificate> tls_chain{tls_cert};
  tls_chain.insert(tls_chain.end(), authority->chain().begin(), authority->chain().end() - 1);
  common::write_file_atomically(dir / "tls" / "server.pem", pem_bundle(tls_chain), kPublic);

  if (!fs::exists(dir / kConfigFileName)) {
    common::write_file_atomically(dir / kConfigFileName, default_config_text(), kSecret);
  }
  // Kept across --force: every device's password derives from it, and a new CA does not
  // invalidate the factory stations that hold it.
  if (!fs::exists(dir / kDefaultFleetSecretFile)) {
    create_fleet_secret(dir / kDefaultFleetSecretFile);
  }
  const auto config = load_config(dir);
  const auto store = registry::SqliteStore::open(config.database_path.string());
  // The responder and a first CRL, so brokers have a CRL file before the server first runs.
  ensure_ocsp_responder(dir, *authority, now);
  refresh_crl(config, *authority, *store, now);

  result.root_fingerprint = authority->root().sha256_fingerprint();
  return result;
}

}  // namespace estfleet::server
