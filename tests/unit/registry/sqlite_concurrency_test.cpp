#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "registry/sqlite_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

TEST_F(SqliteStoreTest, ThreadsEnrollingDistinctThingsAllSucceed) {
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

TEST_F(SqliteStoreTest, ThreadsRacingToEnrollTheSameThingYieldOneWinner) {
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

}  // namespace
}  // namespace estfleet::registry::testing
