#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StrEq;
using ::testing::ThrowsMessage;

EnrollmentRequest make_request(const std::string& thing, const std::string& key,
                               UnixSeconds at = 1'700'000'000,
                               const std::string& content = "content-1") {
  EnrollmentRequest request;
  request.thing_name = thing;
  request.profile = "factory";
  request.public_key_sha256 = key;
  request.content_sha256 = content;
  request.requested_by = "CN=bootstrap";
  request.source_address = "10.0.0.7";
  request.requested_at = at;
  return request;
}

class RequestsTest : public StoreTest {
 protected:
  EnrollmentRequest submit(const std::string& thing, const std::string& key,
                           UnixSeconds at = 1'700'000'000) {
    return store_->submit_request(make_request(thing, key, at), make_audit("request", thing, ""));
  }
  EnrollmentRequest decide(const std::string& thing, bool approve, UnixSeconds at = 1'700'000'500) {
    return store_->decide_request(thing, approve, "alice", at,
                                  make_audit(approve ? "approve" : "reject", thing, ""));
  }
};

TEST_P(RequestsTest, ASubmittedRequestIsPendingAndFoundByThingAndKey) {
  EnrollmentRequest request = make_request("sensor-1", "key-1");
  request.status = RequestStatus::issued;  // the store records a submission as pending anyway
  request.decided_by = "mallory";
  request.decided_at = 5;
  const auto submitted = store_->submit_request(request, make_audit("request", "sensor-1", ""));
  EXPECT_GT(submitted.id, 0);
  EXPECT_EQ(submitted.status, RequestStatus::pending);
  EXPECT_EQ(submitted.decided_by, "");
  EXPECT_FALSE(submitted.decided_at);

  const auto found = store_->find_request("sensor-1", "key-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, submitted.id);
  EXPECT_EQ(found->thing_name, "sensor-1");
  EXPECT_EQ(found->profile, "factory");
  EXPECT_EQ(found->public_key_sha256, "key-1");
  EXPECT_EQ(found->content_sha256, "content-1");
  EXPECT_EQ(found->requested_by, "CN=bootstrap");
  EXPECT_EQ(found->source_address, "10.0.0.7");
  EXPECT_EQ(found->requested_at, 1'700'000'000);
  EXPECT_EQ(found->status, RequestStatus::pending);
  EXPECT_EQ(found->decided_by, "");
  EXPECT_FALSE(found->decided_at);

  EXPECT_FALSE(store_->find_request("sensor-1", "key-2"));
  EXPECT_FALSE(store_->find_request("sensor-2", "key-1"));
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
}

TEST_P(RequestsTest, ResubmittingTheSameKeyReturnsTheOpenRequest) {
  const auto first = submit("sensor-1", "key-1", 1'700'000'000);
  const auto again = submit("sensor-1", "key-1", 1'700'000'060);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.requested_at, 1'700'000'000);
  decide("sensor-1", true);
  const auto approved = submit("sensor-1", "key-1", 1'700'000'600);
  EXPECT_EQ(approved.id, first.id);
  EXPECT_EQ(approved.status, RequestStatus::approved);
  EXPECT_EQ(store_->list_requests(std::nullopt).size(), 1U);
}

TEST_P(RequestsTest, AnotherKeyForAThingWithAnOpenRequestIsAConflict) {
  submit("sensor-1", "key-1");
  try {
    submit("sensor-1", "key-2");
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_STREQ(error.what(),
                 "thing sensor-1 already has an open enrollment request for another key");
  }
  decide("sensor-1", true);
  EXPECT_THROW(submit("sensor-1", "key-2"), ConflictError);
  EXPECT_EQ(store_->list_requests(std::nullopt).size(), 1U);
  EXPECT_EQ(store_->audit_since(0).size(), 2U);
}

TEST_P(RequestsTest, AThingWithAnActiveCertificateCannotRequestEnrollment) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  try {
    submit("sensor-1", "key-1");
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_THAT(error.what(), HasSubstr("thing sensor-1 already holds an active certificate"));
  }
  EXPECT_TRUE(store_->list_requests(std::nullopt).empty());
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
}

TEST_P(RequestsTest, ARejectedRequestMakesRoomForANewOne) {
  const auto first = submit("sensor-1", "key-1");
  const auto rejected = decide("sensor-1", false, 1'700'000'500);
  EXPECT_EQ(rejected.id, first.id);
  EXPECT_EQ(rejected.status, RequestStatus::rejected);
  EXPECT_EQ(rejected.decided_by, "alice");
  EXPECT_EQ(rejected.decided_at, 1'700'000'500);

  const auto second = submit("sensor-1", "key-1", 1'700'000'600);
  EXPECT_GT(second.id, first.id);
  EXPECT_EQ(second.status, RequestStatus::pending);
  EXPECT_EQ(store_->find_request("sensor-1", "key-1")->id, second.id);  // the newest
  const auto other_key = submit("sensor-2", "key-2");
  EXPECT_EQ(other_key.status, RequestStatus::pending);
}

TEST_P(RequestsTest, ApprovalRecordsTheOperatorAndTime) {
  submit("sensor-1", "key-1");
  const auto approved = decide("sensor-1", true, 1'700'000'500);
  EXPECT_EQ(approved.status, RequestStatus::approved);
  EXPECT_EQ(approved.decided_by, "alice");
  EXPECT_EQ(approved.decided_at, 1'700'000'500);
  EXPECT_EQ(store_->find_request("sensor-1", "key-1")->status, RequestStatus::approved);
  EXPECT_EQ(store_->audit_since(0).back().operation, "approve");
}

TEST_P(RequestsTest, DecidingWithoutAPendingRequestIsNotFoundAndWritesNothing) {
  try {
    decide("sensor-1", true);
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& error) {
    EXPECT_STREQ(error.what(), "thing sensor-1 has no pending enrollment request");
  }
  try {
    decide("sensor-1", false);
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& error) {
    EXPECT_STREQ(error.what(), "thing sensor-1 has no pending or approved enrollment request");
  }
  submit("sensor-1", "key-1");
  decide("sensor-1", true);
  EXPECT_THROW(decide("sensor-1", true), NotFoundError) << "approved already";
  EXPECT_EQ(store_->find_request("sensor-1", "key-1")->status, RequestStatus::approved);
  EXPECT_EQ(store_->audit_since(0).size(), 2U);
}

TEST_P(RequestsTest, RejectingAnApprovedRequestWithdrawsTheApproval) {
  const auto first = submit("sensor-1", "key-1");
  decide("sensor-1", true, 1'700'000'500);
  const auto withdrawn = decide("sensor-1", false, 1'700'000'700);
  EXPECT_EQ(withdrawn.id, first.id);
  EXPECT_EQ(withdrawn.status, RequestStatus::rejected);
  EXPECT_EQ(withdrawn.decided_at, 1'700'000'700);
  EXPECT_THROW(decide("sensor-1", false), NotFoundError) << "nothing open any more";
  // An issued request is history: it cannot be rejected.
  const auto second = submit("sensor-2", "key-2");
  decide("sensor-2", true);
  ThingRegistration registration = make_registration();
  registration.fulfils_request = second.id;
  store_->record_enrollment(make_cert("0A02", "sensor-2"), registration,
                            make_audit("simpleenroll", "sensor-2", "0A02"));
  EXPECT_THROW(decide("sensor-2", false), NotFoundError);
  EXPECT_EQ(store_->find_request("sensor-2", "key-2")->status, RequestStatus::issued);
}

TEST_P(RequestsTest, AnOpenRequestHoldsOnlyForItsProfileAndContent) {
  const auto first = submit("sensor-1", "key-1");
  const auto id = std::to_string(first.id);
  auto other_profile = make_request("sensor-1", "key-1");
  other_profile.profile = "line-2";
  auto other_content = make_request("sensor-1", "key-1", 1'700'000'000, "content-2");
  for (const bool approved : {false, true}) {
    EXPECT_THAT(
        [&] { store_->submit_request(other_profile, make_audit("request", "sensor-1", "")); },
        ThrowsMessage<ConflictError>(
            StrEq("thing sensor-1 already has an open enrollment request (" + id +
                  ") for this key under profile 'factory', not 'line-2'")));
    EXPECT_THAT(
        [&] { store_->submit_request(other_content, make_audit("request", "sensor-1", "")); },
        ThrowsMessage<ConflictError>(
            HasSubstr("(" + id +
                      ") for this key asking for other content (subject, subjectAltName, IoT "
                      "details or attributes); an operator must reject it first")));
    if (!approved) {
      decide("sensor-1", true);
    }
  }
  EXPECT_EQ(submit("sensor-1", "key-1").id, first.id) << "the same request is still recognised";
  EXPECT_EQ(store_->list_requests(std::nullopt).size(), 1U);
  EXPECT_EQ(store_->audit_since(0).size(), 3U) << "two submissions and the approval";
}

TEST_P(RequestsTest, ARequestWithoutItsDigestsIsRefused) {
  EXPECT_THROW(store_->submit_request(make_request("sensor-1", "key-1", 0, ""),
                                      make_audit("request", "sensor-1", "")),
               std::invalid_argument);
  EXPECT_THROW(store_->submit_request(make_request("sensor-1", "", 0, "content-1"),
                                      make_audit("request", "sensor-1", "")),
               std::invalid_argument);
  EXPECT_EQ(count_rows("enrollment_requests"), 0);
  EXPECT_TRUE(store_->audit_since(0).empty());
}

TEST_P(RequestsTest, RequestsAreListedOldestFirstAndFilteredByStatus) {
  submit("c", "key-c", 300);
  submit("a", "key-a", 100);
  submit("b", "key-b", 200);
  decide("b", true);
  decide("c", false);

  const auto all = store_->list_requests(std::nullopt);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].thing_name, "a");
  EXPECT_EQ(all[1].thing_name, "b");
  EXPECT_EQ(all[2].thing_name, "c");

  const auto pending = store_->list_requests(RequestStatus::pending);
  ASSERT_EQ(pending.size(), 1U);
  EXPECT_EQ(pending[0].thing_name, "a");
  ASSERT_EQ(store_->list_requests(RequestStatus::approved).size(), 1U);
  EXPECT_EQ(store_->list_requests(RequestStatus::approved)[0].thing_name, "b");
  ASSERT_EQ(store_->list_requests(RequestStatus::rejected).size(), 1U);
  EXPECT_TRUE(store_->list_requests(RequestStatus::issued).empty());
}

TEST_P(RequestsTest, AFailedSubmissionLeavesNoRequest) {
  fail_audit_writes();
  EXPECT_THROW(submit("sensor-1", "key-1"), ConflictError);
  EXPECT_EQ(count_rows("enrollment_requests"), 0);
}

TEST_P(RequestsTest, AFailedDecisionLeavesTheRequestPending) {
  submit("sensor-1", "key-1");
  fail_audit_writes();
  EXPECT_THROW(decide("sensor-1", true), ConflictError);
  const auto request = store_->find_request("sensor-1", "key-1");
  EXPECT_EQ(request->status, RequestStatus::pending);
  EXPECT_FALSE(request->decided_at);
}

TEST_P(RequestsTest, TheDatabaseItselfAllowsOneOpenRequestPerThing) {
  auto connection = raw_sql();
  const auto insert = [&](const std::string& key, const std::string& status) {
    const std::string decided_at = status == "pending" ? "NULL" : "1";
    connection.execute(
        "INSERT INTO enrollment_requests (thing_name, profile, public_key_sha256, requested_by, "
        "source_address, requested_at, status, decided_at) VALUES ('sensor-1', '', '" +
            key + "', '', '', 0, '" + status + "', " + decided_at + ")",
        "test insert");
  };
  insert("key-1", "rejected");
  insert("key-2", "issued");
  insert("key-3", "approved");
  try {
    insert("key-4", "pending");
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& error) {
    EXPECT_THAT(error.what(), HasSubstr("enrollment_requests"));
  }
  EXPECT_THROW(insert("key-5", "approved"), ConflictError);
}

TEST_P(RequestsTest, APendingRequestHasNoDecisionTime) {
  auto connection = raw_sql();
  EXPECT_THROW(
      connection.execute("INSERT INTO enrollment_requests (thing_name, profile, public_key_sha256, "
                         "requested_by, source_address, requested_at, status, decided_at) "
                         "VALUES ('sensor-1', '', 'k', '', '', 0, 'pending', 5)",
                         "test insert"),
      ConflictError);
}

// Two stores on one file stand for two server processes: each has its own connection, so only
// the database can keep them from both opening a request for the same thing.
TEST_P(RequestsTest, TwoConnectionsRacingForTheSameThingsOpenOneRequestEach) {
  constexpr int thing_count = 100;
  auto second_store = open_second_store();
  std::barrier round(2);
  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other_failures{0};
  const auto race = [&](Store& store, const std::string& key) {
    for (int i = 0; i < thing_count; ++i) {
      const std::string thing = "thing-" + std::to_string(i);
      round.arrive_and_wait();
      try {
        store.submit_request(make_request(thing, key), make_audit("request", thing, ""));
        ++successes;
      } catch (const ConflictError&) {
        ++conflicts;
      } catch (const std::exception&) {
        ++other_failures;
      }
    }
  };
  std::thread first(race, std::ref(*store_), "key-a");
  std::thread second(race, std::ref(*second_store), "key-b");
  first.join();
  second.join();

  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_EQ(successes.load(), thing_count);
  EXPECT_EQ(conflicts.load(), thing_count);
  EXPECT_EQ(store_->list_requests(RequestStatus::pending).size(),
            static_cast<std::size_t>(thing_count));
  EXPECT_EQ(store_->audit_since(0).size(), static_cast<std::size_t>(thing_count));
}

TEST_P(RequestsTest, TwoConnectionsRetryingTheSameKeyShareOneRequest) {
  constexpr int thing_count = 100;
  auto second_store = open_second_store();
  std::barrier round(2);
  std::vector<std::int64_t> first_ids(thing_count);
  std::vector<std::int64_t> second_ids(thing_count);
  const auto race = [&](Store& store, std::vector<std::int64_t>& ids) {
    for (int i = 0; i < thing_count; ++i) {
      const std::string thing = "thing-" + std::to_string(i);
      round.arrive_and_wait();
      try {
        ids[static_cast<std::size_t>(i)] =
            store.submit_request(make_request(thing, "key"), make_audit("request", thing, "")).id;
      } catch (const std::exception&) {
        ids[static_cast<std::size_t>(i)] = -1;
      }
    }
  };
  std::thread first(race, std::ref(*store_), std::ref(first_ids));
  std::thread second(race, std::ref(*second_store), std::ref(second_ids));
  first.join();
  second.join();

  EXPECT_EQ(first_ids, second_ids);
  EXPECT_EQ(std::count(first_ids.begin(), first_ids.end(), -1), 0);
  EXPECT_EQ(count_rows("enrollment_requests"), thing_count);
}

EST_STORE_CONFORMANCE(RequestsTest);

}  // namespace
}  // namespace estfleet::registry::testing
