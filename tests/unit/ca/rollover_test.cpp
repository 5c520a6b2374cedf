// CA rollover: the link certificates (OldWithNew, NewWithOld), what a device holding only one of
// the two roots can verify, the authority during and after the transition, and the previous CA's
// CRL and OCSP answers.
#include "ca/rollover.hpp"

#include <gtest/gtest.h>

#include "ca/authority.hpp"
#include "ca/crl.hpp"
#include "ca/ocsp_responder.hpp"
#include "ca/revocation.hpp"
#include "crypto/crl.hpp"
#include "crypto/ocsp.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"

namespace estfleet::ca {
namespace {

using std::chrono::hours;

TEST(NextGenerationName, AddsOrCountsUpTheGeneration) {
  EXPECT_EQ(next_generation_name("est-fleet Root CA"), "est-fleet Root CA G2");
  EXPECT_EQ(next_generation_name("est-fleet Root CA G2"), "est-fleet Root CA G3");
  EXPECT_EQ(next_generation_name("est-fleet Root CA G19"), "est-fleet Root CA G20");
  EXPECT_EQ(next_generation_name("Root Gx"), "Root Gx G2");
  EXPECT_EQ(next_generation_name("Root G"), "Root G G2");
  EXPECT_EQ(next_generation_name("Root"), "Root G2");
}

class Rollover : public ::testing::Test {
 protected:
  const crypto::TimePoint now_ = to_time_point(to_unix_seconds(std::chrono::system_clock::now()));
  NewCa old_ = create_ca(NewCaOptions{}, now_ - hours(24 * 30));
  RolledCa rolled_ = roll_over({old_.root, old_.root_key.get(), old_.issuing}, {}, now_);

  // The CA after the rollover, with the old one as its previous CA.
  Authority rolled_authority() {
    Authority current(crypto::PrivateKey::from_pem(rolled_.next.issuing_key.to_pem()),
                      {rolled_.next.issuing, rolled_.next.root});
    current.set_previous(PreviousCa{std::make_shared<const Authority>(
                                        crypto::PrivateKey::from_pem(old_.issuing_key.to_pem()),
                                        std::vector<crypto::Certificate>{old_.issuing, old_.root}),
                                    rolled_.old_with_new, rolled_.new_with_old});
    return current;
  }

  crypto::Certificate device(const Authority& ca, const std::string& name) {
    IssuancePolicy policy;
    policy.validity = hours(24);
    return ca.issue(IssueRequest{name, device_key_.get(), {}, {}, now_}, policy);
  }

  crypto::PrivateKey device_key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(Rollover, NewGenerationHasNewKeysAndNames) {
  EXPECT_EQ(rolled_.next.root.subject_common_name(), "est-fleet Root CA G2");
  EXPECT_EQ(rolled_.next.issuing.subject_common_name(), "est-fleet Issuing CA G2");
  EXPECT_FALSE(same_public_key(rolled_.next.root, old_.root));
  EXPECT_FALSE(same_public_key(rolled_.next.issuing, old_.issuing));
  EXPECT_TRUE(is_self_signed(rolled_.next.root));
  EXPECT_EQ(rolled_.transition_end, old_.issuing.not_after());
}

TEST_F(Rollover, NewWithOldIsTheNewRootsKeySignedByTheOldRoot) {
  const auto& link = rolled_.new_with_old;
  EXPECT_EQ(link.subject_der(), rolled_.next.root.subject_der());
  EXPECT_EQ(link.issuer_der(), old_.root.subject_der());
  EXPECT_TRUE(same_public_key(link, rolled_.next.root));
  EXPECT_TRUE(link.is_ca());
  EXPECT_LE(link.not_after(), old_.issuing.not_after());
  // OpenSSL path validation with the old root as the only trust anchor.
  EXPECT_EQ(crypto::TrustStore({old_.root}).verify(link, {}, now_), std::nullopt);
  EXPECT_NE(crypto::TrustStore({rolled_.next.root}).verify(link, {}, now_), std::nullopt);
  EXPECT_EQ(verify_link(link, rolled_.next.root, old_.root, now_), std::nullopt);
}

TEST_F(Rollover, OldWithNewIsTheOldRootsKeySignedByTheNewRoot) {
  const auto& link = rolled_.old_with_new;
  EXPECT_EQ(link.subject_der(), old_.root.subject_der());
  EXPECT_EQ(link.issuer_der(), rolled_.next.root.subject_der());
  EXPECT_TRUE(same_public_key(link, old_.root));
  EXPECT_EQ(crypto::TrustStore({rolled_.next.root}).verify(link, {}, now_), std::nullopt);
  EXPECT_NE(crypto::TrustStore({old_.root}).verify(link, {}, now_), std::nullopt);
  EXPECT_EQ(verify_link(link, old_.root, rolled_.next.root, now_), std::nullopt);
}

TEST_F(Rollover, DeviceHoldingOnlyTheOldRootValidatesTheNewChainThroughNewWithOld) {
  const auto current = rolled_authority();
  const auto cert = device(current, "DeviceNew");
  const crypto::TrustStore old_only({old_.root});
  EXPECT_EQ(old_only.verify(cert, {rolled_.next.issuing, rolled_.new_with_old}, now_),
            std::nullopt);
  // Without the link the new chain does not reach the old root.
  EXPECT_NE(old_only.verify(cert, {rolled_.next.issuing}, now_), std::nullopt);
  // The whole cacerts answer as untrusted helpers: the self-signed new root in it is not trusted.
  EXPECT_EQ(old_only.verify(cert, current.cacerts(now_), now_), std::nullopt);
  EXPECT_NE(old_only.verify(cert, {rolled_.next.issuing, rolled_.next.root}, now_), std::nullopt);
  // And a device holding only the new root validates an old-CA certificate from the same answer.
  const auto old_cert = device(*current.previous()->authority, "DeviceOld");
  EXPECT_EQ(crypto::TrustStore({rolled_.next.root})
                .verify(
                    old_cert,
                    [&] {
                      auto helpers = current.cacerts(now_);
                      helpers.push_back(old_.issuing);
                      return helpers;
                    }(),
                    now_),
            std::nullopt);
}

TEST_F(Rollover, DeviceHoldingOnlyTheNewRootValidatesTheOldChainThroughOldWithNew) {
  const auto current = rolled_authority();
  const auto old_cert = device(*current.previous()->authority, "DeviceOld");
  const crypto::TrustStore new_only({rolled_.next.root});
  EXPECT_EQ(new_only.verify(old_cert, {old_.issuing, rolled_.old_with_new}, now_), std::nullopt);
  EXPECT_NE(new_only.verify(old_cert, {old_.issuing}, now_), std::nullopt);
}

TEST_F(Rollover, VerifyLinkRefusesAWrongNameKeyOrSigner) {
  const auto other = create_ca(NewCaOptions{}, now_);
  // The right signer, but another root's key under the new root's name is not the new root.
  const auto wrong_key =
      build_link(other.root, old_.root, old_.root_key.get(), now_ - hours(1), now_ + hours(1));
  EXPECT_NE(verify_link(wrong_key, rolled_.next.root, old_.root, now_), std::nullopt);
  // Signed by a root the device does not trust.
  const auto wrong_signer = build_link(rolled_.next.root, other.root, other.root_key.get(),
                                       now_ - hours(1), now_ + hours(1));
  const auto problem = verify_link(wrong_signer, rolled_.next.root, old_.root, now_);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("does not verify"), std::string::npos) << *problem;
  // Expired.
  EXPECT_NE(verify_link(rolled_.new_with_old, rolled_.next.root, old_.root,
                        old_.issuing.not_after() + hours(1)),
            std::nullopt);
}

TEST_F(Rollover, RefusesAMismatchedRootKeyAnExpiredIssuingCaAndNoValidity) {
  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p384);
  EXPECT_THROW(roll_over({old_.root, other_key.get(), old_.issuing}, {}, now_),
               std::invalid_argument);
  EXPECT_THROW(roll_over({old_.root, old_.root_key.get(), old_.issuing}, {},
                         old_.issuing.not_after() + hours(1)),
               std::invalid_argument);
  RolloverOptions zero;
  zero.issuing_validity = std::chrono::seconds(0);
  EXPECT_THROW(roll_over({old_.root, old_.root_key.get(), old_.issuing}, zero, now_),
               std::invalid_argument);
  // The issuing CA of another root.
  const auto other = create_ca(NewCaOptions{}, now_);
  EXPECT_THROW(roll_over({old_.root, old_.root_key.get(), other.issuing}, {}, now_),
               std::invalid_argument);
}

TEST_F(Rollover, CacertsCarriesBothLinksUntilTheOldIssuingCaExpires) {
  const auto current = rolled_authority();
  ASSERT_TRUE(current.in_transition(now_));
  const auto during = current.cacerts(now_);
  ASSERT_EQ(during.size(), 5U);
  EXPECT_EQ(during[0].to_der(), rolled_.next.issuing.to_der());
  EXPECT_EQ(during[1].to_der(), rolled_.old_with_new.to_der());
  EXPECT_EQ(during[2].to_der(), rolled_.new_with_old.to_der());
  EXPECT_EQ(during[3].to_der(), old_.root.to_der());          // OldWithOld
  EXPECT_EQ(during[4].to_der(), rolled_.next.root.to_der());  // NewWithNew, last
  const auto after_end = old_.issuing.not_after() + std::chrono::seconds(1);
  EXPECT_FALSE(current.in_transition(after_end));
  EXPECT_EQ(current.cacerts(after_end).size(), 2U);
}

TEST_F(Rollover, OldCaCertificatesStillVerifyForRenewalDuringTheTransition) {
  const auto current = rolled_authority();
  const auto& previous = *current.previous()->authority;
  const auto old_cert = device(previous, "DeviceOld");
  const auto new_cert = device(current, "DeviceNew");
  EXPECT_EQ(current.verify_issued(old_cert, now_), std::nullopt);
  EXPECT_EQ(current.verify_issued(new_cert, now_), std::nullopt);
  EXPECT_EQ(current.issuer_of(old_cert, now_), &previous);
  EXPECT_EQ(current.issuer_of(new_cert, now_), &current);
  const auto stranger = testing::make_authority(now_);
  EXPECT_NE(current.verify_issued(device(stranger, "DeviceX"), now_), std::nullopt);
  // New certificates come from the new issuing CA.
  EXPECT_EQ(new_cert.issuer_der(), rolled_.next.issuing.subject_der());
}

TEST_F(Rollover, SetPreviousRefusesLinksOfAnotherRollover) {
  const auto again = roll_over({old_.root, old_.root_key.get(), old_.issuing}, {}, now_);
  Authority current(crypto::PrivateKey::from_pem(rolled_.next.issuing_key.to_pem()),
                    {rolled_.next.issuing, rolled_.next.root});
  auto previous =
      std::make_shared<const Authority>(crypto::PrivateKey::from_pem(old_.issuing_key.to_pem()),
                                        std::vector<crypto::Certificate>{old_.issuing, old_.root});
  // `again`'s links join the old root with another new root (same name, other key).
  EXPECT_THROW(current.set_previous(PreviousCa{previous, again.old_with_new, again.new_with_old}),
               std::invalid_argument);
  EXPECT_THROW(
      current.set_previous(PreviousCa{previous, rolled_.new_with_old, rolled_.old_with_new}),
      std::invalid_argument);
  EXPECT_FALSE(current.previous());
}

class RolloverRevocation : public Rollover {
 protected:
  void SetUp() override { store_ = registry::SqliteStore::open((dir_.path() / "r.db").string()); }

  crypto::Certificate enroll(const Authority& ca, const std::string& thing) {
    const auto cert = device(ca, thing);
    registry::CertificateRecord record;
    record.serial = cert.serial_hex();
    record.thing_name = thing;
    record.subject = cert.subject_text();
    record.not_before = to_unix_seconds(cert.not_before());
    record.not_after = to_unix_seconds(cert.not_after());
    record.issued_at = to_unix_seconds(now_);
    record.pem = cert.to_pem();
    record.sha256_fingerprint = cert.sha256_fingerprint();
    store_->record_enrollment(record, registry::ThingRegistration{}, registry::AuditEvent{});
    store_->revoke_certificate(cert.serial_hex(), "keyCompromise", to_unix_seconds(now_),
                               registry::AuditEvent{});
    return cert;
  }

  testing::TempDir dir_;
  std::unique_ptr<registry::SqliteStore> store_;
};

TEST_F(RolloverRevocation, EachCaSignsACrlOfItsOwnCertificates) {
  const auto current = rolled_authority();
  const auto& previous = *current.previous()->authority;
  const auto old_cert = enroll(previous, "DeviceOld");
  const auto new_cert = enroll(current, "DeviceNew");

  const auto issued = issue_crl(current, *store_, {}, now_);
  const auto crl = crypto::Crl::from_pem(issued.published.pem);
  EXPECT_EQ(crl.issuer_der(), rolled_.next.issuing.subject_der());
  EXPECT_TRUE(crl.signature_valid(rolled_.next.issuing.public_key()));
  EXPECT_TRUE(crl.find(new_cert.serial_hex()));
  EXPECT_FALSE(crl.find(old_cert.serial_hex()));

  const auto old_crl_text = issue_previous_crl(current, *store_, {}, now_);
  ASSERT_TRUE(old_crl_text);
  const auto old_crl = crypto::Crl::from_pem(old_crl_text->pem);
  EXPECT_EQ(old_crl.issuer_der(), old_.issuing.subject_der());
  EXPECT_TRUE(old_crl.signature_valid(old_.issuing.public_key()));
  EXPECT_FALSE(old_crl.signature_valid(rolled_.next.issuing.public_key()));
  ASSERT_TRUE(old_crl.find(old_cert.serial_hex()));
  EXPECT_EQ(old_crl.find(old_cert.serial_hex())->reason, crypto::CrlReason::keyCompromise);
  EXPECT_FALSE(old_crl.find(new_cert.serial_hex()));
  EXPECT_EQ(old_crl_text->entries, 1U);
  EXPECT_GT(*old_crl.number(), *crl.number());

  // Once the old issuing CA has expired there is no previous CRL any more.
  EXPECT_FALSE(issue_previous_crl(current, *store_, {}, old_.issuing.not_after()));
}

TEST_F(RolloverRevocation, OcspAnswersForBothCasEachSignedByItsOwnCa) {
  const auto current = rolled_authority();
  const auto& previous = *current.previous()->authority;
  const auto old_cert = enroll(previous, "DeviceOld");
  const auto new_cert = enroll(current, "DeviceNew");
  const auto responder_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const ResponderIdentity identity{
      issue_ocsp_responder(current, responder_key.get(), now_, hours(24)),
      crypto::PrivateKey::from_pem(responder_key.to_pem())};
  const OcspResponder responder(current, *store_, {});

  const auto old_answer = crypto::OcspResponse::from_der(responder.respond(
      crypto::build_ocsp_request(old_cert, old_.issuing, std::nullopt), identity, now_));
  ASSERT_EQ(old_answer.status(), crypto::OcspResponseStatus::successful);
  ASSERT_EQ(old_answer.responses().size(), 1U);
  EXPECT_EQ(old_answer.responses()[0].status.state, crypto::OcspCertState::revoked);
  // A relying party holding only the old root verifies it: the old issuing CA signed it.
  EXPECT_EQ(old_answer.verify({old_.root}, now_), std::nullopt);

  const auto new_answer = crypto::OcspResponse::from_der(responder.respond(
      crypto::build_ocsp_request(new_cert, rolled_.next.issuing, std::nullopt), identity, now_));
  ASSERT_EQ(new_answer.responses().size(), 1U);
  EXPECT_EQ(new_answer.responses()[0].status.state, crypto::OcspCertState::revoked);
  EXPECT_EQ(new_answer.verify({rolled_.next.root}, now_), std::nullopt);

  // A new-CA serial asked about under the old issuer is not the old CA's: unknown. (The request
  // needs a certificate of the old CA with that serial to name the old issuer.)
  crypto::CertificateSpec twin;
  const auto hex = new_cert.serial_hex();
  ASSERT_EQ(hex.size() % 2, 0U);  // random serials start with a byte in 0x40..0x7F
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    twin.serial += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  twin.subject_der = crypto::name_der({{"CN", "DeviceNew"}});
  twin.public_key = device_key_.get();
  twin.not_before = now_;
  twin.not_after = now_ + hours(1);
  const auto old_twin = crypto::sign_certificate(twin, &old_.issuing, old_.issuing_key.get());
  ASSERT_EQ(old_twin.serial_hex(), new_cert.serial_hex());
  const auto crossed = crypto::OcspResponse::from_der(responder.respond(
      crypto::build_ocsp_request(old_twin, old_.issuing, std::nullopt), identity, now_));
  ASSERT_EQ(crossed.status(), crypto::OcspResponseStatus::successful);
  ASSERT_EQ(crossed.responses().size(), 1U);
  EXPECT_EQ(crossed.responses()[0].status.state, crypto::OcspCertState::unknown);

  // After the transition the old CA is not answered for.
  const auto late = crypto::OcspResponse::from_der(
      responder.respond(crypto::build_ocsp_request(old_cert, old_.issuing, std::nullopt), identity,
                        old_.issuing.not_after() + hours(1)));
  EXPECT_EQ(late.status(), crypto::OcspResponseStatus::unauthorized);
}

}  // namespace
}  // namespace estfleet::ca
