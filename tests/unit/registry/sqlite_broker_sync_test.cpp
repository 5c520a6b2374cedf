#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr const char* policy_a =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],"Resource":["client/sensor-1"]}]})";
constexpr const char* policy_b =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Publish"],"Resource":["topic/sensor-1"]}]})";

class BrokerSyncTest : public StoreTest {
 protected:
  void enroll(const std::string& serial, const std::string& thing,
              const std::string& policy = policy_a) {
    store_->record_enrollment(make_cert(serial, thing),
                              make_registration_with_policy(thing, policy),
                              make_audit("simpleenroll", thing, serial));
  }

  BrokerSyncState state_of(const std::string& thing) {
    for (const auto& state : store_->broker_sync_states(false, 0)) {
      if (state.thing_name == thing) {
        return state;
      }
    }
    ADD_FAILURE() << thing << " has no broker sync state";
    return {};
  }

  // Applies the thing as the worker does: read the generation, then confirm it.
  void apply(const std::string& thing) {
    store_->mark_broker_applied(thing, state_of(thing).desired);
  }
};

TEST_P(BrokerSyncTest, AnEnrolledThingIsPendingUntilTheBrokerConfirmsIt) {
  EXPECT_EQ(store_->broker_pending_count(), 0);
  enroll("0A01", "sensor-1");
  const auto state = state_of("sensor-1");
  EXPECT_GE(state.desired, 1);
  EXPECT_EQ(state.applied, 0);
  EXPECT_TRUE(state.pending());
  EXPECT_EQ(store_->broker_pending_count(), 1);
  const auto pending = store_->broker_sync_states(true, 0);
  ASSERT_EQ(pending.size(), 1U);
  EXPECT_EQ(pending[0].thing_name, "sensor-1");

  apply("sensor-1");
  EXPECT_EQ(store_->broker_pending_count(), 0);
  EXPECT_TRUE(store_->broker_sync_states(true, 0).empty());
  EXPECT_FALSE(state_of("sensor-1").pending());
}

TEST_P(BrokerSyncTest, EveryChangeOfWhatTheBrokerEnforcesMakesTheThingPendingAgain) {
  enroll("0A01", "sensor-1");
  const auto expect_bumped_by = [&](const char* what, const std::function<void()>& change) {
    apply("sensor-1");
    const auto before = state_of("sensor-1").desired;
    change();
    EXPECT_GT(state_of("sensor-1").desired, before) << what;
    EXPECT_EQ(store_->broker_pending_count(), 1) << what;
  };
  expect_bumped_by("re-enrollment", [&] {
    store_->record_reenrollment(make_renewal("0A02", "sensor-1", "0A01"),
                                make_audit("simplereenroll", "sensor-1", "0A02"));
  });
  expect_bumped_by("revocation", [&] {
    store_->revoke_certificate("0A02", "keyCompromise", 1'700'000'200,
                               make_audit("revoke", "sensor-1", "0A02"));
  });
  expect_bumped_by("enrollment with a new policy version",
                   [&] { enroll("0A03", "sensor-1", policy_b); });
  expect_bumped_by("disable", [&] {
    store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'300,
                          make_audit("disable", "sensor-1", ""));
  });
  expect_bumped_by("enable", [&] {
    store_->enable_thing("sensor-1", 1'700'000'400, make_audit("enable", "sensor-1", ""));
  });
}

TEST_P(BrokerSyncTest, ChangesThatTouchNothingTheBrokerEnforcesLeaveItApplied) {
  enroll("0A01", "sensor-1");
  apply("sensor-1");
  // Revoking an already revoked certificate, disabling a disabled thing: nothing changes.
  store_->revoke_certificate("0A01", "keyCompromise", 1'700'000'200,
                             make_audit("revoke", "sensor-1", "0A01"));
  apply("sensor-1");
  store_->revoke_certificate("0A01", "unspecified", 1'700'000'300,
                             make_audit("revoke", "sensor-1", "0A01"));
  store_->append_audit(make_audit("note", "sensor-1", ""));
  EXPECT_EQ(store_->broker_pending_count(), 0);
}

TEST_P(BrokerSyncTest, AConfirmationOfAnOlderGenerationLeavesALaterChangePending) {
  enroll("0A01", "sensor-1");
  const auto read_before_applying = state_of("sensor-1").desired;
  // The thing is disabled while the worker talks to the broker.
  store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'300,
                        make_audit("disable", "sensor-1", ""));
  store_->mark_broker_applied("sensor-1", read_before_applying);
  const auto state = state_of("sensor-1");
  EXPECT_EQ(state.applied, read_before_applying);
  EXPECT_TRUE(state.pending());
  // A late confirmation never moves applied backwards.
  apply("sensor-1");
  store_->mark_broker_applied("sensor-1", read_before_applying);
  EXPECT_FALSE(state_of("sensor-1").pending());
}

TEST_P(BrokerSyncTest, RefusesUnknownThingsAndGenerationsNeverHandedOut) {
  enroll("0A01", "sensor-1");
  const auto desired = state_of("sensor-1").desired;
  EXPECT_THAT([&] { store_->mark_broker_applied("nobody", 1); },
              ThrowsMessage<NotFoundError>(HasSubstr("no thing named nobody")));
  EXPECT_THAT([&] { store_->mark_broker_applied("sensor-1", desired + 1); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("never handed out")));
  EXPECT_THAT([&] { store_->mark_broker_applied("sensor-1", 0); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("never handed out")));
  EXPECT_EQ(state_of("sensor-1").applied, 0);
}

TEST_P(BrokerSyncTest, ListsByNameAndHonoursTheLimit) {
  enroll("0A03", "sensor-3");
  enroll("0A01", "sensor-1");
  enroll("0A02", "sensor-2");
  apply("sensor-2");
  const auto all = store_->broker_sync_states(false, 0);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].thing_name, "sensor-1");
  EXPECT_EQ(all[2].thing_name, "sensor-3");
  const auto first_pending = store_->broker_sync_states(true, 1);
  ASSERT_EQ(first_pending.size(), 1U);
  EXPECT_EQ(first_pending[0].thing_name, "sensor-1");
  EXPECT_EQ(store_->broker_sync_states(true, 0).size(), 2U);
  EXPECT_EQ(store_->broker_pending_count(), 2);
}

TEST_P(BrokerSyncTest, AFailedWriteBumpsNothing) {
  enroll("0A01", "sensor-1");
  apply("sensor-1");
  fail_audit_writes();
  EXPECT_ANY_THROW(store_->disable_thing("sensor-1", "cessationOfOperation", 1'700'000'300,
                                         make_audit("disable", "sensor-1", "")));
  EXPECT_EQ(store_->broker_pending_count(), 0);
  EXPECT_EQ(store_->find_thing("sensor-1")->status, ThingStatus::active);
}

TEST_P(BrokerSyncTest, ThingsRegisteredBeforeMigrationFiveArePendingOnce) {
  enroll("0A01", "sensor-1");
  enroll("0A02", "sensor-2");
  store_.reset();
  // Back to schema 4: as a registry written before the broker existed (and before schema 6).
  raw_sql().execute(
      GetParam() == "sqlite"
          ? "DROP TRIGGER broker_sync_thing_added; DROP TRIGGER broker_sync_thing_changed; "
            "DROP TRIGGER broker_sync_certificate_added; "
            "DROP TRIGGER broker_sync_certificate_changed; DROP TABLE broker_sync; "
            "ALTER TABLE certificates DROP COLUMN enrolled_by; "
            "ALTER TABLE certificates DROP COLUMN content_sha256; "
            "DELETE FROM schema_migrations WHERE version >= 5"
          : "DROP TABLE broker_sync; DROP FUNCTION broker_sync_thing_added CASCADE; "
            "DROP FUNCTION broker_sync_thing_changed CASCADE; "
            "DROP FUNCTION broker_sync_certificate_changed CASCADE; "
            "ALTER TABLE certificates DROP COLUMN enrolled_by, DROP COLUMN content_sha256; "
            "DELETE FROM schema_migrations WHERE version >= 5",
      "test setup");
  reopen();
  EXPECT_EQ(store_->broker_pending_count(), 2);
  for (const auto& state : store_->broker_sync_states(false, 0)) {
    EXPECT_EQ(state.desired, 1);
    EXPECT_EQ(state.applied, 0);
  }
}

EST_STORE_CONFORMANCE(BrokerSyncTest);

}  // namespace
}  // namespace estfleet::registry::testing
