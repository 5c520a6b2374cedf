#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

TEST_P(StoreTest, ThreadsEnrollingDistinctThingsAllSucceed) {
  constexpr int thread_count = 4;
  constexpr int things_per_thread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < things_per_thread; ++i) {
        const std::string thing = "thing-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string serial = "S" + std::to_string(t * things_per_thread + i);
        try {
          store_->record_enrollment(make_cert(serial, thing), make_registration(),
                                    make_audit("simpleenroll", thing, serial));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->list_certificates("").size(),
            static_cast<std::size_t>(thread_count * things_per_thread));
  EXPECT_EQ(store_->audit_since(0).size(),
            static_cast<std::size_t>(thread_count * things_per_thread));
}

TEST_P(StoreTest, ThreadsRacingToEnrollTheSameThingYieldOneWinner) {
  constexpr int thread_count = 8;
  std::latch start(thread_count);
  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      const std::string serial = "R" + std::to_string(t);
      start.arrive_and_wait();
      try {
        store_->record_enrollment(make_cert(serial, "contested"), make_registration(),
                                  make_audit("simpleenroll", "contested", serial));
        ++successes;
      } catch (const ConflictError&) {
        ++conflicts;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(conflicts.load(), thread_count - 1);
  EXPECT_EQ(store_->list_certificates("contested").size(), 1U);
  EXPECT_EQ(store_->audit_since(0).size(), 1U);
}

// Two stores stand for two servers; eight threads between them enroll the same 50 names, each
// thread in its own order and with serials of its own. The database alone decides: exactly one
// certificate per name, one audit row per win, every other attempt a ConflictError.
TEST_P(StoreTest, ServersRacingForTheSameNamesYieldOneCertificatePerName) {
  constexpr int thread_count = 8;
  constexpr int name_count = 50;
  auto second_store = open_second_store();
  std::latch start(thread_count);
  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other_failures{0};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? *store_ : *second_store;
      start.arrive_and_wait();
      for (int i = 0; i < name_count; ++i) {
        const int n = (i * 7 + t * 13) % name_count;  // 7 is coprime to 50: every name once
        const std::string thing = "contested-" + std::to_string(n);
        const std::string serial = "T" + std::to_string(t) + "N" + std::to_string(n);
        try {
          store.record_enrollment(make_cert(serial, thing), make_registration(),
                                  make_audit("simpleenroll", thing, serial));
          ++successes;
        } catch (const ConflictError&) {
          ++conflicts;
        } catch (const std::exception&) {
          ++other_failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_EQ(successes.load(), name_count);
  EXPECT_EQ(conflicts.load(), thread_count * name_count - name_count);
  const auto certs = store_->list_certificates("");
  ASSERT_EQ(certs.size(), static_cast<std::size_t>(name_count));
  std::set<std::string> names;
  for (const auto& cert : certs) {
    names.insert(cert.thing_name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(name_count));
  EXPECT_EQ(store_->list_things().size(), static_cast<std::size_t>(name_count));
  EXPECT_EQ(store_->audit_since(0).size(), static_cast<std::size_t>(name_count));
}

// Distinct names, but every round the threads offer the same serial: one name gets it, the other
// enrollments of the round are refused whole (no thing, no audit row left behind).
TEST_P(StoreTest, ServersRacingWithTheSameSerialRegisterItOnce) {
  constexpr int thread_count = 6;
  constexpr int rounds = 30;
  auto second_store = open_second_store();
  std::barrier round(thread_count);
  std::atomic<int> successes{0};
  std::atomic<int> other_failures{0};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? *store_ : *second_store;
      for (int r = 0; r < rounds; ++r) {
        const std::string thing = "device-" + std::to_string(t) + "-" + std::to_string(r);
        const std::string serial = "SHARED" + std::to_string(r);
        auto cert = make_cert(serial, thing);
        cert.sha256_fingerprint = "fp-" + thing;  // only the serial clashes
        round.arrive_and_wait();
        try {
          store.record_enrollment(cert, make_registration(),
                                  make_audit("simpleenroll", thing, serial));
          ++successes;
        } catch (const ConflictError&) {
        } catch (const std::exception&) {
          ++other_failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(other_failures.load(), 0);
  EXPECT_EQ(successes.load(), rounds);
  EXPECT_EQ(count_rows("certificates"), rounds);
  EXPECT_EQ(count_rows("things"), rounds);
  EXPECT_EQ(count_rows("audit_log"), rounds);
}

}  // namespace
}  // namespace estfleet::registry::testing
