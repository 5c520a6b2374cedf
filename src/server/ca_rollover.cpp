#include "server/ca_rollover.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "ca/rollover.hpp"
#include "common/files.hpp"
#include "crypto/key.hpp"
#include "server/ca_key.hpp"
#include "server/registry_access.hpp"
#include "server/revocation_files.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;
// The TLS server certificate's lifetime, as `init` gives it.
constexpr std::chrono::seconds kTlsValidity{std::chrono::hours(24 * 397)};

std::string utc(crypto::TimePoint time) {
  return iso_time(
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count());
}

bool same_path(const fs::path& a, const fs::path& b) {
  return fs::weakly_canonical(a) == fs::weakly_canonical(b);
}

ca::PreviousCa load_previous(const fs::path& dir) {
  try {
    auto authority = ca::Authority::load(dir / "issuing.key", dir / "chain.pem");
    return ca::PreviousCa{std::make_shared<const ca::Authority>(std::move(authority)),
                          crypto::Certificate::from_pem(common::read_file(dir / kOldWithNewFile)),
                          crypto::Certificate::from_pem(common::read_file(dir / kNewWithOldFile))};
  } catch (const std::exception& e) {
    throw std::runtime_error("the previous CA in " + dir.string() + " is damaged: " + e.what());
  }
}

// Exchanges two paths atomically (both must exist).
void exchange(const fs::path& a, const fs::path& b) {
  if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
    throw std::runtime_error("cannot exchange " + a.string() + " and " + b.string() + ": " +
                             std::strerror(errno));
  }
}

void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Copies the regular files of `from` that are not in `skip` into `to`, keeping their modes.
void copy_other_files(const fs::path& from, const fs::path& to,
                      const std::vector<std::string>& skip) {
  for (const auto& entry : fs::directory_iterator(from)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || std::find(skip.begin(), skip.end(), name) != skip.end()) {
      continue;
    }
    common::write_file_atomically(to / name, common::read_file(entry.path()),
                                  entry.status().permissions());
  }
}

// Removes a staging folder on the way out unless it was committed.
class Staging {
 public:
  explicit Staging(fs::path dir) : dir_(std::move(dir)) {
    fs::remove_all(dir_);
    fs::create_directory(dir_);
    fs::permissions(dir_, common::kPrivateDirMode);
  }
  ~Staging() {
    if (!kept_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  const fs::path& dir() const { return dir_; }
  void keep() { kept_ = true; }

 private:
  fs::path dir_;
  bool kept_ = false;
};

}  // namespace

ca::Authority load_authority(const Config& config) {
  auto authority = ca::load_authority(signing_key_source(config), config.ca_chain);
  const auto previous_dir = config.ca_chain.parent_path() / kPreviousCaDir;
  if (fs::exists(previous_dir)) {
    try {
      authority.set_previous(load_previous(previous_dir));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("the previous CA in " + previous_dir.string() +
                               " does not belong with the current one: " + e.what());
    }
  }
  return authority;
}

CaRolloverResult roll_over_ca(const CaRolloverOptions& options, crypto::TimePoint now) {
  const fs::path& data = options.data_dir;
  const auto config = load_config(data);
  const fs::path ca_dir = data / "ca";
  const fs::path tls_dir = data / "tls";
  if (!same_path(config.ca_key, ca_dir / "issuing.key") ||
      !same_path(config.ca_chain, ca_dir / "chain.pem")) {
    throw std::runtime_error(
        "ca rollover works on the data folder's own ca/issuing.key and ca/chain.pem, but " +
        std::string(kConfigFileName) +
        "'s [ca] points elsewhere; roll that CA over where it lives");
  }
  if (!same_path(config.http.certificate_chain_file, tls_dir / "server.pem") ||
      !same_path(config.http.private_key_file, tls_dir / "server.key")) {
    throw std::runtime_error(
        "ca rollover replaces the data folder's own tls/server.pem and tls/server.key, but " +
        std::string(kConfigFileName) + "'s [tls] points elsewhere");
  }
  const auto current = load_authority(config);
  if (!fs::exists(ca_dir / "root.key")) {
    throw std::runtime_error(
        "the data folder has no root key (ca/root.key): its CA was imported, and only the holder "
        "of that root's key can roll it over; nothing was changed");
  }
  const auto root_key = crypto::PrivateKey::from_pem(common::read_file(ca_dir / "root.key"));
  if (!current.root().matches_private_key(root_key.get())) {
    throw std::runtime_error("ca/root.key does not match ca/root.pem; nothing was changed");
  }
  std::optional<std::string> dropped_previous;
  if (current.previous()) {
    const auto& previous_issuing = current.previous()->authority->issuing_certificate();
    if (current.in_transition(now)) {
      if (!options.force) {
        throw std::runtime_error(
            "a CA rollover is still in progress: the previous issuing CA (" +
            previous_issuing.subject_text() + ") is valid until " +
            utc(previous_issuing.not_after()) +
            ", and until then its devices renew and CRL and OCSP answer for it; rolling over "
            "again now drops it, so its certificates can no longer renew, its CRL is no longer "
            "published and devices that still trust only its root lose the link to the new one. "
            "Pass --force to do that anyway; nothing was changed");
      }
      dropped_previous = previous_issuing.subject_text();
    }
  }
  const auto tls_chain =
      crypto::Certificate::chain_from_pem(common::read_file(config.http.certificate_chain_file));
  // Refused before anything is written when the registry cannot be opened.
  const auto store = open_registry(config);

  ca::RolloverOptions rollover;
  if (options.root_validity) {
    rollover.root_validity = *options.root_validity;
  }
  if (options.issuing_validity) {
    rollover.issuing_validity = *options.issuing_validity;
  }
  auto rolled = [&] {
    try {
      return ca::roll_over({current.root(), root_key.get(), current.issuing_certificate()},
                           rollover, now);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string("cannot roll the CA over: ") + e.what() +
                               "; nothing was changed");
    }
  }();
  const std::string new_issuing_key_pem = rolled.next.issuing_key.to_pem();
  const std::string new_root_key_pem = rolled.next.root_key.to_pem();
  const ca::Authority next(crypto::PrivateKey::from_pem(new_issuing_key_pem),
                           {rolled.next.issuing, rolled.next.root});
  const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto tls_cert =
      next.reissue_tls_server(tls_chain.front(), tls_key.get(), now, kTlsValidity);

  // Everything into a staging folder, loaded back and checked before it replaces anything.
  const auto stamp =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Staging staging(data / (".ca-rollover." + std::to_string(::getpid())));
  const auto staged_ca = common::create_private_directory(staging.dir() / "ca");
  const auto staged_previous = common::create_private_directory(staged_ca / kPreviousCaDir);
  const auto staged_tls = common::create_private_directory(staging.dir() / "tls");

  common::write_file_atomically(staged_ca / "root.key", new_root_key_pem, common::kSecretFileMode);
  common::write_file_atomically(staged_ca / "issuing.key", new_issuing_key_pem,
                                common::kSecretFileMode);
  common::write_file_atomically(staged_ca / "issuing.pem", rolled.next.issuing.to_pem(),
                                common::kPublicFileMode);
  common::write_file_atomically(staged_ca / "root.pem", rolled.next.root.to_pem(),
                                common::kPublicFileMode);
  common::write_file_atomically(staged_ca / "chain.pem",
                                crypto::pem_bundle({rolled.next.issuing, rolled.next.root}),
                                common::kPublicFileMode);
  common::write_file_atomically(staged_previous / "root.key",
                                common::read_file(ca_dir / "root.key"), common::kSecretFileMode);
  common::write_file_atomically(staged_previous / "issuing.key", common::read_file(config.ca_key),
                                common::kSecretFileMode);
  common::write_file_atomically(staged_previous / "issuing.pem",
                                current.issuing_certificate().to_pem(), common::kPublicFileMode);
  common::write_file_atomically(staged_previous / "root.pem", current.root().to_pem(),
                                common::kPublicFileMode);
  common::write_file_atomically(staged_previous / "chain.pem", crypto::pem_bundle(current.chain()),
                                common::kPublicFileMode);
  common::write_file_atomically(staged_previous / kOldWithNewFile, rolled.old_with_new.to_pem(),
                                common::kPublicFileMode);
  common::write_file_atomically(staged_previous / kNewWithOldFile, rolled.new_with_old.to_pem(),
                                common::kPublicFileMode);
  // Files of ca/ this command does not own stay; the OCSP responder is issued anew below.
  copy_other_files(
      ca_dir, staged_ca,
      {"root.key", "issuing.key", "issuing.pem", "root.pem", "chain.pem", "ocsp.pem", "ocsp.key"});
  common::write_file_atomically(staged_tls / "server.key", tls_key.to_pem(),
                                common::kSecretFileMode);
  // NewWithOld last: a TLS client holding only the old root builds server -> new issuing ->
  // NewWithOld -> old root; one holding the new root stops at the new root.
  common::write_file_atomically(
      staged_tls / "server.pem",
      crypto::pem_bundle({tls_cert, rolled.next.issuing, rolled.new_with_old}),
      common::kPublicFileMode);
  copy_other_files(tls_dir, staged_tls, {"server.pem", "server.key"});

  Config staged_config = config;
  staged_config.ca_key = staged_ca / "issuing.key";
  staged_config.ca_chain = staged_ca / "chain.pem";
  const auto staged = load_authority(staged_config);
  if (!staged.previous() || !staged.in_transition(now)) {
    throw std::runtime_error(
        "the staged CA did not load back with its previous CA; nothing was changed");
  }
  if (const auto problem = crypto::TrustStore({current.root()})
                               .verify(tls_cert, {rolled.next.issuing, rolled.new_with_old}, now)) {
    throw std::runtime_error("the new TLS chain does not verify with the old root alone: " +
                             *problem + "; nothing was changed");
  }
  sync_dir(staged_ca);
  sync_dir(staged_tls);
  sync_dir(staging.dir());

  // The commit: ca/ first (from here the new CA is in force), then tls/. Should tls/ fail, ca/
  // is exchanged back.
  exchange(staged_ca, ca_dir);
  try {
    exchange(staged_tls, tls_dir);
  } catch (const std::exception& e) {
    exchange(staged_ca, ca_dir);
    throw std::runtime_error(std::string(e.what()) +
                             "; the CA folder was put back, nothing changed");
  }
  sync_dir(data);
  staging.keep();
  CaRolloverResult result{rolled.next.root,
                          rolled.next.issuing,
                          rolled.old_with_new,
                          rolled.new_with_old,
                          tls_cert,
                          rolled.transition_end,
                          data / ("rolled-over-" + std::to_string(stamp)),
                          dropped_previous,
                          {}};
  std::error_code ec;
  fs::rename(staging.dir(), result.backup, ec);
  if (ec) {
    result.backup = staging.dir();
  }

  try {
    const auto record = [&](const crypto::Certificate& cert, const std::string& what) {
      store->append_audit(operator_audit("ca-rollover", "", cert.serial_hex(),
                                         what + " " + cert.subject_text() + ", SHA-256 " +
                                             cert.sha256_fingerprint() + ", valid until " +
                                             utc(cert.not_after())));
    };
    record(result.root, "new root CA (self-signed)");
    record(result.issuing, "new issuing CA (signed by the new root)");
    record(result.old_with_new, "OldWithNew link (the old root's key, signed by the new root)");
    record(result.new_with_old, "NewWithOld link (the new root's key, signed by the old root)");
    record(result.tls_server, "TLS server certificate (signed by the new issuing CA)");
  } catch (const std::exception& e) {
    result.warnings.push_back(std::string("the audit log could not be written: ") + e.what());
  }
  try {
    const auto authority = load_authority(config);
    ensure_ocsp_responder(data, authority, now);
    refresh_crl(config, authority, *store, now);
  } catch (const std::exception& e) {
    result.warnings.push_back(
        std::string("the new CA's OCSP responder or CRLs could not be made yet (serve makes them "
                    "when it starts): ") +
        e.what());
  }
  return result;
}

}  // namespace estfleet::server
