// The revocation reads that OCSP and GET /crl make: every certificate an OCSP request names in one
// call, and the published CRL's number.
#include <gtest/gtest.h>

#include <map>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

std::map<std::string, RevocationLookup> by_serial(std::vector<RevocationLookup> lookups) {
  std::map<std::string, RevocationLookup> found;
  for (auto& lookup : lookups) {
    const std::string serial = lookup.entry.serial;
    EXPECT_TRUE(found.emplace(serial, std::move(lookup)).second) << serial << " came back twice";
  }
  return found;
}

TEST_P(StoreTest, RevocationEntriesForAnswersEveryRegisteredSerialOfTheList) {
  const auto old_cert = make_cert("0A01", "sensor-1");
  store_->record_enrollment(old_cert, make_registration(), make_audit("simpleenroll", "", ""));
  store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01", 1'700'000'100),
                              make_audit("simplereenroll", "", ""));
  store_->record_enrollment(make_cert("0B01", "sensor-2"), make_registration(),
                            make_audit("simpleenroll", "", ""));
  store_->revoke_certificate("0B01", "keyCompromise", 1'700'000'200, make_audit("revoke", "", ""));

  // Unknown serials are left out; one asked twice comes back once.
  const auto found =
      by_serial(store_->revocation_entries_for({"0B01", "FFFF", "0A01", "0A02", "0A01"}));
  ASSERT_EQ(found.size(), 3U);
  const auto& superseded = found.at("0A01");
  EXPECT_EQ(superseded.entry.status, CertificateStatus::superseded);
  EXPECT_EQ(superseded.entry.thing_name, "sensor-1");
  EXPECT_EQ(superseded.entry.profile, "factory");
  EXPECT_EQ(superseded.entry.not_after, old_cert.not_after);
  EXPECT_EQ(superseded.entry.superseded_at, 1'700'000'100);
  EXPECT_FALSE(superseded.entry.revoked_at);
  EXPECT_EQ(superseded.pem, old_cert.pem);
  EXPECT_EQ(found.at("0A02").entry.status, CertificateStatus::active);
  EXPECT_FALSE(found.at("0A02").entry.superseded_at);
  const auto& revoked = found.at("0B01").entry;
  EXPECT_EQ(revoked.status, CertificateStatus::revoked);
  EXPECT_EQ(revoked.revoked_at, 1'700'000'200);
  EXPECT_EQ(revoked.revocation_reason, "keyCompromise");

  EXPECT_TRUE(store_->revocation_entries_for({}).empty());
  EXPECT_TRUE(store_->revocation_entries_for({"FFFF"}).empty());
}

TEST_P(StoreTest, RevocationEntriesForTakesAnySerialTextAndLongLists) {
  // Quotes, backslashes, commas, braces and control characters travel as data, never as syntax.
  const std::vector<std::string> odd = {"Q\"1\\", "a,b", "{c}", "tab\there", "[\"x\"]"};
  for (std::size_t i = 0; i < odd.size(); ++i) {
    const std::string thing = "odd-" + std::to_string(i);
    store_->record_enrollment(make_cert(odd[i], thing), make_registration(),
                              make_audit("simpleenroll", thing, odd[i]));
  }
  std::vector<std::string> asked = odd;
  for (int i = 0; i < 1000; ++i) {
    asked.push_back("F" + std::to_string(i));
  }
  const auto found = by_serial(store_->revocation_entries_for(asked));
  ASSERT_EQ(found.size(), odd.size());
  for (const auto& serial : odd) {
    EXPECT_EQ(found.count(serial), 1U) << serial;
  }
  EXPECT_TRUE(store_->revocation_entries_for({"Q\"1"}).empty());
}

TEST_P(StoreTest, PublishedCrlNumberFollowsThePublishedCrlForEveryStore) {
  EXPECT_EQ(store_->published_crl_number(), 0);
  const auto other = open_second_store();
  const auto draft = other->prepare_crl(0);
  EXPECT_EQ(store_->published_crl_number(), 0);  // handed out, not yet published
  other->publish_crl(PublishedCrl{draft.number, 10, 20, "pem-1"});
  EXPECT_EQ(store_->published_crl_number(), draft.number);
  EXPECT_EQ(store_->published_crl()->pem, "pem-1");
}

TEST_P(StoreTest, AReadOnlyStoreAnswersTheRevocationReads) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "", ""));
  store_->publish_crl(PublishedCrl{store_->prepare_crl(0).number, 10, 20, "pem-1"});
  reopen_read_only();
  EXPECT_EQ(store_->revocation_entries_for({"0A01"}).size(), 1U);
  EXPECT_EQ(store_->published_crl_number(), 1);
  EXPECT_EQ(store_->published_crl()->number, 1);
}

}  // namespace
}  // namespace estfleet::registry::testing
