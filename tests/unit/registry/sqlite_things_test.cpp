#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StrEq;
using ::testing::ThrowsMessage;

constexpr const char* policy_a =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],"Resource":["client/sensor-1"]}]})";
constexpr const char* policy_b =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Publish"],"Resource":["topic/sensor-1"]}]})";

class ThingsTest : public StoreTest {
 protected:
  void enroll(const std::string& serial, const std::string& thing,
              const ThingRegistration& registration, UnixSeconds at = 1'700'000'000) {
    store_->record_enrollment(make_cert(serial, thing, at), registration,
                              make_audit("simpleenroll", thing, serial, at));
  }

  std::int64_t approved_request(const std::string& thing, const std::string& key) {
    EnrollmentRequest request;
    request.thing_name = thing;
    request.profile = "factory";
    request.public_key_sha256 = key;
    request.content_sha256 = "content-" + key;
    request.requested_by = "CN=bootstrap";
    request.source_address = "10.0.0.7";
    request.requested_at = 1'699'999'000;
    const auto submitted = store_->submit_request(request, make_audit("request", thing, ""));
    store_->decide_request(thing, true, "alice", 1'699'999'500, make_audit("approve", thing, ""));
    return submitted.id;
  }
};

TEST_P(ThingsTest, FirstEnrollmentCreatesTheThingWithItsPolicyAndAttributes) {
  ThingRegistration registration = make_registration_with_policy("sensor-1", policy_a);
  registration.attributes = {{"Region", "eu-west-1"}, {"Line", "3"}};
  enroll("0A01", "sensor-1", registration, 1'700'000'000);

  const auto thing = store_->find_thing("sensor-1");
  ASSERT_TRUE(thing);
  EXPECT_EQ(thing->name, "sensor-1");
  EXPECT_EQ(thing->profile, "factory");
  EXPECT_THAT(thing->attributes, ElementsAre(Pair("Line", "3"), Pair("Region", "eu-west-1")));
  EXPECT_EQ(thing->status, ThingStatus::active);
  EXPECT_EQ(thing->created_at, 1'700'000'000);
  EXPECT_EQ(thing->updated_at, 1'700'000'000);
  EXPECT_EQ(thing->policy_name, "sensor-1");
  EXPECT_EQ(thing->policy_version, 1);

  const auto policy = store_->find_policy("sensor-1");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->name, "sensor-1");
  EXPECT_EQ(policy->version, 1);
  EXPECT_EQ(policy->document, policy_a);
  EXPECT_EQ(policy->created_at, 1'700'000'000);
  EXPECT_EQ(store_->find_certificate("0A01")->policy_version, 1);
  EXPECT_FALSE(store_->find_thing("sensor-2"));
  EXPECT_FALSE(store_->find_policy("sensor-2"));
  EXPECT_TRUE(store_->policy_versions("sensor-2").empty());
}

TEST_P(ThingsTest, ReenrollingAfterRevocationMergesAttributesAndVersionsAChangedPolicy) {
  ThingRegistration first = make_registration_with_policy("sensor-1", policy_a);
  first.attributes = {{"Region", "eu-west-1"}, {"Line", "3"}};
  enroll("0A01", "sensor-1", first, 1'700'000'000);
  store_->revoke_certificate("0A01", "keyCompromise", 1'700'000'050,
                             make_audit("revoke", "sensor-1", "0A01"));

  ThingRegistration second = make_registration_with_policy("sensor-1", policy_b);
  second.profile = "line-2";
  second.attributes = {{"Region", "us-east-1"}, {"Batch", "7"}};
  enroll("0A02", "sensor-1", second, 1'700'000'100);

  const auto thing = store_->find_thing("sensor-1");
  ASSERT_TRUE(thing);
  EXPECT_EQ(thing->profile, "line-2");
  EXPECT_THAT(thing->attributes,
              ElementsAre(Pair("Batch", "7"), Pair("Line", "3"), Pair("Region", "us-east-1")));
  EXPECT_EQ(thing->created_at, 1'700'000'000);
  EXPECT_EQ(thing->updated_at, 1'700'000'100);
  EXPECT_EQ(thing->policy_version, 2);

  const auto versions = store_->policy_versions("sensor-1");
  ASSERT_EQ(versions.size(), 2U);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_EQ(versions[0].document, policy_a);
  EXPECT_EQ(versions[1].version, 2);
  EXPECT_EQ(versions[1].document, policy_b);
  EXPECT_EQ(versions[1].created_at, 1'700'000'100);
  EXPECT_EQ(store_->find_policy("sensor-1")->version, 2);
  EXPECT_EQ(store_->find_certificate("0A01")->policy_version, 1);
  EXPECT_EQ(store_->find_certificate("0A02")->policy_version, 2);
}

TEST_P(ThingsTest, AnUnchangedPolicyDocumentKeepsItsVersion) {
  enroll("0A01", "sensor-1", make_registration_with_policy("sensor-1", policy_a));
  store_->revoke_certificate("0A01", "superseded", 1'700'000'050,
                             make_audit("revoke", "sensor-1", "0A01"));
  enroll("0A02", "sensor-1", make_registration_with_policy("sensor-1", policy_a), 1'700'000'100);
  EXPECT_EQ(store_->policy_versions("sensor-1").size(), 1U);
  EXPECT_EQ(store_->find_certificate("0A02")->policy_version, 1);
}

TEST_P(ThingsTest, ARegistrationWithoutAPolicyKeepsTheThingsPolicy) {
  enroll("0A01", "sensor-1", make_registration_with_policy("sensor-1", policy_a));
  store_->revoke_certificate("0A01", "superseded", 1'700'000'050,
                             make_audit("revoke", "sensor-1", "0A01"));
  enroll("0A02", "sensor-1", make_registration(), 1'700'000'100);
  EXPECT_EQ(store_->find_thing("sensor-1")->policy_name, "sensor-1");
  EXPECT_EQ(store_->find_thing("sensor-1")->policy_version, 1);
  EXPECT_EQ(store_->find_certificate("0A02")->policy_version, 1);

  enroll("0B01", "sensor-2", make_registration());
  EXPECT_EQ(store_->find_thing("sensor-2")->policy_name, "");
  EXPECT_EQ(store_->find_thing("sensor-2")->policy_version, 0);
  EXPECT_EQ(store_->find_certificate("0B01")->policy_version, 0);
}

TEST_P(ThingsTest, APolicyNameWithoutADocumentIsAnInvalidArgument) {
  EXPECT_THROW(enroll("0A01", "sensor-1", make_registration_with_policy("sensor-1", "")),
               std::invalid_argument);
  EXPECT_FALSE(store_->find_thing("sensor-1"));
}

TEST_P(ThingsTest, ASerialClashAfterANewPolicyVersionLeavesNothingBehind) {
  enroll("0A01", "sensor-1", make_registration());
  const std::int64_t request = approved_request("sensor-2", "key-2");
  const auto audit_rows = store_->audit_since(0).size();

  ThingRegistration registration = make_registration_with_policy("sensor-2", policy_a);
  registration.attributes = {{"Region", "eu-west-1"}};
  registration.fulfils_request = request;
  CertificateRecord clash = make_cert("0A01", "sensor-2");
  clash.sha256_fingerprint = "fp-other";
  EXPECT_THAT(
      [&] {
        store_->record_enrollment(clash, registration,
                                  make_audit("simpleenroll", "sensor-2", "0A01"));
      },
      ThrowsMessage<ConflictError>(StrEq("a certificate with serial 0A01 is already registered")));
  EXPECT_FALSE(store_->find_thing("sensor-2"));
  EXPECT_EQ(count_rows("things"), 1);
  EXPECT_EQ(count_rows("thing_attributes"), 0);
  EXPECT_EQ(count_rows("policies"), 0);
  EXPECT_EQ(count_rows("certificates"), 1);
  EXPECT_EQ(store_->find_request("sensor-2", "key-2")->status, RequestStatus::approved);
  EXPECT_EQ(store_->audit_since(0).size(), audit_rows);
}

TEST_P(ThingsTest, AFailedEnrollmentLeavesAnExistingThingAsItWas) {
  ThingRegistration first = make_registration_with_policy("sensor-1", policy_a);
  first.attributes = {{"Region", "eu-west-1"}};
  enroll("0A01", "sensor-1", first);
  store_->revoke_certificate("0A01", "superseded", 1'700'000'050,
                             make_audit("revoke", "sensor-1", "0A01"));
  const auto before = store_->find_thing("sensor-1");
  fail_audit_writes();

  ThingRegistration second = make_registration_with_policy("sensor-1", policy_b);
  second.profile = "line-2";
  second.attributes = {{"Region", "us-east-1"}, {"Batch", "7"}};
  EXPECT_THROW(enroll("0A02", "sensor-1", second, 1'700'000'100), ConflictError);

  const auto after = store_->find_thing("sensor-1");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->profile, before->profile);
  EXPECT_EQ(after->attributes, before->attributes);
  EXPECT_EQ(after->updated_at, before->updated_at);
  EXPECT_EQ(after->policy_version, 1);
  EXPECT_EQ(store_->policy_versions("sensor-1").size(), 1U);
  EXPECT_FALSE(store_->find_certificate("0A02"));
}

TEST_P(ThingsTest, AFailedEnrollmentLeavesTheFulfilledRequestApproved) {
  const std::int64_t request = approved_request("sensor-1", "key-1");
  fail_audit_writes();
  ThingRegistration registration = make_registration_with_policy("sensor-1", policy_a);
  registration.fulfils_request = request;
  EXPECT_THROW(enroll("0A01", "sensor-1", registration), ConflictError);
  EXPECT_EQ(store_->find_request("sensor-1", "key-1")->status, RequestStatus::approved);
  EXPECT_EQ(count_rows("things"), 0);
  EXPECT_EQ(count_rows("policies"), 0);
  EXPECT_EQ(count_rows("certificates"), 0);
}

TEST_P(ThingsTest, AnEnrollmentMarksTheApprovedRequestItFulfilsIssued) {
  const std::int64_t request = approved_request("sensor-1", "key-1");
  ThingRegistration registration = make_registration();
  registration.fulfils_request = request;
  enroll("0A01", "sensor-1", registration);
  const auto issued = store_->find_request("sensor-1", "key-1");
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->status, RequestStatus::issued);
  EXPECT_EQ(issued->decided_by, "alice");
  EXPECT_EQ(issued->decided_at, 1'699'999'500);
}

TEST_P(ThingsTest, FulfillingARequestThatIsNotApprovedForThisThingIsAConflict) {
  const std::int64_t other = approved_request("sensor-2", "key-2");
  EnrollmentRequest pending;
  pending.thing_name = "sensor-3";
  pending.profile = "factory";
  pending.public_key_sha256 = "key-3";
  pending.content_sha256 = "content-3";
  const std::int64_t unapproved =
      store_->submit_request(pending, make_audit("request", "sensor-3", "")).id;

  const auto attempt = [&](std::int64_t id) {
    ThingRegistration registration = make_registration();
    registration.fulfils_request = id;
    enroll("0A01", "sensor-1", registration);
  };
  const auto expect_conflict = [&](std::int64_t id, const std::string& message) {
    try {
      attempt(id);
      FAIL() << "expected ConflictError";
    } catch (const ConflictError& error) {
      EXPECT_EQ(error.what(), message);
    }
  };
  expect_conflict(other, "enrollment request " + std::to_string(other) +
                             " is for thing sensor-2, not sensor-1");
  expect_conflict(9999, "no enrollment request 9999 to fulfil");
  const std::int64_t own = approved_request("sensor-1", "key-1");
  try {
    ThingRegistration registration = make_registration("line-2");
    registration.fulfils_request = own;
    enroll("0A01", "sensor-1", registration);
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_EQ(error.what(), "enrollment request " + std::to_string(own) +
                                " was made under profile 'factory', not 'line-2'");
  }
  EXPECT_EQ(store_->find_request("sensor-1", "key-1")->status, RequestStatus::approved);

  ThingRegistration registration = make_registration();
  registration.fulfils_request = unapproved;
  try {
    enroll("0A01", "sensor-3", registration);
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_EQ(error.what(),
              "enrollment request " + std::to_string(unapproved) + " is pending, not approved");
  }
  EXPECT_EQ(count_rows("certificates"), 0);
  EXPECT_EQ(count_rows("things"), 0);
  EXPECT_EQ(store_->find_request("sensor-2", "key-2")->status, RequestStatus::approved);
}

TEST_P(ThingsTest, ThingsAreListedByNameWithTheirAttributes) {
  ThingRegistration with_region = make_registration();
  with_region.attributes = {{"Region", "eu-west-1"}};
  enroll("03", "gamma", with_region);
  enroll("01", "alpha", make_registration());
  ThingRegistration with_two = make_registration();
  with_two.attributes = {{"b", "2"}, {"a", "1"}};
  enroll("02", "beta", with_two);

  const auto things = store_->list_things();
  ASSERT_EQ(things.size(), 3U);
  EXPECT_EQ(things[0].name, "alpha");
  EXPECT_TRUE(things[0].attributes.empty());
  EXPECT_EQ(things[1].name, "beta");
  EXPECT_THAT(things[1].attributes, ElementsAre(Pair("a", "1"), Pair("b", "2")));
  EXPECT_EQ(things[2].name, "gamma");
  EXPECT_THAT(things[2].attributes, ElementsAre(Pair("Region", "eu-west-1")));
}

TEST_P(ThingsTest, NoThingsListsEmpty) {
  EXPECT_TRUE(store_->list_things().empty());
}

TEST_P(ThingsTest, ReenrollmentCarriesTheThingsCurrentPolicyVersion) {
  enroll("0A01", "sensor-1", make_registration_with_policy("sensor-1", policy_a));
  store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                              make_audit("simplereenroll", "sensor-1", "0A02"));
  EXPECT_EQ(store_->find_certificate("0A02")->policy_version, 1);
}

TEST_P(ThingsTest, ACertificateForAnUnregisteredThingIsRefusedByTheDatabase) {
  auto connection = raw_sql();
  try {
    connection.execute(
        "INSERT INTO certificates (serial, thing_name, subject, profile, not_before, not_after, "
        "issued_at, status, pem, sha256_fingerprint) "
        "VALUES ('01', 'ghost', 'CN=ghost', '', 0, 1, 0, 'active', 'pem', 'fp')",
        "test insert");
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_THAT(error.what(), HasSubstr("a certificate must belong to a registered thing"));
  }
}

TEST_P(ThingsTest, AStoredPolicyVersionCannotBeRewritten) {
  enroll("0A01", "sensor-1", make_registration_with_policy("sensor-1", policy_a));
  auto connection = raw_sql();
  EXPECT_THROW(connection.execute("UPDATE policies SET document = '{}'", "test update"),
               ConflictError);
  EXPECT_EQ(store_->find_policy("sensor-1")->document, policy_a);
}

TEST_P(ThingsTest, DisablingRevokesEveryUnrevokedCertificateAndRefusesIssuance) {
  enroll("0A01", "sensor-1", make_registration());
  store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                              make_audit("simplereenroll", "sensor-1", "0A02"));
  store_->record_reenrollment(make_renewal("0A03", "sensor-1", "0A02", 1'700'000'200),
                              make_audit("simplereenroll", "sensor-1", "0A03"));
  store_->revoke_certificate("0A01", "keyCompromise", 1'700'000'300,
                             make_audit("revoke", "sensor-1", "0A01"));
  enroll("0B01", "sensor-2", make_registration());

  const auto revoked = store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'400,
                                             make_audit("disable", "sensor-1", ""));
  EXPECT_THAT(revoked, ElementsAre("0A02", "0A03"));

  const auto thing = store_->find_thing("sensor-1");
  EXPECT_EQ(thing->status, ThingStatus::disabled);
  EXPECT_EQ(thing->updated_at, 1'700'000'400);
  for (const auto& serial : {"0A02", "0A03"}) {
    const auto cert = store_->find_certificate(serial);
    EXPECT_EQ(cert->status, CertificateStatus::revoked);
    EXPECT_EQ(cert->revocation_reason, "cessationOfOperation");
    EXPECT_EQ(cert->revoked_at, 1'700'000'400);
  }
  EXPECT_EQ(store_->find_certificate("0A01")->revocation_reason, "keyCompromise");
  EXPECT_EQ(store_->find_certificate("0B01")->status, CertificateStatus::active);
  EXPECT_EQ(store_->audit_since(0).back().operation, "disable");

  try {
    enroll("0A04", "sensor-1", make_registration());
    FAIL() << "expected ThingDisabledError";
  } catch (const ThingDisabledError& error) {
    EXPECT_STREQ(error.what(), "thing sensor-1 is disabled");
  }
  EXPECT_THROW(store_->record_reenrollment(make_renewal("0A05", "sensor-1", "0A03"),
                                           make_audit("simplereenroll", "sensor-1", "0A05")),
               ThingDisabledError);
  EXPECT_FALSE(store_->find_certificate("0A04"));
  EXPECT_FALSE(store_->find_certificate("0A05"));
}

TEST_P(ThingsTest, DisablingADisabledThingRevokesNothingNew) {
  enroll("0A01", "sensor-1", make_registration());
  store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'400,
                        make_audit("disable", "sensor-1", ""));
  const auto again = store_->disable_thing("sensor-1", "keyCompromise", 1'700'000'900,
                                           make_audit("disable", "sensor-1", ""));
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(store_->find_thing("sensor-1")->updated_at, 1'700'000'400);
  EXPECT_EQ(store_->find_certificate("0A01")->revocation_reason, "cessationOfOperation");
  EXPECT_EQ(store_->audit_since(0).size(), 3U);
}

TEST_P(ThingsTest, DisablingOrEnablingAnUnknownThingIsNotFoundAndWritesNothing) {
  try {
    store_->disable_thing("ghost", "cessationOfOperation", 1, make_audit("disable", "ghost", ""));
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& error) {
    EXPECT_STREQ(error.what(), "no thing named ghost");
  }
  try {
    store_->enable_thing("ghost", 1, make_audit("enable", "ghost", ""));
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& error) {
    EXPECT_STREQ(error.what(), "no thing named ghost");
  }
  EXPECT_TRUE(store_->audit_since(0).empty());
}

TEST_P(ThingsTest, AnEnabledThingEnrollsAfresh) {
  enroll("0A01", "sensor-1", make_registration());
  store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'400,
                        make_audit("disable", "sensor-1", ""));
  store_->enable_thing("sensor-1", 1'700'000'500, make_audit("enable", "sensor-1", ""));
  const auto thing = store_->find_thing("sensor-1");
  EXPECT_EQ(thing->status, ThingStatus::active);
  EXPECT_EQ(thing->updated_at, 1'700'000'500);
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::revoked);

  store_->enable_thing("sensor-1", 1'700'000'600, make_audit("enable", "sensor-1", ""));
  EXPECT_EQ(store_->find_thing("sensor-1")->updated_at, 1'700'000'500);

  enroll("0A02", "sensor-1", make_registration(), 1'700'000'700);
  EXPECT_EQ(store_->active_certificate("sensor-1")->serial, "0A02");
  EXPECT_EQ(store_->audit_since(0).size(), 5U);
}

TEST_P(ThingsTest, AFailedDisableLeavesTheThingAndItsCertificatesAsTheyWere) {
  enroll("0A01", "sensor-1", make_registration());
  store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                              make_audit("simplereenroll", "sensor-1", "0A02"));
  fail_audit_writes();
  EXPECT_THROW(store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'400,
                                     make_audit("disable", "sensor-1", "")),
               ConflictError);
  EXPECT_EQ(store_->find_thing("sensor-1")->status, ThingStatus::active);
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::superseded);
  EXPECT_EQ(store_->find_certificate("0A02")->status, CertificateStatus::active);
  EXPECT_FALSE(store_->find_certificate("0A02")->revoked_at);
}

TEST_P(ThingsTest, AFailedEnableLeavesTheThingDisabled) {
  enroll("0A01", "sensor-1", make_registration());
  store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'400,
                        make_audit("disable", "sensor-1", ""));
  fail_audit_writes();
  EXPECT_THROW(
      store_->enable_thing("sensor-1", 1'700'000'500, make_audit("enable", "sensor-1", "")),
      ConflictError);
  EXPECT_EQ(store_->find_thing("sensor-1")->status, ThingStatus::disabled);
  EXPECT_EQ(store_->find_thing("sensor-1")->updated_at, 1'700'000'400);
}

TEST_P(ThingsTest, AFailedReenrollmentLeavesTheOldCertificateActive) {
  enroll("0A01", "sensor-1", make_registration());
  fail_audit_writes();
  EXPECT_THROW(store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                                           make_audit("simplereenroll", "sensor-1", "0A02")),
               ConflictError);
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::active);
  EXPECT_FALSE(store_->find_certificate("0A02"));
}

TEST_P(ThingsTest, AFailedRevocationLeavesTheCertificateActive) {
  enroll("0A01", "sensor-1", make_registration());
  fail_audit_writes();
  EXPECT_THROW(store_->revoke_certificate("0A01", "keyCompromise", 1'700'000'400,
                                          make_audit("revoke", "sensor-1", "0A01")),
               ConflictError);
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::active);
}

TEST_P(ThingsTest, AFailedUserWriteLeavesNoUser) {
  fail_audit_writes();
  EXPECT_THROW(store_->put_user({"alice", "hash", 1}, make_audit("user-add", "", ""), false),
               ConflictError);
  EXPECT_FALSE(store_->find_user("alice"));
}

EST_STORE_CONFORMANCE(ThingsTest);

}  // namespace
}  // namespace estfleet::registry::testing
