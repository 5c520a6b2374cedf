// When a device renews: the renewal threshold, retry backoff with full jitter, and how long a
// failed or pending renewal waits before the next attempt. Pure functions of their inputs (the
// time is always a parameter), so a whole certificate lifetime can be checked in a unit test.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "crypto/certificate.hpp"

namespace estfleet::client {

// "80%" (of the lifetime, counted from issuance: issued_at below) or a duration before notAfter:
// "7d", "12h", "30m", "45s".
class RenewalThreshold {
 public:
  // 80% of the lifetime.
  RenewalThreshold() = default;
  // Throws ClientError naming what is wrong: a percentage must be a whole number from 1 to 99,
  // a duration a positive whole number with the unit s, m, h or d.
  static RenewalThreshold parse(std::string_view text);

  // When a certificate issued at `issued` and valid until `not_after` is due for renewal. A
  // duration that reaches back past half the lifetime is cut to half the lifetime, so that a
  // freshly renewed certificate is never due the moment it is issued (which would renew in a
  // loop).
  crypto::TimePoint due(crypto::TimePoint issued, crypto::TimePoint not_after) const;

  std::string text() const;  // as it would be written: "80%", "7d", "30s"

 private:
  int percent_ = 80;                // when before_ is zero
  std::chrono::seconds before_{0};  // before notAfter, when not zero
  std::string text_ = "80%";
};

// When the certificate was issued, as far as the client can tell. Not its notBefore: servers
// backdate that for devices whose clocks are behind (est-server by 5 minutes unless the profile
// says otherwise), and a lifetime counted from it holds time that had passed before the
// certificate existed; with a short validity the threshold then falls before the certificate
// arrives and every renewal is due at once. The time the client received it (`received`: when
// its file was written, StoredPair::certificate_written) is when it started to serve, so that
// counts, kept within [notBefore, notAfter] and never after `now`: a file dated in the future (a
// clock that ran ahead when it was written, a copy made on another machine) would otherwise put
// the due time at notAfter and strand the device. Without a time received, notBefore.
crypto::TimePoint issued_at(crypto::TimePoint not_before, crypto::TimePoint not_after,
                            std::optional<crypto::TimePoint> received, crypto::TimePoint now);

// The least time between a certificate's issuance and its renewal: kFloorPercent of its lifetime
// from issuance, and never less than kFloorMinimum. With any threshold of 10% or more and a
// lifetime of 10 s or more, the threshold falls later and the floor changes nothing; it bounds
// what a misconfiguration costs the server, at most one renewal per device per floor. The
// minimum is one second, not a minute, because a floor longer than the lifetime lets the
// certificate expire and strands the device (certificates of a few seconds are what tests and
// first trials use); X.509 times have whole seconds, so two renewals within one second would be
// issued for the same validity anyway. A certificate due before its floor gets the retry
// backoff on top (watch in renew.hpp), which spaces renewals further.
inline constexpr int kFloorPercent = 10;
inline constexpr std::chrono::seconds kFloorMinimum{1};
crypto::TimePoint::duration renewal_floor(crypto::TimePoint issued, crypto::TimePoint not_after);

// When a certificate is renewed, from its issuance (issued_at) and its notAfter.
struct RenewalTime {
  crypto::TimePoint due;    // the threshold's time, but never before `floor`
  crypto::TimePoint floor;  // issuance + renewal_floor
  // Set when the threshold falls before the floor, e.g. a certificate due the moment it arrives:
  // one sentence naming the lifetime, the threshold and the floor, for the operator.
  std::optional<std::string> misconfiguration;
};
RenewalTime renewal_time(const RenewalThreshold& threshold, crypto::TimePoint issued,
                         crypto::TimePoint not_after);

// A duration as the threshold is written: in the largest of d, h, m, s that divides it, else
// in seconds, with milliseconds below ten seconds ("365d", "5m", "312s", "1.5s").
std::string duration_text(crypto::TimePoint::duration duration);

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

// The shortest wait before asking again about a request the server holds (202): "Retry-After:
// 0" or a date in the past would otherwise have the client ask again at once, in a loop.
inline constexpr std::chrono::seconds kRetryAfterFloor{5};

// How long to wait after a 202 whose Retry-After asks for `retry_after`, at `now`: never less
// than kRetryAfterFloor, and when a certificate that expires at `not_after` is being renewed,
// never longer than before_expiry allows, so that one huge Retry-After cannot park a device
// until its certificate has expired (near expiry the ceiling wins over the floor). A first
// enrollment has no certificate to lose: its caller's patience bounds the wait.
std::chrono::milliseconds pending_wait(std::chrono::seconds retry_after, crypto::TimePoint now,
                                       std::optional<crypto::TimePoint> not_after);

// "45s", "12m", "3h", "2d": parses a positive duration with a unit; throws ClientError naming
// `what` (e.g. "--retry-min") otherwise.
std::chrono::seconds parse_positive_duration(std::string_view text, std::string_view what);

}  // namespace estfleet::client
