#include "client/renew_schedule.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client/errors.hpp"
#include "client/responses.hpp"

namespace estfleet::client {
namespace {

using namespace std::chrono_literals;
using crypto::TimePoint;

const TimePoint kIssued = std::chrono::system_clock::from_time_t(1'800'000'000);

TEST(RenewalThreshold, DefaultsToEightyPercentOfTheLifetime) {
  const RenewalThreshold threshold;
  EXPECT_EQ(threshold.text(), "80%");
  EXPECT_EQ(threshold.due(kIssued, kIssued + 100s), kIssued + 80s);
  EXPECT_EQ(threshold.due(kIssued, kIssued + 365 * 24h), kIssued + 292 * 24h);
  EXPECT_EQ(threshold.due(kIssued, kIssued + 6s), kIssued + 4800ms);
}

TEST(RenewalThreshold, PercentagesCountFromIssuance) {
  EXPECT_EQ(RenewalThreshold::parse("50%").due(kIssued, kIssued + 10s), kIssued + 5s);
  EXPECT_EQ(RenewalThreshold::parse("1%").due(kIssued, kIssued + 100s), kIssued + 1s);
  EXPECT_EQ(RenewalThreshold::parse("99%").due(kIssued, kIssued + 100s), kIssued + 99s);
  EXPECT_EQ(RenewalThreshold::parse("66%").text(), "66%");
}

TEST(RenewalThreshold, DurationsCountBackFromNotAfter) {
  const auto year = kIssued + 365 * 24h;
  EXPECT_EQ(RenewalThreshold::parse("7d").due(kIssued, year), year - 7 * 24h);
  EXPECT_EQ(RenewalThreshold::parse("12h").due(kIssued, year), year - 12h);
  EXPECT_EQ(RenewalThreshold::parse("30m").due(kIssued, year), year - 30min);
  EXPECT_EQ(RenewalThreshold::parse("30s").due(kIssued, year), year - 30s);
  EXPECT_EQ(RenewalThreshold::parse("2s").due(kIssued, kIssued + 6s), kIssued + 4s);
  EXPECT_EQ(RenewalThreshold::parse("7d").text(), "7d");
}

TEST(RenewalThreshold, ADurationLongerThanHalfTheLifetimeRenewsAtHalfTime) {
  // Otherwise a freshly renewed 6-second certificate would be due at once, renewing in a loop.
  EXPECT_EQ(RenewalThreshold::parse("7d").due(kIssued, kIssued + 6s), kIssued + 3s);
  EXPECT_EQ(RenewalThreshold::parse("4s").due(kIssued, kIssued + 6s), kIssued + 3s);
}

TEST(RenewalThreshold, LongLifetimesDoNotOverflow) {
  // 80 times ten years in nanoseconds is past 2^63.
  const auto decade = kIssued + 3650 * 24h;
  EXPECT_EQ(RenewalThreshold().due(kIssued, decade), kIssued + 2920 * 24h);
  EXPECT_EQ(RenewalThreshold::parse("99%").due(kIssued, decade), kIssued + 86724h);
  EXPECT_EQ(renewal_floor(kIssued, decade), 365 * 24h);
}

TEST(RenewalThreshold, RefusesWhatIsNotAThreshold) {
  for (const char* bad : {"", "%", "0%", "100%", "150%", "-5%", "1.5%", "80", "80 %", "7", "0s",
                          "-30s", "+30s", "7x", "d", "7dd", "1e3s", "99999999999999999999d"}) {
    try {
      RenewalThreshold::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ClientError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + std::string(bad) + "'"), std::string::npos)
          << e.what();
    }
  }
}

TEST(IssuedAt, TheTimeReceivedWithinTheValidity) {
  const auto not_before = kIssued - 5min;  // est-server's default backdate
  const auto not_after = kIssued + 12s;
  const auto later = kIssued + 2h;  // "now", well after all of it
  EXPECT_EQ(issued_at(not_before, not_after, kIssued, later), kIssued);
  EXPECT_EQ(issued_at(not_before, not_after, std::nullopt, later), not_before)
      << "nothing better known";
  EXPECT_EQ(issued_at(not_before, not_after, kIssued - 1h, later), not_before)
      << "a file dated before the certificate existed";
  EXPECT_EQ(issued_at(not_before, not_after, kIssued + 1h, later), not_after)
      << "a file dated after expiry: never due past notAfter";
  EXPECT_EQ(issued_at(kIssued, kIssued - 1s, kIssued + 1s, later), kIssued)
      << "notAfter before notBefore";
  EXPECT_EQ(issued_at(not_before, not_after, kIssued + 10s, kIssued + 1s), kIssued + 1s)
      << "a file dated in the future counts from now";
}

// The storm of issue 18: validity 12 s, backdate 5 min. Counted from notBefore, 80% of 5m12s
// lies 50 s before the certificate arrived, so each renewed certificate was due at once.
TEST(RenewalTime, ABackdatedNotBeforeDoesNotPullTheDueTimeEarlier) {
  const auto not_before = kIssued - 5min;
  const auto not_after = kIssued + 12s;
  EXPECT_LT(RenewalThreshold().due(not_before, not_after), kIssued) << "the old reading";
  const auto time = renewal_time(RenewalThreshold(),
                                 issued_at(not_before, not_after, kIssued, kIssued), not_after);
  EXPECT_EQ(time.due, kIssued + 9600ms);
  EXPECT_EQ(time.floor, kIssued + 1200ms);
  EXPECT_FALSE(time.misconfiguration);
}

// A certificate file dated 400 days ahead (a clock that ran ahead when it was written, since
// corrected) must still be renewed before expiry, not at notAfter plus the floor.
TEST(RenewalTime, AFileDatedInTheFutureIsStillRenewedBeforeExpiry) {
  const auto not_before = kIssued;
  const auto not_after = kIssued + 30 * 24h;
  const auto now = kIssued + 24h;
  const auto time = renewal_time(
      RenewalThreshold(), issued_at(not_before, not_after, kIssued + 400 * 24h, now), not_after);
  EXPECT_LT(time.due, not_after);
  EXPECT_LT(time.floor, not_after);
  EXPECT_LE(time.due, now + (not_after - now) * 8 / 10 + 1s);
}

TEST(RenewalTime, TheFloorIsATenthOfTheLifetimeAndAtLeastASecond) {
  EXPECT_EQ(renewal_floor(kIssued, kIssued + 100s), 10s);
  EXPECT_EQ(renewal_floor(kIssued, kIssued + 365 * 24h), 876h);
  EXPECT_EQ(renewal_floor(kIssued, kIssued + 8s), 1s);
  EXPECT_EQ(renewal_floor(kIssued, kIssued), 1s);
  EXPECT_EQ(renewal_floor(kIssued, kIssued - 1h), 1s);
  // Sane thresholds are never held back by it: the project's own 8-second test certificates
  // renew at half time, one year at 80% or 7 days before expiry.
  for (const auto& [threshold, lifetime] :
       std::vector<std::pair<std::string, std::chrono::seconds>>{{"50%", 8s},
                                                                 {"80%", 12s},
                                                                 {"10%", 10s},
                                                                 {"80%", 365 * 24h},
                                                                 {"7d", 365 * 24h},
                                                                 {"7d", 6s}}) {
    const auto parsed = RenewalThreshold::parse(threshold);
    const auto time = renewal_time(parsed, kIssued, kIssued + lifetime);
    EXPECT_EQ(time.due, parsed.due(kIssued, kIssued + lifetime)) << threshold;
    EXPECT_FALSE(time.misconfiguration) << *time.misconfiguration;
  }
}

TEST(RenewalTime, AThresholdBeforeTheFloorIsAMisconfiguration) {
  const auto time = renewal_time(RenewalThreshold::parse("5%"), kIssued, kIssued + 100s);
  EXPECT_EQ(time.due, kIssued + 10s) << "held back to the floor";
  EXPECT_EQ(time.floor, kIssued + 10s);
  ASSERT_TRUE(time.misconfiguration);
  EXPECT_EQ(*time.misconfiguration,
            "the certificate is valid for 100s from its issuance and the threshold 5% makes it "
            "due 5s after that, before the renewal floor of 10s: it is renewed at the floor at "
            "the earliest, and retried with backoff; the profile's validity or the threshold is "
            "misconfigured");
  // Due the moment it arrives: nothing of the lifetime left to count a threshold in.
  const auto at_once = renewal_time(RenewalThreshold::parse("30s"), kIssued, kIssued + 1s);
  EXPECT_EQ(at_once.due, kIssued + 1s);
  ASSERT_TRUE(at_once.misconfiguration);
  EXPECT_NE(at_once.misconfiguration->find("valid for 1s from its issuance and the threshold "
                                           "30s makes it due 0.5s after that"),
            std::string::npos)
      << *at_once.misconfiguration;
}

TEST(DurationText, AsAThresholdIsWritten) {
  EXPECT_EQ(duration_text(0s), "0s");
  EXPECT_EQ(duration_text(45s), "45s");
  EXPECT_EQ(duration_text(312s), "312s");
  EXPECT_EQ(duration_text(5min), "5m");
  EXPECT_EQ(duration_text(12h), "12h");
  EXPECT_EQ(duration_text(365 * 24h), "365d");
  EXPECT_EQ(duration_text(1500ms), "1.5s");
  EXPECT_EQ(duration_text(250ms), "0.25s");
  EXPECT_EQ(duration_text(3989ms), "3.989s");
  EXPECT_EQ(duration_text(39890ms), "40s") << "rounded to the second from ten seconds on";
  EXPECT_EQ(duration_text(59999ms), "1m");
  EXPECT_EQ(duration_text(-2s), "-2s");
}

TEST(ParsePositiveDuration, NamesTheOptionWhenRefusing) {
  EXPECT_EQ(parse_positive_duration("5s", "--retry-min"), 5s);
  EXPECT_EQ(parse_positive_duration("1h", "--retry-max"), 1h);
  EXPECT_EQ(parse_positive_duration("2d", "--retry-max"), 48h);
  try {
    parse_positive_duration("soon", "--retry-min");
    ADD_FAILURE() << "accepted 'soon'";
  } catch (const ClientError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--retry-min 'soon' is not a positive duration such as 45s, 30m, 12h or 7d");
  }
  EXPECT_THROW(parse_positive_duration("0s", "--retry-min"), ClientError);
}

TEST(Backoff, CeilingDoublesFromMinimumToMaximum) {
  const Backoff backoff(5s, 1h);
  EXPECT_EQ(backoff.ceiling(0), 5s);
  EXPECT_EQ(backoff.ceiling(1), 10s);
  EXPECT_EQ(backoff.ceiling(2), 20s);
  EXPECT_EQ(backoff.ceiling(9), 2560s);
  EXPECT_EQ(backoff.ceiling(10), 1h);
  EXPECT_EQ(backoff.ceiling(1000), 1h) << "no overflow after many failures";
}

TEST(Backoff, FullJitterStaysWithinBoundsAndVaries) {
  std::mt19937_64 random(42);
  Backoff backoff(5s, 1h);
  for (unsigned failure = 0; failure < 40; ++failure) {
    const auto ceiling = backoff.ceiling(failure);
    std::set<std::int64_t> seen;
    for (int sample = 0; sample < 50; ++sample) {
      Backoff copy = backoff;
      const auto delay = copy.next(random);
      EXPECT_GE(delay, 5s);
      EXPECT_LE(delay, ceiling);
      seen.insert(delay.count());
    }
    if (failure > 0) {
      EXPECT_GT(seen.size(), 10U) << "jitter spreads the delays after failure " << failure;
    }
    backoff.next(random);
    EXPECT_EQ(backoff.failures(), failure + 1);
  }
  backoff.reset();
  EXPECT_EQ(backoff.failures(), 0U);
  EXPECT_EQ(backoff.next(random), 5s) << "after a success the first retry waits the minimum";
}

TEST(Backoff, AMaximumBelowTheMinimumIsTheMinimum) {
  std::mt19937_64 random(1);
  Backoff backoff(10s, 1s);
  EXPECT_EQ(backoff.next(random), 10s);
  EXPECT_EQ(backoff.next(random), 10s);
}

TEST(BeforeExpiry, ARetryNeverSleepsPastHalfTheTimeLeft) {
  const auto now = kIssued;
  EXPECT_EQ(before_expiry(30s, now, now + 1h), 30s) << "plenty of time: unchanged";
  EXPECT_EQ(before_expiry(30s, now, now + 20s), 10s);
  EXPECT_EQ(before_expiry(30s, now, now + 1s), 1s) << "never below a second";
  EXPECT_EQ(before_expiry(30s, now, now - 1s), 30s) << "already expired: nothing to protect";
}

// A 202's Retry-After, bounded: "0" or a date in the past would have the client ask again at
// once, in a loop; a huge one would park a device until its certificate has expired.
TEST(PendingWait, RetryAfterIsBoundedByAFloorAndTheExpiry) {
  const auto now = kIssued;
  EXPECT_EQ(pending_wait(0s, now, std::nullopt), kRetryAfterFloor);
  EXPECT_EQ(kRetryAfterFloor, 5s);
  EXPECT_EQ(pending_wait(0s, now, now + 1h), 5s);
  const auto past = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now);
  ASSERT_TRUE(past);
  EXPECT_EQ(pending_wait(*past, now, now + 1h), 5s) << "a date in the past";
  EXPECT_EQ(pending_wait(7s, now, now + 1h), 7s) << "a sensible value is honoured";
  EXPECT_EQ(pending_wait(kLongestRetryAfter, now, now + 1h), 30min)
      << "half the time the certificate has left, as a failed renewal waits";
  EXPECT_EQ(pending_wait(24h, now, now + 4s), 2s) << "the expiry comes before the floor";
  EXPECT_EQ(pending_wait(24h, now, now + 1s), 1s) << "never below a second";
  EXPECT_EQ(pending_wait(24h, now, std::nullopt), 24h)
      << "a first enrollment has no certificate to lose; the caller's patience bounds the wait";
}

}  // namespace
}  // namespace estfleet::client
