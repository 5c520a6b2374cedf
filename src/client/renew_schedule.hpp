// When a device renews: the renewal threshold, retry backoff with full jitter, and how long a
// failed or pending renewal waits before the next attempt. Pure functions of their inputs (the
// time is always a parameter), so a whole certificate lifetime can be checked in a unit test.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "crypto/certificate.hpp"

namespace estfleet::client {

// "80%" (of the lifetime, counted from notBefore) or a duration before notAfter: "7d", "12h",
// "30m", "45s".
class RenewalThreshold {
 public:
  // 80% of the lifetime.
  RenewalThreshold() = default;
  // Throws ClientError naming what is wrong: a percentage must be a whole number from 1 to 99,
  // a duration a positive whole number with the unit s, m, h or d.
  static RenewalThreshold parse(std::string_view text);

  // When a certificate valid from `not_before` to `not_after` is due for renewal. A duration
  // that reaches back past half the lifetime is cut to half the lifetime, so that a freshly
  // renewed certificate is never due the moment it is issued (which would renew in a loop).
  crypto::TimePoint due(crypto::TimePoint not_before, crypto::TimePoint not_after) const;

  std::string text() const;  // as it would be written: "80%", "7d", "30s"

 private:
  int percent_ = 80;                // when before_ is zero
  std::chrono::seconds before_{0};  // before notAfter, when not zero
  std::string text_ = "80%";
};

// Exponential backoff with full jitter (bounded): the n-th consecutive failure (n from 0) waits
// a uniformly random time in [min, min(max, min * 2^n)].
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max);

  // The next delay, and counts one more failure.
  std::chrono::milliseconds next(std::mt19937_64& random);
  void reset() { failures_ = 0; }
  unsigned failures() const { return failures_; }
  // The upper bound of the delay after `failures` consecutive failures.
  std::chrono::milliseconds ceiling(unsigned failures) const;

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  unsigned failures_ = 0;
};

// A retry must not sleep past the certificate's expiry: once expired it can no longer renew
// itself. `delay` is cut to half the time left (but not below one second) when that is shorter.
std::chrono::milliseconds before_expiry(std::chrono::milliseconds delay, crypto::TimePoint now,
                                        crypto::TimePoint not_after);

// "45s", "12m", "3h", "2d": parses a positive duration with a unit; throws ClientError naming
// `what` (e.g. "--retry-min") otherwise.
std::chrono::seconds parse_positive_duration(std::string_view text, std::string_view what);

}  // namespace estfleet::client
