#include "est/credential_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace estfleet::est {
namespace {

using namespace std::chrono_literals;
using Clock = CredentialCache::Clock;

TEST(CredentialCache, RemembersExactlyWhatVerified) {
  CredentialCache cache(60s);
  const auto now = Clock::now();
  EXPECT_FALSE(cache.verified_recently("alice", "pw", "hash1", now));
  cache.remember("alice", "pw", "hash1", now);
  EXPECT_TRUE(cache.verified_recently("alice", "pw", "hash1", now + 10s));
  EXPECT_FALSE(cache.verified_recently("alice", "pw2", "hash1", now)) << "another password";
  EXPECT_FALSE(cache.verified_recently("bob", "pw", "hash1", now)) << "another user";
  EXPECT_FALSE(cache.verified_recently("alice", "pw", "hash2", now)) << "the password changed";
  EXPECT_FALSE(cache.verified_recently("alic", "epw", "hash1", now)) << "fields cannot shift";
}

TEST(CredentialCache, ForgetsAfterItsLifetime) {
  CredentialCache cache(60s);
  const auto now = Clock::now();
  cache.remember("alice", "pw", "hash1", now);
  EXPECT_FALSE(cache.verified_recently("alice", "pw", "hash1", now + 61s));
}

TEST(CredentialCache, StaysBounded) {
  CredentialCache cache(60s, 4);
  const auto now = Clock::now();
  for (int i = 0; i < 10; ++i) {
    cache.remember("user" + std::to_string(i), "pw", "h", now);
  }
  EXPECT_TRUE(cache.verified_recently("user9", "pw", "h", now));
  int remembered = 0;
  for (int i = 0; i < 10; ++i) {
    remembered += cache.verified_recently("user" + std::to_string(i), "pw", "h", now) ? 1 : 0;
  }
  EXPECT_LE(remembered, 4);
}

// Sixteen connections asking with the same password at once pay one check; another password
// gets its own; an exception reaches every waiter.
TEST(CredentialCache, ConcurrentChecksOfTheSameCredentialsShareOne) {
  CredentialCache cache;
  std::atomic<int> runs{0};
  std::vector<std::thread> askers;
  std::atomic<int> passed{0};
  for (int i = 0; i < 16; ++i) {
    askers.emplace_back([&] {
      const bool ok = cache.check_once("factory", "pw", "hash", [&] {
        ++runs;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return true;
      });
      passed += ok ? 1 : 0;
    });
  }
  for (auto& asker : askers) {
    asker.join();
  }
  EXPECT_EQ(passed.load(), 16);
  EXPECT_LE(runs.load(), 2) << "askers that arrived while a check ran must share it";
  EXPECT_FALSE(cache.check_once("factory", "other", "hash", [] { return false; }));
  EXPECT_THROW(cache.check_once("factory", "pw", "hash",
                                []() -> bool { throw std::runtime_error("no slot"); }),
               std::runtime_error);
  EXPECT_TRUE(cache.check_once("factory", "pw", "hash", [] { return true; })) << "not stuck";
}

}  // namespace
}  // namespace estfleet::est
