// CRLs and OCSP answers made from a real registry: numbering, reasons, dates, the superseded
// grace, and every kind of OCSP request.
#include "ca/revocation.hpp"

#include <gtest/gtest.h>

#include "ca/crl.hpp"
#include "ca/ocsp_responder.hpp"
#include "crypto/crl.hpp"
#include "crypto/ocsp.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/counting_store.hpp"
#include "support/test_pki.hpp"

namespace estfleet::ca {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class Revocation : public ::testing::Test {
 protected:
  void SetUp() override { store_ = registry::SqliteStore::open((dir_.path() / "r.db").string()); }

  // Issues a certificate for `thing` under `profile` and records it as an initial enrollment (or
  // as the renewal of `replaces`) at `at`.
  crypto::Certificate enroll(const std::string& thing, crypto::TimePoint at,
                             std::optional<std::string> replaces = std::nullopt,
                             const std::string& profile = "") {
    IssuancePolicy policy;
    policy.validity = hours(24);
    const auto cert = authority_.issue(IssueRequest{thing, key_.get(), {}, {}, at}, policy);
    registry::CertificateRecord record;
    record.serial = cert.serial_hex();
    record.thing_name = thing;
    record.subject = cert.subject_text();
    record.profile = profile;
    record.not_before = to_unix_seconds(cert.not_before());
    record.not_after = to_unix_seconds(cert.not_after());
    record.issued_at = to_unix_seconds(at);
    record.pem = cert.to_pem();
    record.sha256_fingerprint = cert.sha256_fingerprint();
    record.replaces = replaces;
    registry::AuditEvent audit;
    audit.operation = replaces ? "simplereenroll" : "simpleenroll";
    if (replaces) {
      store_->record_reenrollment(record, audit);
    } else {
      registry::ThingRegistration registration;
      registration.profile = profile;
      store_->record_enrollment(record, registration, audit);
    }
    return cert;
  }

  void revoke(const crypto::Certificate& cert, const std::string& reason, crypto::TimePoint at) {
    store_->revoke_certificate(cert.serial_hex(), reason, to_unix_seconds(at),
                               registry::AuditEvent{});
  }

  crypto::Crl crl_at(crypto::TimePoint at, CrlSettings settings = {}) {
    const auto issued = issue_crl(authority_, *store_, settings, at);
    return crypto::Crl::from_pem(issued.published.pem);
  }

  // Whole seconds, as the registry keeps them.
  const crypto::TimePoint now_ = to_time_point(to_unix_seconds(std::chrono::system_clock::now()));
  testing::TempDir dir_;
  Authority authority_ = testing::make_authority(now_ - hours(48));
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  std::unique_ptr<registry::SqliteStore> store_;
};

TEST_F(Revocation, CrlNumbersIncreaseAndTheCrlIsSignedByTheIssuingCa) {
  const auto first = crl_at(now_);
  const auto second = crl_at(now_ + seconds(1));
  EXPECT_EQ(first.number(), 1);
  EXPECT_EQ(second.number(), 2);
  EXPECT_TRUE(second.signature_valid(authority_.issuing_certificate().public_key()));
  EXPECT_EQ(second.issuer_der(), authority_.issuing_certificate().subject_der());
  EXPECT_EQ(second.this_update(), now_ + seconds(1));
  EXPECT_EQ(second.next_update(), now_ + seconds(1) + hours(24));
  EXPECT_TRUE(second.entries().empty());
  EXPECT_EQ(store_->published_crl()->number, 2);
}

TEST_F(Revocation, ListsRevokedCertificatesWithReasonAndTime) {
  const auto a = enroll("dev-a", now_ - hours(2));
  const auto b = enroll("dev-b", now_ - hours(2));
  const auto c = enroll("dev-c", now_ - hours(2));
  revoke(a, "keyCompromise", now_ - hours(1));
  revoke(b, "unspecified", now_ - seconds(30));
  const auto crl = crl_at(now_);
  ASSERT_EQ(crl.entries().size(), 2U);
  EXPECT_EQ(crl.find(a.serial_hex())->reason, crypto::CrlReason::keyCompromise);
  EXPECT_EQ(crl.find(a.serial_hex())->revoked_at, now_ - hours(1));
  EXPECT_EQ(crl.find(b.serial_hex())->reason, std::nullopt);
  EXPECT_FALSE(crl.find(c.serial_hex()));
}

TEST_F(Revocation, ASupersededCertificateIsListedOnceItsGraceEnds) {
  const auto old_cert = enroll("dev-a", now_ - hours(3), std::nullopt, "line");
  enroll("dev-a", now_ - hours(1), old_cert.serial_hex(), "line");

  CrlSettings no_grace;
  auto crl = crl_at(now_, no_grace);
  ASSERT_TRUE(crl.find(old_cert.serial_hex()));
  EXPECT_EQ(crl.find(old_cert.serial_hex())->reason, crypto::CrlReason::superseded);
  EXPECT_EQ(crl.find(old_cert.serial_hex())->revoked_at, now_ - hours(1));

  CrlSettings grace;
  grace.revocation.superseded_grace["line"] = hours(2);
  const auto within = issue_crl(authority_, *store_, grace, now_);
  EXPECT_FALSE(crypto::Crl::from_pem(within.published.pem).find(old_cert.serial_hex()));
  EXPECT_EQ(within.next_grace_end, now_ + hours(1));
  crl = crl_at(now_ + hours(1), grace);
  ASSERT_TRUE(crl.find(old_cert.serial_hex()));
  EXPECT_EQ(crl.find(old_cert.serial_hex())->revoked_at, now_ + hours(1));
  // Another profile's grace does not apply.
  CrlSettings other;
  other.revocation.superseded_grace["factory"] = hours(5);
  EXPECT_TRUE(crl_at(now_ + seconds(1), other).find(old_cert.serial_hex()));
}

TEST_F(Revocation, DropsCertificatesOneCrlValidityAfterTheyExpire) {
  const auto cert = enroll("dev-a", now_);  // valid for 24 h
  revoke(cert, "cessationOfOperation", now_ + seconds(1));
  CrlSettings settings;
  settings.validity = hours(6);
  EXPECT_TRUE(crl_at(now_ + hours(29), settings).find(cert.serial_hex()));
  EXPECT_FALSE(crl_at(now_ + hours(31), settings).find(cert.serial_hex()));
}

TEST_F(Revocation, ANewerPublishedCrlIsNeverReplacedByAnOlderOne) {
  const auto older = store_->prepare_crl(0);
  const auto newer = store_->prepare_crl(0);
  ASSERT_LT(older.number, newer.number);
  EXPECT_EQ(store_->publish_crl({newer.number, 10, 20, "new"}).pem, "new");
  const auto kept = store_->publish_crl({older.number, 5, 15, "old"});
  EXPECT_EQ(kept.number, newer.number);
  EXPECT_EQ(kept.pem, "new");
  EXPECT_THROW(store_->publish_crl({newer.number + 5, 1, 2, "never handed out"}),
               std::invalid_argument);
  EXPECT_EQ(store_->published_crl()->pem, "new");
}

class Ocsp : public Revocation {
 protected:
  void SetUp() override {
    Revocation::SetUp();
    responder_.emplace(ResponderIdentity{
        issue_ocsp_responder(authority_, responder_key_.get(), now_, hours(24 * 90)),
        crypto::PrivateKey::from_pem(responder_key_.to_pem())});
  }

  crypto::OcspResponse ask(const crypto::Certificate& cert, crypto::TimePoint at,
                           OcspSettings settings = {}) {
    const OcspResponder responder(authority_, *store_, std::move(settings));
    const auto request =
        crypto::build_ocsp_request(cert, authority_.issuing_certificate(), std::string("nonce-1"));
    auto response = crypto::OcspResponse::from_der(responder.respond(request, *responder_, at));
    if (response.status() == crypto::OcspResponseStatus::successful) {
      EXPECT_EQ(response.verify({authority_.root()}), std::nullopt);
      EXPECT_TRUE(response.nonce());
    }
    return response;
  }

  crypto::PrivateKey responder_key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  std::optional<ResponderIdentity> responder_;
};

TEST_F(Ocsp, AnswersGoodThenRevokedWithReasonAndTime) {
  const auto cert = enroll("dev-a", now_ - hours(1));
  auto singles = ask(cert, now_).responses();
  ASSERT_EQ(singles.size(), 1U);
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::good);
  EXPECT_EQ(singles[0].this_update, now_);
  EXPECT_EQ(singles[0].next_update, now_ + hours(1));

  revoke(cert, "keyCompromise", now_ - seconds(5));
  singles = ask(cert, now_).responses();
  ASSERT_EQ(singles.size(), 1U);
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::revoked);
  EXPECT_EQ(singles[0].status.reason, crypto::CrlReason::keyCompromise);
  EXPECT_EQ(singles[0].status.revoked_at, now_ - seconds(5));
}

TEST_F(Ocsp, ASupersededCertificateIsGoodUntilItsGraceEndsThenRevokedSuperseded) {
  const auto old_cert = enroll("dev-a", now_ - hours(3));
  enroll("dev-a", now_ - hours(1), old_cert.serial_hex());
  OcspSettings settings;
  settings.revocation.superseded_grace[""] = hours(1) + std::chrono::minutes(30);
  auto singles = ask(old_cert, now_, settings).responses();
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::good);
  // A cached answer must not outlast the grace.
  EXPECT_EQ(singles[0].next_update, now_ + std::chrono::minutes(30));
  singles = ask(old_cert, now_ + hours(1), settings).responses();
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::revoked);
  EXPECT_EQ(singles[0].status.reason, crypto::CrlReason::superseded);
  EXPECT_EQ(singles[0].status.revoked_at, now_ + std::chrono::minutes(30));
}

TEST_F(Ocsp, AnUnregisteredSerialOfThisCaIsUnknown) {
  IssuancePolicy policy;
  const auto stray = authority_.issue(IssueRequest{"stray", key_.get(), {}, {}, now_}, policy);
  const auto singles = ask(stray, now_).responses();
  ASSERT_EQ(singles.size(), 1U);
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::unknown);
}

TEST_F(Ocsp, AnotherIssuersCertificateIsUnauthorizedAndGarbageIsMalformed) {
  const auto foreign_ca = testing::make_authority(now_);
  const auto foreign =
      foreign_ca.issue(IssueRequest{"dev-a", key_.get(), {}, {}, now_}, IssuancePolicy{});
  const OcspResponder responder(authority_, *store_, OcspSettings{});
  const auto request =
      crypto::build_ocsp_request(foreign, foreign_ca.issuing_certificate(), std::nullopt);
  EXPECT_EQ(crypto::OcspResponse::from_der(responder.respond(request, *responder_, now_)).status(),
            crypto::OcspResponseStatus::unauthorized);
  for (const std::string garbage : {"", "junk", "\x30\x00"}) {
    EXPECT_EQ(
        crypto::OcspResponse::from_der(responder.respond(garbage, *responder_, now_)).status(),
        crypto::OcspResponseStatus::malformed_request);
  }
}

TEST_F(Ocsp, EveryCertificateOfARequestIsAnsweredInOrderFromOneRegistryRead) {
  const auto good = enroll("dev-a", now_ - hours(1));
  const auto revoked = enroll("dev-b", now_ - hours(1));
  revoke(revoked, "keyCompromise", now_ - seconds(5));
  const auto stray =
      authority_.issue(IssueRequest{"stray", key_.get(), {}, {}, now_}, IssuancePolicy{});
  testing::CountingStore counting(*store_);
  const OcspResponder responder(authority_, counting, OcspSettings{});
  const auto request = crypto::build_ocsp_request({good, stray, revoked, good},
                                                  authority_.issuing_certificate(), std::nullopt);
  const auto response =
      crypto::OcspResponse::from_der(responder.respond(request, *responder_, now_));
  EXPECT_EQ(counting.entries_for_calls, 1);
  EXPECT_EQ(counting.find_certificate_calls, 0);
  const auto singles = response.responses();
  ASSERT_EQ(singles.size(), 4U);
  EXPECT_EQ(singles[0].serial_hex, good.serial_hex());
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::good);
  EXPECT_EQ(singles[1].status.state, crypto::OcspCertState::unknown);
  EXPECT_EQ(singles[2].status.state, crypto::OcspCertState::revoked);
  EXPECT_EQ(singles[2].status.reason, crypto::CrlReason::keyCompromise);
  EXPECT_EQ(singles[3].serial_hex, good.serial_hex());
  EXPECT_EQ(singles[3].status.state, crypto::OcspCertState::good);
}

TEST_F(Ocsp, ARequestNamingMoreCertificatesThanTheCapIsMalformedAndReadsNothing) {
  const auto cert = enroll("dev-a", now_ - hours(1));
  testing::CountingStore counting(*store_);
  const OcspResponder responder(authority_, counting, OcspSettings{});
  const auto ask = [&](std::size_t count) {
    const std::vector<crypto::Certificate> certs(count, cert);
    return crypto::OcspResponse::from_der(responder.respond(
        crypto::build_ocsp_request(certs, authority_.issuing_certificate(), std::string("n")),
        *responder_, now_));
  };
  const auto at_cap = ask(kMaxOcspCertIds);
  EXPECT_EQ(at_cap.status(), crypto::OcspResponseStatus::successful);
  EXPECT_EQ(at_cap.responses().size(), static_cast<std::size_t>(kMaxOcspCertIds));
  EXPECT_EQ(counting.entries_for_calls, 1);
  for (const std::size_t count :
       {static_cast<std::size_t>(kMaxOcspCertIds) + 1, std::size_t{1000}}) {
    EXPECT_EQ(ask(count).status(), crypto::OcspResponseStatus::malformed_request) << count;
  }
  EXPECT_EQ(counting.entries_for_calls, 1);
}

TEST_F(Ocsp, ARequestInBerIsMalformedAndReadsNothing) {
  const auto cert = enroll("dev-a", now_ - hours(1));
  testing::CountingStore counting(*store_);
  const OcspResponder responder(authority_, counting, OcspSettings{});
  const std::vector<crypto::Certificate> certs(5, cert);
  const auto der =
      crypto::build_ocsp_request(certs, authority_.issuing_certificate(), std::nullopt);
  // The outer SEQUENCE again with an indefinite length: BER, which OpenSSL decodes whole, so a
  // request of a thousand CertIDs so wrapped would be decoded before the cap could apply.
  const auto octets = static_cast<unsigned char>(der[1]);
  const std::size_t header = octets < 0x80 ? 2 : 2 + (octets & 0x7f);
  const std::string ber = std::string("\x30\x80", 2) + der.substr(header) + std::string(2, '\0');
  ASSERT_EQ(crypto::OcspRequest::from_der(ber).count(), 5) << "OpenSSL reads this BER";
  EXPECT_EQ(crypto::OcspResponse::from_der(responder.respond(ber, *responder_, now_)).status(),
            crypto::OcspResponseStatus::malformed_request);
  EXPECT_EQ(counting.entries_for_calls, 0);
}

TEST_F(Ocsp, TheResponderCertificateIsADelegatedOcspSigner) {
  EXPECT_EQ(responder_problem(authority_, *responder_, now_), std::nullopt);
  const auto& cert = responder_->certificate;
  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_OCSP_SIGN);
  EXPECT_GE(X509_get_ext_by_NID(cert.get(), NID_id_pkix_OCSP_noCheck, -1), 0);
  EXPECT_FALSE(cert.is_ca());

  const ResponderIdentity wrong_key{cert, crypto::PrivateKey::generate(crypto::KeyType::ec_p256)};
  EXPECT_TRUE(responder_problem(authority_, wrong_key, now_));
  EXPECT_TRUE(responder_problem(authority_, *responder_, now_ + hours(24 * 91)));
  const auto client = enroll("dev-a", now_);
  const ResponderIdentity not_a_signer{client, crypto::PrivateKey::from_pem(key_.to_pem())};
  EXPECT_TRUE(responder_problem(authority_, not_a_signer, now_));
  const auto foreign_ca = testing::make_authority(now_);
  EXPECT_TRUE(responder_problem(foreign_ca, *responder_, now_));
}

TEST(RevocationPolicy, GraceIsPerProfileAndZeroForUnknownProfiles) {
  RevocationPolicy policy;
  policy.superseded_grace[""] = seconds(5);
  policy.superseded_grace["line"] = hours(1);
  EXPECT_EQ(policy.grace_for(""), seconds(5));
  EXPECT_EQ(policy.grace_for("line"), hours(1));
  EXPECT_EQ(policy.grace_for("gone"), seconds(0));

  registry::RevocationEntry active;
  active.status = registry::CertificateStatus::active;
  EXPECT_EQ(effective_revocation(active, policy, std::chrono::system_clock::now()), std::nullopt);
  registry::RevocationEntry odd = active;
  odd.status = registry::CertificateStatus::revoked;
  odd.revoked_at = 100;
  odd.revocation_reason = "not-a-reason";
  const auto read = effective_revocation(odd, policy, std::chrono::system_clock::now());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->reason, crypto::CrlReason::unspecified);
  EXPECT_EQ(read->revoked_at, to_time_point(100));
}

}  // namespace
}  // namespace estfleet::ca
