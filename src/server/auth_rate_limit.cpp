#include "server/auth_rate_limit.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

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

std::string AuthFailureLimiter::source_of(const std::string& address) {
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) {
    return address;  // IPv4, or not an address at all
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    inet_ntop(AF_INET, &v6.s6_addr[12], text, sizeof text);
    return text;
  }
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), std::uint8_t{0});
  inet_ntop(AF_INET6, &v6, text, sizeof text);
  return std::string(text) + "/64";
}

AuthFailureLimiter::Decision AuthFailureLimiter::admit(const std::string& address) {
  if (!enabled()) {
    return {};
  }
  const auto source = source_of(address);
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
    // A source that keeps asking stays among the recent ones: it is not forgotten first.
    by_age_.splice(by_age_.end(), by_age_, found->second.age);
  }
  auto& bucket = found->second;
  refill(bucket, now);
  if (bucket.tokens >= 1.0) {
    bucket.announced = false;  // the window is over; the next one is reported again
    bucket.tokens -= 1.0;      // reserved for this request until settle()
    return {};
  }
  Decision decision;
  decision.limited = true;
  const double wait = (1.0 - bucket.tokens) / per_second_;
  decision.retry_after =
      std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait))));
  decision.window_started = !bucket.announced;
  bucket.announced = true;
  return decision;
}

void AuthFailureLimiter::settle(const std::string& address, bool failed) {
  if (!enabled() || failed) {
    return;  // a failure keeps the token it reserved
  }
  const std::lock_guard lock(mutex_);
  if (const auto found = buckets_.find(source_of(address)); found != buckets_.end()) {
    found->second.tokens = std::min(static_cast<double>(limits_.burst), found->second.tokens + 1.0);
  }
}

std::size_t AuthFailureLimiter::tracked() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace estfleet::server
