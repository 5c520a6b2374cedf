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
               day_of(leaf.not_after()) +
               " and est-server does not renew a certificate of "
               "another CA";
  }
  return warning;
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
  if (signer == nullptr) {
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
  renewed.insert(renewed.end(), authority.chain().begin(), authority.chain().end() - 1);
  common::write_file_atomically(chain_file, crypto::pem_bundle(renewed), common::kPublicFileMode);
  check.outcome = TlsIdentityCheck::Outcome::renewed;
  check.reason = *reason;
  check.certificate = renewed.front();
  return check;
}

TlsIdentityKeeper::TlsIdentityKeeper(const Config& config, const ca::Authority& authority,
                                     Clock clock, std::function<void()> renewed,
                                     std::chrono::seconds interval)
    : config_(config),
      authority_(authority),
      clock_(std::move(clock)),
      renewed_(std::move(renewed)),
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
      renewed_();
    } else if (!check.warning.empty()) {
      spdlog::warn("the TLS server certificate {} is not this CA's: {}",
                   config_.http.certificate_chain_file, check.warning);
    }
  } catch (const std::exception& e) {
    spdlog::error("cannot renew the TLS server certificate, trying again in {}s: {}",
                  interval_.count(), e.what());
  }
}

}  // namespace estfleet::server
