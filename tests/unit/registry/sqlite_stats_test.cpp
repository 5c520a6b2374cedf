#include <gtest/gtest.h>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

constexpr UnixSeconds kNow = 1'700'000'000;
constexpr UnixSeconds kDay = 86'400;

// An enrolled certificate that expires `lifetime` after kNow.
void enroll(Store& store, const std::string& serial, const std::string& thing,
            UnixSeconds lifetime) {
  auto cert = make_cert(serial, thing, kNow - 60);
  cert.not_after = kNow + lifetime;
  store.record_enrollment(cert, make_registration(), make_audit("simpleenroll", thing, serial));
}

TEST_P(StoreTest, StatsOfAnEmptyRegistryAreZero) {
  const auto stats = store_->stats(kNow);
  EXPECT_EQ(stats.things, 0);
  EXPECT_EQ(stats.certificates.at(CertificateStatus::active), 0);
  EXPECT_EQ(stats.certificates.at(CertificateStatus::superseded), 0);
  EXPECT_EQ(stats.certificates.at(CertificateStatus::revoked), 0);
  EXPECT_EQ(stats.expiring_within_7d, 0);
  EXPECT_EQ(stats.expiring_within_30d, 0);
}

TEST_P(StoreTest, StatsCountThingsCertificatesByStatusAndExpiringActiveOnes) {
  enroll(*store_, "01", "in-3-days", 3 * kDay);
  enroll(*store_, "02", "in-7-days", 7 * kDay);  // the window's end is inclusive
  enroll(*store_, "03", "in-20-days", 20 * kDay);
  enroll(*store_, "04", "in-a-year", 365 * kDay);
  enroll(*store_, "05", "expired", -kDay);  // already expired: not "expiring"
  enroll(*store_, "06", "revoked-soon", 2 * kDay);
  store_->revoke_certificate("06", "keyCompromise", kNow,
                             make_audit("revoke", "revoked-soon", "06"));
  auto renewed = make_cert("07", "in-a-year", kNow);
  renewed.not_after = kNow + 5 * kDay;
  renewed.replaces = "04";
  store_->record_reenrollment(renewed, make_audit("simplereenroll", "in-a-year", "07"));

  const auto stats = store_->stats(kNow);
  EXPECT_EQ(stats.things, 6);
  EXPECT_EQ(stats.certificates.at(CertificateStatus::active), 5);  // 01 02 03 05 07
  EXPECT_EQ(stats.certificates.at(CertificateStatus::superseded), 1);
  EXPECT_EQ(stats.certificates.at(CertificateStatus::revoked), 1);
  EXPECT_EQ(stats.expiring_within_7d, 3);   // 01 02 07
  EXPECT_EQ(stats.expiring_within_30d, 4);  // and 03
}

TEST_P(StoreTest, StatsAndPingWorkBesideAnOpenStoreAndOnAReadOnlyOne) {
  enroll(*store_, "01", "sensor-1", kDay);
  EXPECT_NO_THROW(store_->ping());
  reopen_read_only();
  EXPECT_NO_THROW(store_->ping());
  EXPECT_EQ(store_->stats(kNow).things, 1);
}

TEST_P(StoreTest, PingFailsWithStoreUnavailableWhenTheDatabaseIsGone) {
  backend_->make_unreachable();
  EXPECT_THROW(store_->ping(), StoreUnavailable);
  EXPECT_THROW(store_->stats(kNow), StoreUnavailable);
}

}  // namespace
}  // namespace estfleet::registry::testing
