#include "server/auth_rate_limit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace estfleet::server {
namespace {

using std::chrono::seconds;

// One failed authentication from `source`, as serve does it: admitted (a token reserved), then
// settled as failed. A refused admission checks nothing and so charges nothing.
void fail_once(AuthFailureLimiter& limiter, const std::string& source) {
  if (!limiter.admit(source).limited) {
    limiter.settle(source, true);
  }
}

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
    limiter.settle("10.0.0.1", true);
  }
  const auto decision = limiter.admit("10.0.0.1");
  EXPECT_TRUE(decision.limited);
  EXPECT_EQ(decision.retry_after, seconds(10));  // 6 per minute: one token every 10 s
  EXPECT_TRUE(decision.window_started);
  EXPECT_FALSE(limiter.admit("10.0.0.2").limited) << "another source is not affected";
}

TEST_F(LimiterTest, OneAnnouncementPerLimitedWindow) {
  auto limiter = make({.failures_per_minute = 60, .burst = 1, .max_sources = 10});
  fail_once(limiter, "a");
  EXPECT_TRUE(limiter.admit("a").window_started);
  for (int i = 0; i < 5; ++i) {
    const auto again = limiter.admit("a");
    EXPECT_TRUE(again.limited);
    EXPECT_FALSE(again.window_started) << "the same window is reported once";
  }
  now_ += seconds(1);  // one token back: the window ends
  EXPECT_FALSE(limiter.admit("a").limited);
  limiter.settle("a", true);
  const auto next = limiter.admit("a");
  EXPECT_TRUE(next.limited);
  EXPECT_TRUE(next.window_started) << "a new window is reported again";
}

TEST_F(LimiterTest, RefillsAtTheConfiguredRateUpToTheBurst) {
  auto limiter = make({.failures_per_minute = 2, .burst = 2, .max_sources = 10});
  fail_once(limiter, "a");
  fail_once(limiter, "a");
  EXPECT_EQ(limiter.admit("a").retry_after, seconds(30));
  now_ += seconds(29);
  EXPECT_EQ(limiter.admit("a").retry_after, seconds(1));
  now_ += seconds(1);
  EXPECT_FALSE(limiter.admit("a").limited);
  limiter.settle("a", false);      // that one passed: its token comes back
  now_ += std::chrono::hours(10);  // a long quiet time refills to the burst, not beyond
  fail_once(limiter, "a");
  fail_once(limiter, "a");
  EXPECT_TRUE(limiter.admit("a").limited);
}

TEST_F(LimiterTest, MemoryIsBoundedAndTheOldestSourceIsForgotten) {
  auto limiter = make({.failures_per_minute = 1, .burst = 1, .max_sources = 3});
  for (const char* source : {"a", "b", "c"}) {
    fail_once(limiter, source);
  }
  EXPECT_TRUE(limiter.admit("a").limited);  // "a" is now the most recently seen
  fail_once(limiter, "d");                  // full: "b", the oldest, goes
  EXPECT_EQ(limiter.tracked(), 3u);
  EXPECT_FALSE(limiter.admit("b").limited);  // and "c", now the oldest, goes
  EXPECT_TRUE(limiter.admit("a").limited);
  EXPECT_TRUE(limiter.admit("d").limited);
  for (int i = 0; i < 1000; ++i) {
    fail_once(limiter, "x" + std::to_string(i));
  }
  EXPECT_EQ(limiter.tracked(), 3u);
}

TEST_F(LimiterTest, ZeroRateTurnsItOff) {
  auto limiter = make({.failures_per_minute = 0, .burst = 1, .max_sources = 3});
  for (int i = 0; i < 100; ++i) {
    fail_once(limiter, "a");
  }
  EXPECT_FALSE(limiter.admit("a").limited);
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST_F(LimiterTest, ClockGoingBackwardsNeitherRefillsNorBreaks) {
  auto limiter = make({.failures_per_minute = 60, .burst = 1, .max_sources = 3});
  fail_once(limiter, "a");
  now_ -= seconds(100);
  const auto decision = limiter.admit("a");
  EXPECT_TRUE(decision.limited);
  EXPECT_EQ(decision.retry_after, seconds(1));
}

// A hundred wrong passwords at once: each admission reserves its token before the slow check, so
// no more than the burst get checked however many are in flight (they used to all pass, charged
// only after their check).
TEST_F(LimiterTest, ConcurrentGuessesGetAtMostTheBurstChecked) {
  auto limiter = make({.failures_per_minute = 1, .burst = 5, .max_sources = 10});
  std::atomic<int> checked{0};
  std::vector<std::thread> guesses;
  for (int i = 0; i < 100; ++i) {
    guesses.emplace_back([&] {
      if (limiter.admit("10.0.0.9").limited) {
        return;
      }
      ++checked;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the password check
      limiter.settle("10.0.0.9", true);
    });
  }
  for (auto& guess : guesses) {
    guess.join();
  }
  EXPECT_EQ(checked.load(), 5);
}

TEST_F(LimiterTest, AnAuthenticationThatPassesGivesItsTokenBack) {
  auto limiter = make({.failures_per_minute = 1, .burst = 2, .max_sources = 10});
  for (int i = 0; i < 50; ++i) {
    ASSERT_FALSE(limiter.admit("a").limited) << i;
    limiter.settle("a", false);
  }
  fail_once(limiter, "a");
  fail_once(limiter, "a");
  EXPECT_TRUE(limiter.admit("a").limited);
}

TEST_F(LimiterTest, Ipv6SourcesAreBucketedBySlash64) {
  EXPECT_EQ(AuthFailureLimiter::source_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(AuthFailureLimiter::source_of("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AuthFailureLimiter::source_of("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AuthFailureLimiter::source_of("::1"), "::/64");
  auto limiter = make({.failures_per_minute = 1, .burst = 2, .max_sources = 10});
  fail_once(limiter, "2001:db8:1:2::1");
  fail_once(limiter, "2001:db8:1:2::2");
  EXPECT_TRUE(limiter.admit("2001:db8:1:2:ffff::3").limited) << "another host of the same /64";
  EXPECT_FALSE(limiter.admit("2001:db8:1:3::1").limited) << "another /64";
}

}  // namespace
}  // namespace estfleet::server
