#include "server/revocation_files.hpp"

#include <stdexcept>

#include "common/files.hpp"
#include "crypto/crl.hpp"
#include "server/ca_rollover.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;

std::optional<ca::ResponderIdentity> load_responder(const fs::path& data_dir) {
  const auto cert_file = data_dir / kOcspCertificateFile;
  const auto key_file = data_dir / kOcspKeyFile;
  if (!fs::exists(cert_file) || !fs::exists(key_file)) {
    return std::nullopt;
  }
  try {
    return ca::ResponderIdentity{crypto::Certificate::from_pem(common::read_file(cert_file)),
                                 crypto::PrivateKey::from_pem(common::read_file(key_file))};
  } catch (const std::exception&) {
    return std::nullopt;  // damaged: replaced below, like a missing one
  }
}

}  // namespace

ca::RevocationPolicy revocation_policy(const Config& config) {
  ca::RevocationPolicy policy;
  for (const auto& profile : config.profiles) {
    policy.superseded_grace[profile.label] = profile.superseded_grace;
  }
  return policy;
}

ca::CrlSettings crl_settings(const Config& config) {
  return ca::CrlSettings{config.revocation.crl_validity, revocation_policy(config)};
}

ca::OcspSettings ocsp_settings(const Config& config) {
  return ca::OcspSettings{config.revocation.ocsp_validity, revocation_policy(config)};
}

crypto::TimePoint responder_renewal_time(const ca::ResponderIdentity& identity) {
  const auto begin = identity.certificate.not_before();
  const auto end = identity.certificate.not_after();
  return begin + (end - begin) * 2 / 3;
}

ResponderFiles ensure_ocsp_responder(const fs::path& data_dir, const ca::Authority& authority,
                                     crypto::TimePoint now) {
  if (auto existing = load_responder(data_dir)) {
    if (!ca::responder_problem(authority, *existing, now) &&
        now < responder_renewal_time(*existing)) {
      return ResponderFiles{std::move(*existing), false};
    }
  }
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  auto cert = ca::issue_ocsp_responder(authority, key.get(), now, kOcspResponderValidity);
  // The key first: a certificate whose key is missing would be loaded and refused next time,
  // while a key without its certificate is simply replaced.
  common::write_file_atomically(data_dir / kOcspKeyFile, key.to_pem(), common::kSecretFileMode);
  common::write_file_atomically(data_dir / kOcspCertificateFile, cert.to_pem(),
                                common::kPublicFileMode);
  return ResponderFiles{ca::ResponderIdentity{std::move(cert), std::move(key)}, true};
}

void write_crl_files(const fs::path& data_dir, const registry::PublishedCrl& crl,
                     const std::optional<std::string>& previous_pem) {
  const auto parsed = crypto::Crl::from_pem(crl.pem);
  fs::create_directories((data_dir / kCrlDerFile).parent_path());
  common::write_file_atomically(data_dir / kCrlDerFile, parsed.to_der(), common::kPublicFileMode);
  if (previous_pem) {
    common::write_file_atomically(data_dir / kPreviousCrlDerFile,
                                  crypto::Crl::from_pem(*previous_pem).to_der(),
                                  common::kPublicFileMode);
    common::write_file_atomically(data_dir / kPreviousCrlPemFile, *previous_pem,
                                  common::kPublicFileMode);
    common::write_file_atomically(data_dir / kCrlPemFile, crl.pem + *previous_pem,
                                  common::kPublicFileMode);
    return;
  }
  common::write_file_atomically(data_dir / kCrlPemFile, crl.pem, common::kPublicFileMode);
  std::error_code ec;
  fs::remove(data_dir / kPreviousCrlDerFile, ec);
  fs::remove(data_dir / kPreviousCrlPemFile, ec);
}

ca::IssuedCrl refresh_crl(const Config& config, const ca::Authority& authority,
                          registry::Store& store, crypto::TimePoint now) {
  auto issued = ca::issue_crl(authority, store, crl_settings(config), now);
  std::optional<std::string> previous_pem;
  if (auto previous = ca::issue_previous_crl(authority, store, crl_settings(config), now)) {
    previous_pem = std::move(previous->pem);
  }
  write_crl_files(config.data_dir, issued.published, previous_pem);
  return issued;
}

ca::IssuedCrl refresh_crl(const Config& config, registry::Store& store) {
  const auto authority = load_authority(config);
  return refresh_crl(config, authority, store, std::chrono::system_clock::now());
}

}  // namespace estfleet::server
