#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/sqlite/migrations.hpp"
#include "registry/sqlite_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// The schema as version 1 shipped it, frozen here so that a later edit of the migration code
// cannot change what "a database from the previous release" means.
constexpr const char* version_1_schema = R"sql(
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
CREATE TABLE certificates (
  serial TEXT PRIMARY KEY NOT NULL,
  thing_name TEXT NOT NULL,
  subject TEXT NOT NULL,
  profile TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
  pem TEXT NOT NULL,
  sha256_fingerprint TEXT NOT NULL UNIQUE,
  replaces TEXT REFERENCES certificates (serial),
  revoked_at INTEGER,
  revocation_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX certificates_one_active_per_thing ON certificates (thing_name)
  WHERE status = 'active';
CREATE INDEX certificates_by_thing ON certificates (thing_name, issued_at);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  source_address TEXT NOT NULL,
  operation TEXT NOT NULL,
  profile TEXT NOT NULL,
  thing_name TEXT NOT NULL,
  serial TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE TABLE users (
  name TEXT PRIMARY KEY NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
INSERT INTO schema_migrations VALUES (1, 0);

-- old-1 renewed once and moved to another profile; old-2 holds only a revoked certificate.
INSERT INTO certificates VALUES
  ('01', 'old-1', 'CN=old-1', 'factory', 0, 900, 100, 'superseded', 'pem-01', 'fp-01', NULL,
   NULL, ''),
  ('02', 'old-1', 'CN=old-1', 'line-2', 0, 900, 200, 'active', 'pem-02', 'fp-02', '01', NULL,
   ''),
  ('03', 'old-2', 'CN=old-2', 'factory', 0, 900, 150, 'revoked', 'pem-03', 'fp-03', NULL, 160,
   'keyCompromise');
INSERT INTO audit_log (time, actor, source_address, operation, profile, thing_name, serial,
                       result, reason)
  VALUES (100, 'CN=bootstrap', '10.0.0.1', 'simpleenroll', 'factory', 'old-1', '01', 'ok', '');
INSERT INTO users VALUES ('alice', 'hash', 50);
)sql";

// Migration 2 as it shipped, frozen for the same reason: applied to version_1_schema it makes a
// database of the release before requests recorded their content.
constexpr const char* version_2_script = R"sql(
CREATE TABLE policies (
  name TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  document TEXT NOT NULL CHECK (document <> ''),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) STRICT;
CREATE TRIGGER policies_are_immutable BEFORE UPDATE ON policies
BEGIN
  SELECT RAISE(ABORT, 'a stored policy version is never changed');
END;
CREATE TABLE things (
  name TEXT PRIMARY KEY NOT NULL,
  profile TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  policy_name TEXT,
  policy_version INTEGER,
  CHECK ((policy_name IS NULL) = (policy_version IS NULL)),
  FOREIGN KEY (policy_name, policy_version) REFERENCES policies (name, version)
) STRICT;
CREATE TABLE thing_attributes (
  thing_name TEXT NOT NULL REFERENCES things (name),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (thing_name, key)
) STRICT;
CREATE TABLE enrollment_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  thing_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  source_address TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'issued')),
  decided_by TEXT NOT NULL DEFAULT '',
  decided_at INTEGER,
  CHECK ((status = 'pending') = (decided_at IS NULL))
) STRICT;
CREATE UNIQUE INDEX enrollment_requests_one_open_per_thing ON enrollment_requests (thing_name)
  WHERE status IN ('pending', 'approved');
CREATE INDEX enrollment_requests_by_key ON enrollment_requests (thing_name, public_key_sha256);
ALTER TABLE certificates ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0;
INSERT INTO things (name, profile, status, created_at, updated_at)
SELECT thing_name,
       (SELECT newest.profile FROM certificates AS newest
         WHERE newest.thing_name = certificates.thing_name
         ORDER BY newest.issued_at DESC, newest.rowid DESC LIMIT 1),
       'active', min(issued_at), max(issued_at)
  FROM certificates GROUP BY thing_name;
CREATE TRIGGER certificates_belong_to_things BEFORE INSERT ON certificates
  WHEN NOT EXISTS (SELECT 1 FROM things WHERE name = NEW.thing_name)
BEGIN
  SELECT RAISE(ABORT, 'a certificate must belong to a registered thing');
END;
INSERT INTO schema_migrations VALUES (2, 0);

-- One request of each status.
INSERT INTO enrollment_requests (thing_name, profile, public_key_sha256, requested_by,
                                 source_address, requested_at, status, decided_by, decided_at)
  VALUES ('pending-1', 'line', 'key-p', 'pending-1', '10.0.0.2', 300, 'pending', '', NULL),
         ('approved-1', 'line', 'key-a', 'approved-1', '10.0.0.3', 310, 'approved', 'alice', 320),
         ('rejected-1', 'line', 'key-r', 'rejected-1', '10.0.0.4', 330, 'rejected', 'alice', 340),
         ('old-2', 'line', 'key-i', 'old-2', '10.0.0.5', 140, 'issued', 'alice', 145);
)sql";

class MigrationTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    SqliteStoreTest::SetUp();
    store_.reset();
    std::filesystem::remove(path_);
    sqlite::Connection connection(path_, sqlite::OpenMode::read_write);
    connection.execute(version_1_schema, "version 1 fixture");
  }
};

TEST_F(MigrationTest, AVersion1DatabaseGetsAThingForEveryCertificateHolder) {
  reopen();
  const auto things = store_->list_things();
  ASSERT_EQ(things.size(), 2U);

  EXPECT_EQ(things[0].name, "old-1");
  EXPECT_EQ(things[0].profile, "line-2");  // its newest certificate's
  EXPECT_EQ(things[0].status, ThingStatus::active);
  EXPECT_EQ(things[0].created_at, 100);
  EXPECT_EQ(things[0].updated_at, 200);
  EXPECT_EQ(things[0].policy_name, "");
  EXPECT_EQ(things[0].policy_version, 0);
  EXPECT_TRUE(things[0].attributes.empty());

  EXPECT_EQ(things[1].name, "old-2");
  EXPECT_EQ(things[1].profile, "factory");
  EXPECT_EQ(things[1].created_at, 150);

  EXPECT_EQ(store_->find_certificate("02")->policy_version, 0);
  EXPECT_EQ(store_->find_certificate("03")->revocation_reason, "keyCompromise");
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
  EXPECT_TRUE(store_->find_user("alice"));
  store_.reset();
  EXPECT_EQ(count_rows("schema_migrations"), sqlite::latest_schema_version());
}

TEST_F(MigrationTest, DevicesEnrolledBeforeTheUpgradeRenewAndEnrollAsBefore) {
  reopen();
  store_->record_reenrollment(make_renewal("04", "old-1", "02", 300),
                              make_audit("simplereenroll", "old-1", "04", 300));
  EXPECT_EQ(store_->active_certificate("old-1")->serial, "04");

  ThingRegistration registration = make_registration_with_policy("old-2", R"({"Version":"1"})");
  registration.attributes = {{"Region", "eu-west-1"}};
  store_->record_enrollment(make_cert("05", "old-2", 400), registration,
                            make_audit("simpleenroll", "old-2", "05", 400));
  const auto thing = store_->find_thing("old-2");
  EXPECT_EQ(thing->created_at, 150);
  EXPECT_EQ(thing->updated_at, 400);
  EXPECT_EQ(thing->policy_version, 1);
  EXPECT_THAT(thing->attributes, ElementsAre(Pair("Region", "eu-west-1")));

  const auto revoked = store_->disable_thing("old-1", "cessationOfOperation", 500,
                                             make_audit("disable", "old-1", "", 500));
  EXPECT_THAT(revoked, ElementsAre("01", "02", "04"));
}

TEST_F(MigrationTest, OpenRequestsFromBeforeContentBindingAreDroppedAndDecidedOnesKept) {
  {
    sqlite::Connection connection(path_, sqlite::OpenMode::read_write);
    connection.execute(version_2_script, "version 2 fixture");
  }
  reopen();
  const auto requests = store_->list_requests(std::nullopt);
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0].thing_name, "old-2");
  EXPECT_EQ(requests[0].status, RequestStatus::issued);
  EXPECT_EQ(requests[0].content_sha256, "");
  EXPECT_EQ(requests[1].thing_name, "rejected-1");
  EXPECT_EQ(requests[1].status, RequestStatus::rejected);
  EXPECT_EQ(requests[1].decided_at, 340);
  EXPECT_FALSE(store_->find_request("approved-1", "key-a")) << "an approval of unknown content";

  // The devices whose requests were dropped ask again, bound to their content.
  EnrollmentRequest again;
  again.thing_name = "approved-1";
  again.profile = "line";
  again.public_key_sha256 = "key-a";
  again.content_sha256 = "content-a";
  const auto reopened = store_->submit_request(again, make_audit("request", "approved-1", ""));
  EXPECT_EQ(reopened.status, RequestStatus::pending);
  EXPECT_EQ(store_->find_request("approved-1", "key-a")->content_sha256, "content-a");
}

TEST_F(MigrationTest, AVersion1DatabaseCannotBeOpenedReadOnly) {
  try {
    reopen(sqlite::OpenMode::read_only);
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_THAT(error.what(), HasSubstr("has schema version 1 but needs " +
                                        std::to_string(sqlite::latest_schema_version())));
  }
}

TEST_F(SqliteStoreTest, ThingsPoliciesAndRequestsSurviveReopening) {
  ThingRegistration registration = make_registration_with_policy("sensor-1", R"({"Version":"1"})");
  registration.attributes = {{"Region", "eu-west-1"}};
  store_->record_enrollment(make_cert("0A01", "sensor-1"), registration,
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'100,
                        make_audit("disable", "sensor-1", ""));
  EnrollmentRequest request;
  request.thing_name = "sensor-2";
  request.public_key_sha256 = "key-2";
  request.content_sha256 = "content-2";
  request.requested_at = 1'700'000'200;
  const auto submitted = store_->submit_request(request, make_audit("request", "sensor-2", ""));
  store_->decide_request("sensor-2", true, "alice", 1'700'000'300,
                         make_audit("approve", "sensor-2", ""));
  reopen();
  reopen();

  const auto thing = store_->find_thing("sensor-1");
  ASSERT_TRUE(thing);
  EXPECT_EQ(thing->status, ThingStatus::disabled);
  EXPECT_THAT(thing->attributes, ElementsAre(Pair("Region", "eu-west-1")));
  EXPECT_EQ(thing->policy_version, 1);
  EXPECT_EQ(store_->find_policy("sensor-1")->document, R"({"Version":"1"})");
  EXPECT_EQ(store_->find_certificate("0A01")->policy_version, 1);
  EXPECT_EQ(store_->find_certificate("0A01")->status, CertificateStatus::revoked);
  const auto found = store_->find_request("sensor-2", "key-2");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, submitted.id);
  EXPECT_EQ(found->status, RequestStatus::approved);
  EXPECT_EQ(found->decided_at, 1'700'000'300);
  EXPECT_EQ(found->content_sha256, "content-2");

  reopen(sqlite::OpenMode::read_only);
  EXPECT_EQ(store_->list_things().size(), 1U);
  EXPECT_THROW(store_->enable_thing("sensor-1", 1, make_audit("enable", "sensor-1", "")),
               StoreUnavailable);
}

}  // namespace
}  // namespace estfleet::registry::testing
