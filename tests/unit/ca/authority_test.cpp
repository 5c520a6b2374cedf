#include "ca/authority.hpp"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <fstream>

#include "support/test_pki.hpp"

namespace estfleet::ca {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TEST(Authority, IssuesAClientCertificateThatChainsToTheRoot) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  IssuancePolicy policy;
  policy.validity = hours(24);
  policy.backdate = minutes(5);

  const auto cert = authority.issue(IssueRequest{"DeviceAlpha", key.get(), {}, {}, now}, policy);

  EXPECT_EQ(cert.subject_common_name(), "DeviceAlpha");
  EXPECT_TRUE(cert.matches_private_key(key.get()));
  EXPECT_FALSE(cert.is_ca());
  EXPECT_EQ(authority.verify_issued(cert, now), std::nullopt);
  EXPECT_LE(cert.not_before(), now - minutes(4));
  EXPECT_GE(cert.not_after(), now + hours(23));
  EXPECT_LE(cert.not_after(), now + hours(25));

  const uint32_t xku = X509_get_extended_key_usage(cert.get());
  EXPECT_TRUE(xku & XKU_SSL_CLIENT);
  EXPECT_FALSE(xku & XKU_SSL_SERVER);
  EXPECT_TRUE(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert.get()),
                                  X509_get0_subject_key_id(authority.issuing_certificate().get())),
            0);
}

TEST(Authority, NeverOutlivesTheIssuingCa) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  IssuancePolicy policy;
  policy.validity = hours(24 * 365 * 50);
  const auto cert = authority.issue(IssueRequest{"dev", key.get(), {}, {}, now}, policy);
  EXPECT_EQ(cert.not_after(), authority.issuing_certificate().not_after());
}

TEST(Authority, RefusesAnInvalidThingName) {
  const auto authority = testing::make_authority();
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  EXPECT_THROW(
      authority.issue(IssueRequest{"../etc", key.get(), {}, {}, std::chrono::system_clock::now()},
                      IssuancePolicy{}),
      std::invalid_argument);
}

TEST(Authority, VerifyIssuedRefusesForeignExpiredAndNotYetValid) {
  const auto now = std::chrono::system_clock::now();
  const auto ours = testing::make_authority(now);
  const auto theirs = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  IssuancePolicy policy;
  policy.validity = hours(1);
  const auto foreign = theirs.issue(IssueRequest{"dev", key.get(), {}, {}, now}, policy);
  EXPECT_TRUE(ours.verify_issued(foreign, now));

  const auto mine = ours.issue(IssueRequest{"dev", key.get(), {}, {}, now}, policy);
  EXPECT_TRUE(ours.verify_issued(mine, now + hours(2)));
  EXPECT_TRUE(ours.verify_issued(mine, now - hours(2)));
}

TEST(Authority, LoadRefusesAKeyThatDoesNotMatchTheChain) {
  testing::TempDir dir;
  const auto a = testing::make_authority();
  const auto b = testing::make_authority();
  const auto key_file = dir.path() / "key.pem";
  const auto chain_file = dir.path() / "chain.pem";
  {
    std::ofstream(key_file) << crypto::PrivateKey::generate(crypto::KeyType::ec_p256).to_pem();
    std::ofstream(chain_file) << a.issuing_certificate().to_pem() << a.root().to_pem();
  }
  EXPECT_THROW(Authority::load(key_file, chain_file), std::runtime_error);
}

TEST(Authority, TlsServerCertificateCarriesHostNamesAndIps) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto cert = authority.issue_tls_server(key.get(), {"localhost", "127.0.0.1", "::1"}, now,
                                               hours(24), TlsServerRole::est_server);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER);
}

TEST(Authority, OnlyTheEstServersCertificateCarriesTheRegistrationAuthorityMark) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto est = authority.issue_tls_server(key.get(), {"localhost"}, now, hours(24),
                                              TlsServerRole::est_server);
  const auto broker = authority.issue_tls_server(key.get(), {"localhost"}, now, hours(24),
                                                 TlsServerRole::other_service);
  EXPECT_TRUE(est.has_extended_key_usage(crypto::kIdKpCmcRa));
  EXPECT_FALSE(broker.has_extended_key_usage(crypto::kIdKpCmcRa));
  for (const auto* cert : {&est, &broker}) {
    EXPECT_EQ(X509_check_purpose(cert->get(), X509_PURPOSE_SSL_SERVER, 0), 1);
    EXPECT_EQ(X509_check_purpose(cert->get(), X509_PURPOSE_SSL_CLIENT, 0), 0)
        << "no server certificate can log in as a device";
  }
  const auto reissued = authority.reissue_tls_server(broker, key.get(), now, hours(24));
  EXPECT_TRUE(reissued.has_extended_key_usage(crypto::kIdKpCmcRa))
      << "reissue_tls_server is for the EST server's own certificate";
  EXPECT_FALSE(est.has_extended_key_usage("1.3.6.1.5.5.7.3.2")) << "no clientAuth";
  EXPECT_TRUE(est.has_extended_key_usage("1.3.6.1.5.5.7.3.1")) << "serverAuth";
}

}  // namespace
}  // namespace estfleet::ca
