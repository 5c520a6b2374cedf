// Failed authentication, rate-limited per source: a token bucket per source that each failed
// authentication drains and time refills. A source whose bucket is empty is refused with 429
// before its credentials are even looked at, so a password cannot be guessed faster than the
// configured rate. Admission reserves the token before the (slow) check runs and gives it back
// when the check passes, so requests already in flight cannot overdraw the bucket: a hundred
// concurrent guesses get at most `burst` checks. A source is an IPv4 address or an IPv6 /64
// (one host gets a whole /64, so a /128 per guess would be endless fresh buckets). Memory is
// bounded: at most `max_sources` sources are tracked, the least recently seen is forgotten first
// (a forgotten source starts again with a full bucket).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace estfleet::server {

// [limits] in est-server.toml.
struct AuthRateLimits {
  unsigned failures_per_minute = 10;  // refill rate; 0 turns the limiter off
  unsigned burst = 30;                // failures a source may have in a row before it is limited
  std::size_t max_sources = 100'000;  // addresses tracked at most (about 100 bytes each)
};

class AuthFailureLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit AuthFailureLimiter(
      AuthRateLimits limits, Clock clock = [] { return std::chrono::steady_clock::now(); });

  struct Decision {
    bool limited = false;
    std::chrono::seconds retry_after{0};  // when limited: until the bucket holds one failure again
    bool window_started = false;          // the first refusal of this limited window (audit it)
  };

  // Before authenticating a request from `address`: whether it is refused now. When it is not,
  // one token is reserved for it, and settle() must follow.
  Decision admit(const std::string& address);

  // After an admitted request from `address`: its reserved token is given back unless its
  // authentication failed.
  void settle(const std::string& address, bool failed);

  // The bucket an address counts against: an IPv4 address as it is (also when IPv4-mapped), an
  // IPv6 address as its /64 ("2001:db8:1:2::/64"), anything else as it is.
  static std::string source_of(const std::string& address);

  bool enabled() const { return limits_.failures_per_minute != 0; }
  std::size_t tracked() const;  // for tests: addresses currently held

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
    bool announced = false;  // this limited window has been reported
    std::list<std::string>::iterator age;
  };
  void refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const;

  AuthRateLimits limits_;
  Clock clock_;
  double per_second_;
  mutable std::mutex mutex_;
  std::list<std::string> by_age_;  // least recently seen first
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace estfleet::server
