#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::HasSubstr;

TEST_P(StoreTest, EnrollmentIsFoundListedAndActive) {
  CertificateRecord cert = make_cert("0A01", "sensor-1");
  cert.status = CertificateStatus::revoked;  // the store records an enrollment as active anyway
  store_->record_enrollment(cert, make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));

  const auto found = store_->find_certificate("0A01");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->thing_name, "sensor-1");
  EXPECT_EQ(found->subject, "CN=sensor-1");
  EXPECT_EQ(found->profile, "factory");
  EXPECT_EQ(found->not_before, cert.not_before);
  EXPECT_EQ(found->not_after, cert.not_after);
  EXPECT_EQ(found->issued_at, cert.issued_at);
  EXPECT_EQ(found->status, CertificateStatus::active);
  EXPECT_EQ(found->pem, cert.pem);
  EXPECT_EQ(found->sha256_fingerprint, "fp-0A01");
  EXPECT_FALSE(found->replaces);
  EXPECT_FALSE(found->revoked_at);
  EXPECT_EQ(found->revocation_reason, "");

  EXPECT_EQ(store_->list_certificates("sensor-1").size(), 1U);
  EXPECT_EQ(store_->list_certificates("").size(), 1U);
  EXPECT_TRUE(store_->list_certificates("sensor-2").empty());
  ASSERT_TRUE(store_->active_certificate("sensor-1"));
  EXPECT_EQ(store_->active_certificate("sensor-1")->serial, "0A01");
  EXPECT_FALSE(store_->active_certificate("sensor-2"));
  EXPECT_FALSE(store_->find_certificate("FFFF"));

  const auto audit = store_->audit_since(0);
  ASSERT_EQ(audit.size(), 1U);
  EXPECT_EQ(audit[0].operation, "simpleenroll");
  EXPECT_EQ(audit[0].serial, "0A01");
  EXPECT_GT(audit[0].id, 0);
}

TEST_P(StoreTest, SecondInitialEnrollmentOfAThingIsRefusedAndWritesNothing) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  try {
    store_->record_enrollment(make_cert("0A02", "sensor-1"), make_registration(),
                              make_audit("simpleenroll", "sensor-1", "0A02"));
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_THAT(error.what(), HasSubstr("thing sensor-1 already holds an active certificate"));
  }
  EXPECT_EQ(store_->list_certificates("").size(), 1U);
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
  EXPECT_FALSE(store_->find_certificate("0A02"));
}

TEST_P(StoreTest, DuplicateSerialIsRefused) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  CertificateRecord same_serial = make_cert("0A01", "sensor-2");
  same_serial.sha256_fingerprint = "fp-other";
  try {
    store_->record_enrollment(same_serial, make_registration(),
                              make_audit("simpleenroll", "sensor-2", "0A01"));
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_THAT(error.what(), HasSubstr("serial 0A01 is already registered"));
  }
  EXPECT_FALSE(store_->active_certificate("sensor-2"));
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
}

TEST_P(StoreTest, ReenrollmentSupersedesTheOldCertificateAndLinksIt) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                              make_audit("simplereenroll", "sensor-1", "0A02"));

  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::superseded);
  const auto renewed = store_->active_certificate("sensor-1");
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->serial, "0A02");
  EXPECT_EQ(renewed->replaces, "0A01");

  const auto history = store_->list_certificates("sensor-1");
  ASSERT_EQ(history.size(), 2U);
  EXPECT_EQ(history[0].serial, "0A02");  // newest first
  EXPECT_EQ(history[1].serial, "0A01");
  EXPECT_EQ(store_->audit_since(0).size(), 2U);
}

TEST_P(StoreTest, ReenrollmentOfASupersededCertificateWritesNothing) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                              make_audit("simplereenroll", "sensor-1", "0A02"));
  try {
    store_->record_reenrollment(make_renewal("0A03", "sensor-1", "0A01"),
                                make_audit("simplereenroll", "sensor-1", "0A03"));
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_STREQ(error.what(), "certificate 0A01 is no longer active");
  }
  EXPECT_FALSE(store_->find_certificate("0A03"));
  EXPECT_EQ(store_->active_certificate("sensor-1")->serial, "0A02");
  EXPECT_EQ(store_->audit_since(0).size(), 2U);
}

TEST_P(StoreTest, ReenrollmentOfAnUnknownCertificateWritesNothing) {
  EXPECT_THROW(store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                                           make_audit("simplereenroll", "sensor-1", "0A02")),
               ConflictError);
  EXPECT_TRUE(store_->list_certificates("").empty());
  EXPECT_TRUE(store_->audit_since(0).empty());
}

TEST_P(StoreTest, ReenrollmentCannotMoveACertificateToAnotherThing) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  EXPECT_THROW(store_->record_reenrollment(make_renewal("0A02", "sensor-2", "0A01"),
                                           make_audit("simplereenroll", "sensor-2", "0A02")),
               ConflictError);
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::active);
  EXPECT_FALSE(store_->find_certificate("0A02"));
}

TEST_P(StoreTest, ReenrollmentWithAReusedSerialLeavesTheOldCertificateActive) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  CertificateRecord clash = make_renewal("0A01", "sensor-1", "0A01");
  clash.sha256_fingerprint = "fp-new";
  EXPECT_THROW(store_->record_reenrollment(clash, make_audit("simplereenroll", "sensor-1", "0A01")),
               ConflictError);
  // The supersede ran before the insert failed: the rollback must have undone it.
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::active);
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
}

TEST_P(StoreTest, ReenrollmentMustNameTheCertificateItReplaces) {
  EXPECT_THROW(store_->record_reenrollment(make_cert("0A02", "sensor-1"),
                                           make_audit("simplereenroll", "sensor-1", "0A02")),
               std::invalid_argument);
  EXPECT_TRUE(store_->list_certificates("").empty());
}

TEST_P(StoreTest, RevocationKeepsTheFirstReasonAndIsAudited) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  store_->revoke_certificate("0A01", "keyCompromise", 1'700'000'500,
                             make_audit("revoke", "sensor-1", "0A01", 1'700'000'500));
  store_->revoke_certificate("0A01", "superseded", 1'700'000'900,
                             make_audit("revoke", "sensor-1", "0A01", 1'700'000'900));

  const auto revoked = store_->find_certificate("0A01");
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status, CertificateStatus::revoked);
  EXPECT_EQ(revoked->revocation_reason, "keyCompromise");
  EXPECT_EQ(revoked->revoked_at, 1'700'000'500);
  EXPECT_FALSE(store_->active_certificate("sensor-1"));
  EXPECT_EQ(store_->audit_since(0).size(), 3U);

  // With its certificate revoked, the thing may enroll afresh.
  store_->record_enrollment(make_cert("0A02", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A02"));
  EXPECT_EQ(store_->active_certificate("sensor-1")->serial, "0A02");
}

TEST_P(StoreTest, RevokingAnUnknownSerialIsNotFoundAndWritesNothing) {
  try {
    store_->revoke_certificate("BEEF", "keyCompromise", 1, make_audit("revoke", "", "BEEF"));
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& error) {
    EXPECT_STREQ(error.what(), "no certificate with serial BEEF");
  }
  EXPECT_TRUE(store_->audit_since(0).empty());
}

TEST_P(StoreTest, AuditIsReturnedOldestFirstFromTheGivenTime) {
  store_->append_audit(make_audit("simpleenroll", "a", "01", 300));
  store_->append_audit(make_audit("simpleenroll", "b", "02", 100));
  store_->append_audit(make_audit("simpleenroll", "c", "03", 200));
  store_->append_audit(make_audit("simpleenroll", "d", "04", 200));

  const auto all = store_->audit_since(0);
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].thing_name, "b");
  EXPECT_EQ(all[1].thing_name, "c");
  EXPECT_EQ(all[2].thing_name, "d");
  EXPECT_EQ(all[3].thing_name, "a");
  EXPECT_LT(all[1].id, all[2].id);

  const auto recent = store_->audit_since(200);
  ASSERT_EQ(recent.size(), 3U);
  EXPECT_EQ(recent[0].thing_name, "c");
  EXPECT_TRUE(store_->audit_since(301).empty());
}

TEST_P(StoreTest, AuditKeepsEveryField) {
  AuditEvent event = make_audit("simpleenroll", "sensor-1", "0A01", 42);
  event.result = "refused";
  event.reason = "The CSR's key is too short.";
  store_->append_audit(event);
  const auto stored = store_->audit_since(42).at(0);
  EXPECT_EQ(stored.time, 42);
  EXPECT_EQ(stored.actor, "CN=bootstrap");
  EXPECT_EQ(stored.source_address, "127.0.0.1");
  EXPECT_EQ(stored.profile, "factory");
  EXPECT_EQ(stored.result, "refused");
  EXPECT_EQ(stored.reason, "The CSR's key is too short.");
}

TEST_P(StoreTest, UsersAreAddedFoundRefusedTwiceAndReplaced) {
  store_->put_user({"alice", "hash-1", 1000}, make_audit("user-add", "", ""), false);
  const auto alice = store_->find_user("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->password_hash, "hash-1");
  EXPECT_EQ(alice->created_at, 1000);
  EXPECT_FALSE(store_->find_user("bob"));

  try {
    store_->put_user({"alice", "hash-2", 2000}, make_audit("user-add", "", ""), false);
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_STREQ(error.what(), "user alice already exists");
  }
  EXPECT_EQ(store_->find_user("alice")->password_hash, "hash-1");
  EXPECT_EQ(store_->audit_since(0).size(), 1U);

  store_->put_user({"alice", "hash-3", 3000}, make_audit("user-passwd", "", ""), true);
  EXPECT_EQ(store_->find_user("alice")->password_hash, "hash-3");
  EXPECT_EQ(store_->find_user("alice")->created_at, 1000);
  store_->put_user({"bob", "hash-4", 4000}, make_audit("user-add", "", ""), true);
  EXPECT_EQ(store_->find_user("bob")->password_hash, "hash-4");
  EXPECT_EQ(store_->audit_since(0).size(), 3U);
}

}  // namespace
}  // namespace estfleet::registry::testing
