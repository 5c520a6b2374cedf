#include "server/tls_identity.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <vector>

#include "common/files.hpp"
#include "crypto/key.hpp"
#include "server/registry_access.hpp"

namespace estfleet::server {
namespace {

// A certificate of the operator's own that expires within this long gets a warning every check.
constexpr std::chrono::hours kForeignExpiryWarning{24 * 30};

std::string day_of(crypto::TimePoint at) {
  return iso_time(std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count())
      .substr(0, 10);
}

// The CA among this one and the one it replaced that signed `leaf`, if either did.
const ca::Authority* signer_of(const crypto::Certificate& leaf, const ca::Authority& authority) {
  if (leaf.is_signed_by(authority.issuing_certificate())) {
    return &authority;
  }
  if (const auto& previous = authority.previous();
      previous && leaf.is_signed_by(previous->authority->issuing_certificate())) {
    return previous->authority.get();
  }
  return nullptr;
}

// Why this CA's own server certificate must be reissued now, or nullopt.
std::optional<std::string> renewal_reason(const crypto::Certificate& leaf, bool from_previous_ca,
                                          const crypto::PrivateKey& key, crypto::TimePoint now) {
  if (!leaf.matches_private_key(key.get())) {
    return "the key file holds a new key";
  }
  if (!leaf.has_extended_key_usage(crypto::kIdKpCmcRa)) {
    return "it lacks id-kp-cmcRA, the mark est-client requires of an EST server";
  }
  if (from_previous_ca) {
    return "it was issued by the CA a rollover replaced";
  }
  const auto begin = leaf.not_before();
  const auto end = leaf.not_after();
  if (now < begin) {
    // Issued while the clock ran ahead: devices would refuse it until then.
    return "it is not valid before " + day_of(begin);
  }
  if (now >= begin + (end - begin) * 2 / 3) {
    return (now >= end ? "it expired on " : "it expires on ") + day_of(end);
  }
  return std::nullopt;
}

std::string foreign_warning(const crypto::Certificate& leaf, crypto::TimePoint now) {
  std::string warning;
  if (!leaf.has_extended_key_usage(crypto::kIdKpCmcRa)) {
    warning = "it lacks id-kp-cmcRA, so est-client accepts it only with --no-ra-check";
  }
  if (leaf.not_after() - now < kForeignExpiryWarning) {
    warning += (warning.empty() ? "" : "; ") + std::string("it expires on ") +
               day_of(leaf.not_after()) + " and est-server renews only its own";
  }
  return warning;
}

// Whether the configured files are the data folder's own tls/server.pem and tls/server.key, as
// `init` made them: only those are renewed (and marked). A certificate of this CA configured
// from elsewhere may be another service's, such as the broker's, which must never get the EST
// server's mark; a link may point at a file that others keep up to date.
bool is_data_folder_identity(const Config& config) {
  const auto normal = [](const std::filesystem::path& path) {
    return std::filesystem::absolute(path).lexically_normal();
  };
  const std::filesystem::path chain_file = config.http.certificate_chain_file;
  return normal(chain_file) == normal(config.data_dir / kServerCertificateFile) &&
         normal(config.http.private_key_file) == normal(config.data_dir / kServerKeyFile) &&
         !std::filesystem::is_symlink(chain_file);
}

// What the chain file holds after the leaf: the issuing CA and, while a rollover's transition
// runs, NewWithOld, so that a device still trusting only the old root reaches the server
// (server -> new issuing CA -> NewWithOld -> old root), as `ca rollover` writes it.
std::vector<crypto::Certificate> chain_after_leaf(const ca::Authority& authority,
                                                  crypto::TimePoint now) {
  std::vector<crypto::Certificate> chain(authority.chain().begin(), authority.chain().end() - 1);
  if (const auto& previous = authority.previous(); previous && authority.in_transition(now)) {
    chain.push_back(previous->new_with_old);
  }
  return chain;
}

}  // namespace

TlsIdentityCheck ensure_tls_identity(const Config& config, const ca::Authority& authority,
                                     crypto::TimePoint now) {
  const std::filesystem::path chain_file = config.http.certificate_chain_file;
  const std::filesystem::path key_file = config.http.private_key_file;
  std::vector<crypto::Certificate> chain;
  try {
    chain = crypto::Certificate::chain_from_pem(common::read_file(chain_file));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read the TLS certificate chain " + chain_file.string() + ": " +
                             e.what());
  }
  if (chain.empty()) {
    throw std::runtime_error("the TLS certificate chain " + chain_file.string() +
                             " holds no certificate");
  }
  TlsIdentityCheck check{TlsIdentityCheck::Outcome::kept, {}, {}, chain.front()};
  const ca::Authority* signer = signer_of(chain.front(), authority);
  if (signer == nullptr || !is_data_folder_identity(config)) {
    check.outcome = TlsIdentityCheck::Outcome::not_ours;
    check.warning = foreign_warning(chain.front(), now);
    return check;
  }
  const crypto::PrivateKey key = [&] {
    try {
      return crypto::PrivateKey::from_pem(common::read_file(key_file));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot read the TLS private key " + key_file.string() + ": " +
                               e.what());
    }
  }();
  const auto reason = renewal_reason(chain.front(), signer != &authority, key, now);
  if (!reason) {
    return check;
  }
  std::vector<crypto::Certificate> renewed{
      authority.reissue_tls_server(chain.front(), key.get(), now, kServerCertificateValidity)};
  const auto rest = chain_after_leaf(authority, now);
  renewed.insert(renewed.end(), rest.begin(), rest.end());
  common::write_file_atomically(chain_file, crypto::pem_bundle(renewed), common::kPublicFileMode);
  check.outcome = TlsIdentityCheck::Outcome::renewed;
  check.reason = *reason;
  check.certificate = renewed.front();
  return check;
}

TlsIdentityKeeper::TlsIdentityKeeper(const Config& config, const ca::Authority& authority,
                                     Clock clock, std::function<void()> reload,
                                     std::chrono::seconds interval)
    : config_(config),
      authority_(authority),
      clock_(std::move(clock)),
      reload_(std::move(reload)),
      interval_(interval) {}

TlsIdentityKeeper::~TlsIdentityKeeper() {
  stop();
}

void TlsIdentityKeeper::start() {
  thread_ = std::thread([this] { run(); });
}

void TlsIdentityKeeper::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TlsIdentityKeeper::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    check_now();
    lock.lock();
  }
}

void TlsIdentityKeeper::check_now() {
  try {
    const auto check = ensure_tls_identity(config_, authority_, clock_());
    if (check.outcome == TlsIdentityCheck::Outcome::renewed) {
      spdlog::info("TLS server certificate renewed as serial {} because {}",
                   check.certificate.serial_hex(), check.reason);
    } else if (!check.warning.empty()) {
      spdlog::warn("the TLS server certificate {} is not renewed by est-server: {}",
                   config_.http.certificate_chain_file, check.warning);
    }
    // Whatever is on disk now and the listener was not given yet: renewed here, by another
    // server sharing this data folder, or by an earlier check whose reload failed.
    const auto leaf = check.certificate.to_der();
    if (leaf != loaded_leaf_) {
      reload_();
      loaded_leaf_ = leaf;
    }
  } catch (const std::exception& e) {
    spdlog::error("cannot renew or load the TLS server certificate, trying again in {}s: {}",
                  interval_.count(), e.what());
  }
}

}  // namespace estfleet::server
