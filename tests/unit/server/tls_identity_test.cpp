// The EST server's own TLS certificate: marked (id-kp-cmcRA) and renewed by serve before it ends;
// another CA's left alone with a warning; a failure changes nothing.
#include "server/tls_identity.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "common/files.hpp"
#include "crypto/key.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class TlsIdentityTest : public ::testing::Test {
 protected:
  TlsIdentityTest() {
    config_.http.certificate_chain_file = (dir_.path() / "server.pem").string();
    config_.http.private_key_file = (dir_.path() / "server.key").string();
    std::ofstream(config_.http.private_key_file) << key_.to_pem();
  }

  // Writes the chain file: `leaf`, then the issuing CA.
  void install(const crypto::Certificate& leaf) {
    std::ofstream(config_.http.certificate_chain_file, std::ios::trunc)
        << leaf.to_pem() << authority_.issuing_certificate().to_pem();
  }
  crypto::Certificate issued(ca::TlsServerRole role, std::chrono::seconds validity = 24h * 397) {
    return authority_.issue_tls_server(key_.get(), {"est.example", "127.0.0.1"}, now_, validity,
                                       role);
  }
  std::string chain_file_text() const {
    return common::read_file(config_.http.certificate_chain_file);
  }

  testing::TempDir dir_;
  crypto::TimePoint now_ = std::chrono::system_clock::now();
  ca::Authority authority_ = testing::make_authority(now_ - 1h);
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  Config config_;
};

TEST_F(TlsIdentityTest, AMarkedCertificateOfThisCaIsKept) {
  const auto leaf = issued(ca::TlsServerRole::est_server);
  install(leaf);
  const auto before = chain_file_text();
  const auto check = ensure_tls_identity(config_, authority_, now_);
  EXPECT_EQ(check.outcome, TlsIdentityCheck::Outcome::kept);
  EXPECT_EQ(check.certificate.to_der(), leaf.to_der());
  EXPECT_EQ(chain_file_text(), before);
}

TEST_F(TlsIdentityTest, ACertificateFromBeforeTheMarkIsRenewedWithItsNamesAndKey) {
  const auto old_leaf = issued(ca::TlsServerRole::other_service);  // as init wrote it before
  install(old_leaf);
  const auto check = ensure_tls_identity(config_, authority_, now_);
  ASSERT_EQ(check.outcome, TlsIdentityCheck::Outcome::renewed);
  EXPECT_THAT(check.reason, HasSubstr("id-kp-cmcRA"));

  const auto chain = crypto::Certificate::chain_from_pem(chain_file_text());
  ASSERT_EQ(chain.size(), 2u) << "the leaf, then the issuing CA";
  const auto& renewed = chain.front();
  EXPECT_TRUE(renewed.has_extended_key_usage(crypto::kIdKpCmcRa));
  EXPECT_EQ(X509_check_purpose(renewed.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(renewed.subject_der(), old_leaf.subject_der());
  EXPECT_EQ(renewed.subject_alt_name_der(), old_leaf.subject_alt_name_der());
  EXPECT_TRUE(renewed.matches_private_key(key_.get())) << "the key file is never replaced";
  EXPECT_NE(renewed.serial_hex(), old_leaf.serial_hex());
  EXPECT_EQ(authority_.verify_issued(renewed, now_), std::nullopt);
  EXPECT_EQ(chain[1].to_der(), authority_.issuing_certificate().to_der());
  EXPECT_EQ(testing::file_mode(config_.http.certificate_chain_file), 0644u);

  EXPECT_EQ(ensure_tls_identity(config_, authority_, now_).outcome, TlsIdentityCheck::Outcome::kept)
      << "renewed once, then kept";
}

TEST_F(TlsIdentityTest, ACertificatePastTwoThirdsOfItsLifeOrExpiredIsRenewed) {
  install(issued(ca::TlsServerRole::est_server, 30 * 24h));
  EXPECT_EQ(ensure_tls_identity(config_, authority_, now_ + 19 * 24h).outcome,
            TlsIdentityCheck::Outcome::kept);
  const auto check = ensure_tls_identity(config_, authority_, now_ + 21 * 24h);
  EXPECT_EQ(check.outcome, TlsIdentityCheck::Outcome::renewed);
  EXPECT_THAT(check.reason, HasSubstr("expires on"));
  EXPECT_GT(check.certificate.not_after(), now_ + 300 * 24h);

  install(issued(ca::TlsServerRole::est_server, 24h));
  const auto expired = ensure_tls_identity(config_, authority_, now_ + 48h);
  EXPECT_EQ(expired.outcome, TlsIdentityCheck::Outcome::renewed)
      << "a server that was down past the end of its certificate comes back with a valid one";
  EXPECT_THAT(expired.reason, HasSubstr("expired on"));
}

TEST_F(TlsIdentityTest, AnotherCasCertificateIsLeftAloneWithAWarning) {
  const auto other = testing::make_authority(now_ - 1h);
  const auto foreign = other.issue_tls_server(key_.get(), {"est.example"}, now_, 10 * 24h,
                                              ca::TlsServerRole::other_service);
  std::ofstream(config_.http.certificate_chain_file, std::ios::trunc) << foreign.to_pem();
  const auto before = chain_file_text();
  const auto check = ensure_tls_identity(config_, authority_, now_);
  EXPECT_EQ(check.outcome, TlsIdentityCheck::Outcome::not_ours);
  EXPECT_THAT(check.warning, HasSubstr("--no-ra-check"));
  EXPECT_THAT(check.warning, HasSubstr("does not renew"));
  EXPECT_EQ(chain_file_text(), before);
}

TEST_F(TlsIdentityTest, ANewKeyInTheKeyFileGetsACertificateWithTheSameNames) {
  const auto old_leaf = issued(ca::TlsServerRole::est_server);
  install(old_leaf);
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  std::ofstream(config_.http.private_key_file, std::ios::trunc) << new_key.to_pem();
  const auto check = ensure_tls_identity(config_, authority_, now_);
  ASSERT_EQ(check.outcome, TlsIdentityCheck::Outcome::renewed);
  EXPECT_THAT(check.reason, HasSubstr("new key"));
  EXPECT_TRUE(check.certificate.matches_private_key(new_key.get()));
  EXPECT_EQ(check.certificate.subject_alt_name_der(), old_leaf.subject_alt_name_der());
}

TEST_F(TlsIdentityTest, AnUnreadableKeyChangesNothing) {
  install(issued(ca::TlsServerRole::other_service));
  std::ofstream(config_.http.private_key_file, std::ios::trunc) << "not a key";
  const auto before = chain_file_text();
  try {
    ensure_tls_identity(config_, authority_, now_);
    ADD_FAILURE() << "an unreadable key was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot read the TLS private key"));
  }
  EXPECT_EQ(chain_file_text(), before);
}

TEST_F(TlsIdentityTest, TheKeeperRenewsOnItsScheduleAndTellsTheListener) {
  install(issued(ca::TlsServerRole::est_server, 30 * 24h));
  std::atomic<crypto::TimePoint::rep> offset{0};
  std::atomic<int> reloads{0};
  TlsIdentityKeeper keeper(
      config_, authority_, [&] { return now_ + crypto::TimePoint::duration(offset.load()); },
      [&] { ++reloads; }, 1s);
  keeper.check_now();
  EXPECT_EQ(reloads, 0);
  keeper.start();
  offset = std::chrono::duration_cast<crypto::TimePoint::duration>(25 * 24h).count();
  for (int i = 0; i < 100 && reloads == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  keeper.stop();
  EXPECT_EQ(reloads, 1);
}

}  // namespace
}  // namespace estfleet::server
