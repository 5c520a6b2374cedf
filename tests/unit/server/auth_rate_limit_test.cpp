#include "server/auth_rate_limit.hpp"

#include <gtest/gtest.h>

namespace estfleet::server {
namespace {

using std::chrono::seconds;

class LimiterTest : public ::testing::Test {
 protected:
  AuthFailureLimiter make(AuthRateLimits limits) {
    return AuthFailureLimiter(limits, [this] { return now_; });
  }
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1000)};
};

TEST_F(LimiterTest, AllowsTheBurstThenRefusesWithRetryAfter) {
  auto limiter = make({.failures_per_minute = 6, .burst = 3, .max_sources = 10});
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.admit("10.0.0.1").limited) << i;
    limiter.record_failure("10.0.0.1");
  }
  const auto decision = limiter.admit("10.0.0.1");
  EXPECT_TRUE(decision.limited);
  EXPECT_EQ(decision.retry_after, seconds(10));  // 6 per minute: one token every 10 s
  EXPECT_TRUE(decision.window_started);
  EXPECT_FALSE(limiter.admit("10.0.0.2").limited) << "another source is not affected";
}

TEST_F(LimiterTest, OneAnnouncementPerLimitedWindow) {
  auto limiter = make({.failures_per_minute = 60, .burst = 1, .max_sources = 10});
  limiter.record_failure("a");
  EXPECT_TRUE(limiter.admit("a").window_started);
  for (int i = 0; i < 5; ++i) {
    const auto again = limiter.admit("a");
    EXPECT_TRUE(again.limited);
    EXPECT_FALSE(again.window_started) << "the same window is reported once";
  }
  now_ += seconds(1);  // one token back: the window ends
  EXPECT_FALSE(limiter.admit("a").limited);
  limiter.record_failure("a");
  const auto next = limiter.admit("a");
  EXPECT_TRUE(next.limited);
  EXPECT_TRUE(next.window_started) << "a new window is reported again";
}

TEST_F(LimiterTest, RefillsAtTheConfiguredRateUpToTheBurst) {
  auto limiter = make({.failures_per_minute = 2, .burst = 2, .max_sources = 10});
  limiter.record_failure("a");
  limiter.record_failure("a");
  EXPECT_EQ(limiter.admit("a").retry_after, seconds(30));
  now_ += seconds(29);
  EXPECT_EQ(limiter.admit("a").retry_after, seconds(1));
  now_ += seconds(1);
  EXPECT_FALSE(limiter.admit("a").limited);
  now_ += std::chrono::hours(10);  // a long quiet time refills to the burst, not beyond
  limiter.record_failure("a");
  limiter.record_failure("a");
  EXPECT_TRUE(limiter.admit("a").limited);
}

TEST_F(LimiterTest, MemoryIsBoundedAndTheOldestSourceIsForgotten) {
  auto limiter = make({.failures_per_minute = 1, .burst = 1, .max_sources = 3});
  for (const char* source : {"a", "b", "c"}) {
    limiter.record_failure(source);
  }
  EXPECT_TRUE(limiter.admit("a").limited);  // "a" is now the most recently seen
  limiter.record_failure("d");              // full: "b", the oldest, goes
  EXPECT_EQ(limiter.tracked(), 3u);
  EXPECT_FALSE(limiter.admit("b").limited);
  EXPECT_TRUE(limiter.admit("a").limited);
  EXPECT_TRUE(limiter.admit("c").limited);
  EXPECT_TRUE(limiter.admit("d").limited);
  for (int i = 0; i < 1000; ++i) {
    limiter.record_failure("x" + std::to_string(i));
  }
  EXPECT_EQ(limiter.tracked(), 3u);
}

TEST_F(LimiterTest, ZeroRateTurnsItOff) {
  auto limiter = make({.failures_per_minute = 0, .burst = 1, .max_sources = 3});
  for (int i = 0; i < 100; ++i) {
    limiter.record_failure("a");
  }
  EXPECT_FALSE(limiter.admit("a").limited);
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST_F(LimiterTest, ClockGoingBackwardsNeitherRefillsNorBreaks) {
  auto limiter = make({.failures_per_minute = 60, .burst = 1, .max_sources = 3});
  limiter.record_failure("a");
  now_ -= seconds(100);
  const auto decision = limiter.admit("a");
  EXPECT_TRUE(decision.limited);
  EXPECT_EQ(decision.retry_after, seconds(1));
}

}  // namespace
}  // namespace estfleet::server
