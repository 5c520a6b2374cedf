// The EST server's own TLS certificate: marked (id-kp-cmcRA) and renewed by serve before it ends;
// another CA's left alone with a warning; a failure changes nothing.
#include "server/tls_identity.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "ca/rollover.hpp"
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
    // The data folder's own files, as init lays them out.
    config_.data_dir = dir_.path();
    std::filesystem::create_directory(dir_.path() / "tls");
    config_.http.certificate_chain_file = (dir_.path() / kServerCertificateFile).string();
    config_.http.private_key_file = (dir_.path() / kServerKeyFile).string();
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
  EXPECT_THAT(check.warning, HasSubstr("renews only its own"));
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

TEST_F(TlsIdentityTest, AChainFileWithoutACertificateIsRefusedAndLeftAsItIs) {
  std::ofstream(config_.http.certificate_chain_file) << "no certificate here\n";
  try {
    ensure_tls_identity(config_, authority_, now_);
    ADD_FAILURE() << "a chain file without a certificate was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(config_.http.certificate_chain_file));
  }
  EXPECT_EQ(chain_file_text(), "no certificate here\n");
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

TEST_F(TlsIdentityTest, ACertificateIssuedWhileTheClockRanAheadIsRenewedWhenItIsBack) {
  install(issued(ca::TlsServerRole::est_server, 30 * 24h));
  ASSERT_EQ(ensure_tls_identity(config_, authority_, now_ + 25 * 24h).outcome,
            TlsIdentityCheck::Outcome::renewed);  // a clock 25 days ahead
  const auto back = ensure_tls_identity(config_, authority_, now_);
  EXPECT_EQ(back.outcome, TlsIdentityCheck::Outcome::renewed);
  EXPECT_THAT(back.reason, HasSubstr("not valid before"));
  EXPECT_LE(back.certificate.not_before(), now_);
}

TEST_F(TlsIdentityTest, DuringARolloverTheRenewedChainKeepsTheLinkToTheOldRoot) {
  auto old_ca = ca::create_ca(ca::NewCaOptions{}, now_ - 2h);
  auto rolled = ca::roll_over({old_ca.root, old_ca.root_key.get(), old_ca.issuing}, {}, now_ - 1h);
  ca::Authority next(std::move(rolled.next.issuing_key), {rolled.next.issuing, rolled.next.root});
  next.set_previous(
      ca::PreviousCa{std::make_shared<const ca::Authority>(
                         std::move(old_ca.issuing_key),
                         std::vector<crypto::Certificate>{old_ca.issuing, old_ca.root}),
                     rolled.old_with_new, rolled.new_with_old});
  std::ofstream(config_.http.certificate_chain_file, std::ios::trunc)
      << crypto::pem_bundle({next.issue_tls_server(key_.get(), {"localhost"}, now_ - 1h, 30 * 24h,
                                                   ca::TlsServerRole::est_server),
                             rolled.next.issuing, rolled.new_with_old});
  const auto later = now_ + 25 * 24h;
  ASSERT_EQ(ensure_tls_identity(config_, next, later).outcome, TlsIdentityCheck::Outcome::renewed);
  const auto chain = crypto::Certificate::chain_from_pem(chain_file_text());
  ASSERT_EQ(chain.size(), 3u) << "leaf, new issuing CA, NewWithOld";
  EXPECT_EQ(chain[2].to_der(), rolled.new_with_old.to_der());
  const std::vector<crypto::Certificate> rest(chain.begin() + 1, chain.end());
  EXPECT_EQ(crypto::TrustStore({old_ca.root}).verify(chain[0], rest, later), std::nullopt)
      << "a device that trusts only the old root still reaches the server";
  EXPECT_EQ(crypto::TrustStore({rolled.next.root}).verify(chain[0], rest, later), std::nullopt);
}

TEST_F(TlsIdentityTest, FilesOtherThanTheDataFoldersOwnAreNeverMarked) {
  // The broker's certificate and key, configured as the EST server's: this CA's, no mark.
  const auto broker = issued(ca::TlsServerRole::other_service);
  const auto broker_dir = dir_.path() / "broker";
  std::filesystem::create_directory(broker_dir);
  std::ofstream(broker_dir / "server.pem") << broker.to_pem();
  std::ofstream(broker_dir / "server.key") << key_.to_pem();
  Config elsewhere = config_;
  elsewhere.http.certificate_chain_file = (broker_dir / "server.pem").string();
  elsewhere.http.private_key_file = (broker_dir / "server.key").string();
  const auto check = ensure_tls_identity(elsewhere, authority_, now_);
  EXPECT_EQ(check.outcome, TlsIdentityCheck::Outcome::not_ours);
  EXPECT_THAT(check.warning, HasSubstr("--no-ra-check"));
  EXPECT_EQ(common::read_file(broker_dir / "server.pem"), broker.to_pem());

  // tls/server.pem as a link to a file kept up to date elsewhere: left alone too.
  std::filesystem::remove(config_.http.certificate_chain_file);
  std::filesystem::create_symlink(broker_dir / "server.pem", config_.http.certificate_chain_file);
  EXPECT_EQ(ensure_tls_identity(config_, authority_, now_).outcome,
            TlsIdentityCheck::Outcome::not_ours);
  EXPECT_TRUE(std::filesystem::is_symlink(config_.http.certificate_chain_file));
}

TEST_F(TlsIdentityTest, AReloadThatFailedIsTriedAgainAndAnotherServersRenewalIsLoaded) {
  install(issued(ca::TlsServerRole::est_server, 30 * 24h));
  std::atomic<crypto::TimePoint::rep> offset{0};
  int reloads = 0;
  bool fail_next = false;
  TlsIdentityKeeper keeper(
      config_, authority_, [&] { return now_ + crypto::TimePoint::duration(offset.load()); },
      [&] {
        ++reloads;
        if (fail_next) {
          fail_next = false;
          throw std::runtime_error("out of file descriptors");
        }
      },
      1h);
  keeper.check_now();
  EXPECT_EQ(reloads, 1) << "the first check hands the listener what it is about to load";
  offset = std::chrono::duration_cast<crypto::TimePoint::duration>(25 * 24h).count();
  fail_next = true;
  keeper.check_now();  // renews, and the reload fails
  EXPECT_EQ(reloads, 2);
  keeper.check_now();  // the file is fresh now, but the listener still has the old one
  EXPECT_EQ(reloads, 3);
  keeper.check_now();
  EXPECT_EQ(reloads, 3) << "loaded: nothing to do";

  // Another server sharing the data folder renewed it.
  install(issued(ca::TlsServerRole::est_server, 30 * 24h));
  offset = 0;
  keeper.check_now();
  EXPECT_EQ(reloads, 4);
}

TEST_F(TlsIdentityTest, TheKeeperRenewsOnItsScheduleAndTellsTheListener) {
  install(issued(ca::TlsServerRole::est_server, 30 * 24h));
  std::atomic<crypto::TimePoint::rep> offset{0};
  std::atomic<int> reloads{0};
  TlsIdentityKeeper keeper(
      config_, authority_, [&] { return now_ + crypto::TimePoint::duration(offset.load()); },
      [&] { ++reloads; }, 1s);
  keeper.check_now();
  EXPECT_EQ(reloads, 1);
  keeper.start();
  offset = std::chrono::duration_cast<crypto::TimePoint::duration>(25 * 24h).count();
  for (int i = 0; i < 100 && reloads == 1; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  keeper.stop();
  EXPECT_EQ(reloads, 2);
}

}  // namespace
}  // namespace estfleet::server
