#include "client/renew_schedule.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <utility>

#include "client/errors.hpp"

namespace estfleet::client {
namespace {

// A whole number without sign, or nullopt (also on overflow or trailing text).
std::optional<std::int64_t> whole_number(std::string_view digits) {
  std::int64_t value = 0;
  if (digits.empty() || digits.front() == '-' || digits.front() == '+') {
    return std::nullopt;
  }
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::seconds> duration_of(std::string_view text) {
  if (text.size() < 2) {
    return std::nullopt;
  }
  std::int64_t scale = 0;
  switch (text.back()) {
    case 's':
      scale = 1;
      break;
    case 'm':
      scale = 60;
      break;
    case 'h':
      scale = 3600;
      break;
    case 'd':
      scale = 86400;
      break;
    default:
      return std::nullopt;
  }
  const auto number = whole_number(text.substr(0, text.size() - 1));
  // Ten years is more than any certificate lifetime this client renews.
  if (!number || *number <= 0 || *number > std::int64_t{3650} * 86400 / scale) {
    return std::nullopt;
  }
  return std::chrono::seconds(*number * scale);
}

// `percent` of `lifetime` without overflow: the clock counts nanoseconds, and 80 times a
// lifetime of four years is more of them than 63 bits hold.
crypto::TimePoint::duration percent_of(crypto::TimePoint::duration lifetime, int percent) {
  return lifetime / 100 * percent + lifetime % 100 * percent / 100;
}

}  // namespace

RenewalThreshold RenewalThreshold::parse(std::string_view text) {
  RenewalThreshold threshold;
  threshold.text_ = std::string(text);
  if (!text.empty() && text.back() == '%') {
    const auto number = whole_number(text.substr(0, text.size() - 1));
    if (!number || *number < 1 || *number > 99) {
      throw ClientError("the renewal threshold '" + std::string(text) +
                        "' is not a whole percentage from 1% to 99%");
    }
    threshold.percent_ = static_cast<int>(*number);
    return threshold;
  }
  const auto before = duration_of(text);
  if (!before) {
    throw ClientError("the renewal threshold '" + std::string(text) +
                      "' is neither a percentage of the lifetime such as 80% nor a duration "
                      "before expiry such as 7d, 12h, 30m or 45s");
  }
  threshold.before_ = *before;
  return threshold;
}

crypto::TimePoint RenewalThreshold::due(crypto::TimePoint issued,
                                        crypto::TimePoint not_after) const {
  const auto lifetime = std::max(not_after - issued, crypto::TimePoint::duration::zero());
  if (before_.count() == 0) {
    return issued + percent_of(lifetime, percent_);
  }
  return std::max(not_after - std::chrono::duration_cast<crypto::TimePoint::duration>(before_),
                  issued + lifetime / 2);
}

std::string RenewalThreshold::text() const {
  return text_;
}

crypto::TimePoint issued_at(crypto::TimePoint not_before, crypto::TimePoint not_after,
                            std::optional<crypto::TimePoint> received, crypto::TimePoint now) {
  if (!received) {
    return not_before;
  }
  return std::clamp(std::min(*received, now), not_before, std::max(not_before, not_after));
}

crypto::TimePoint::duration renewal_floor(crypto::TimePoint issued, crypto::TimePoint not_after) {
  const auto lifetime = std::max(not_after - issued, crypto::TimePoint::duration::zero());
  return std::max(percent_of(lifetime, kFloorPercent),
                  std::chrono::duration_cast<crypto::TimePoint::duration>(kFloorMinimum));
}

RenewalTime renewal_time(const RenewalThreshold& threshold, crypto::TimePoint issued,
                         crypto::TimePoint not_after) {
  RenewalTime time;
  const auto floor = renewal_floor(issued, not_after);
  time.floor = issued + floor;
  const auto due = threshold.due(issued, not_after);
  time.due = std::max(due, time.floor);
  if (due < time.floor) {
    time.misconfiguration =
        "the certificate is valid for " + duration_text(not_after - issued) +
        " from its issuance and the threshold " + threshold.text() + " makes it due " +
        duration_text(due - issued) + " after that, before the renewal floor of " +
        duration_text(floor) +
        ": it is renewed at the floor at the earliest, and retried with backoff; the profile's "
        "validity or the threshold is misconfigured";
  }
  return time;
}

std::string duration_text(crypto::TimePoint::duration duration) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  if (ms < 0) {
    return "-" + duration_text(-duration);
  }
  // A lifetime counted from a file's time has milliseconds that say nothing past a few seconds.
  if (ms >= 10'000) {
    ms = (ms + 500) / 1000 * 1000;
  }
  if (ms % 1000 != 0) {
    std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    return std::to_string(ms / 1000) + "." + fraction + "s";
  }
  const auto seconds = ms / 1000;
  constexpr std::array<std::pair<char, long long>, 3> kUnits{
      {{'d', 86400}, {'h', 3600}, {'m', 60}}};
  for (const auto& [unit, size] : kUnits) {
    if (seconds != 0 && seconds % size == 0) {
      return std::to_string(seconds / size) + unit;
    }
  }
  return std::to_string(seconds) + "s";
}

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)) {}

std::chrono::milliseconds Backoff::ceiling(unsigned failures) const {
  auto ceiling = min_;
  for (unsigned i = 0; i < failures && ceiling < max_; ++i) {
    ceiling *= 2;
  }
  return std::min(ceiling, max_);
}

std::chrono::milliseconds Backoff::next(std::mt19937_64& random) {
  std::uniform_int_distribution<std::int64_t> pick(min_.count(), ceiling(failures_).count());
  ++failures_;
  return std::chrono::milliseconds(pick(random));
}

std::chrono::milliseconds before_expiry(std::chrono::milliseconds delay, crypto::TimePoint now,
                                        crypto::TimePoint not_after) {
  if (not_after <= now) {
    return delay;
  }
  const auto half_left = std::chrono::duration_cast<std::chrono::milliseconds>(not_after - now) / 2;
  return std::min(delay, std::max(half_left, std::chrono::milliseconds(1000)));
}

std::chrono::milliseconds pending_wait(std::chrono::seconds retry_after, crypto::TimePoint now,
                                       std::optional<crypto::TimePoint> not_after) {
  const std::chrono::milliseconds wait = std::max(retry_after, kRetryAfterFloor);
  return not_after ? before_expiry(wait, now, *not_after) : wait;
}

std::chrono::seconds parse_positive_duration(std::string_view text, std::string_view what) {
  const auto duration = duration_of(text);
  if (!duration) {
    throw ClientError(std::string(what) + " '" + std::string(text) +
                      "' is not a positive duration such as 45s, 30m, 12h or 7d");
  }
  return *duration;
}

}  // namespace estfleet::client
