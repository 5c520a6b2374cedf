#include "server/auth_rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace estfleet::server {

AuthFailureLimiter::AuthFailureLimiter(AuthRateLimits limits, Clock clock)
    : limits_(limits),
      clock_(std::move(clock)),
      per_second_(static_cast<double>(limits.failures_per_minute) / 60.0) {}

void AuthFailureLimiter::refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens =
        std::min(static_cast<double>(limits_.burst), bucket.tokens + elapsed * per_second_);
    bucket.updated = now;
  }
}

AuthFailureLimiter::Decision AuthFailureLimiter::admit(const std::string& source) {
  if (!enabled()) {
    return {};
  }
  const auto now = clock_();
  const std::lock_guard lock(mutex_);
  const auto found = buckets_.find(source);
  if (found == buckets_.end()) {
    return {};  // no failure remembered: a full bucket
  }
  auto& bucket = found->second;
  refill(bucket, now);
  if (bucket.tokens >= 1.0) {
    bucket.announced = false;  // the window is over; the next one is reported again
    return {};
  }
  // A limited source that keeps asking stays among the recent ones: it is not forgotten first.
  by_age_.splice(by_age_.end(), by_age_, bucket.age);
  Decision decision;
  decision.limited = true;
  const double wait = (1.0 - bucket.tokens) / per_second_;
  decision.retry_after =
      std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait))));
  decision.window_started = !bucket.announced;
  bucket.announced = true;
  return decision;
}

void AuthFailureLimiter::record_failure(const std::string& source) {
  if (!enabled()) {
    return;
  }
  const auto now = clock_();
  const std::lock_guard lock(mutex_);
  auto found = buckets_.find(source);
  if (found == buckets_.end()) {
    if (buckets_.size() >= limits_.max_sources) {
      buckets_.erase(by_age_.front());
      by_age_.pop_front();
    }
    by_age_.push_back(source);
    found = buckets_
                .emplace(source, Bucket{static_cast<double>(limits_.burst), now, false,
                                        std::prev(by_age_.end())})
                .first;
  } else {
    by_age_.splice(by_age_.end(), by_age_, found->second.age);
  }
  auto& bucket = found->second;
  refill(bucket, now);
  bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
}

std::size_t AuthFailureLimiter::tracked() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace estfleet::server
