// Remembers recent successful Basic-password checks so that a factory station enrolling many
// devices pays the deliberately slow scrypt once per few minutes, not once per request.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace estfleet::est {

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CredentialCache(std::chrono::seconds lifetime = std::chrono::minutes(5),
                           std::size_t capacity = 10'000);

  // True if (user, password) verified against exactly `stored_hash` within the lifetime. A
  // changed password hash in the registry therefore misses.
  bool verified_recently(std::string_view user, std::string_view password,
                         std::string_view stored_hash, Clock::time_point now = Clock::now());

  void remember(std::string_view user, std::string_view password, std::string_view stored_hash,
                Clock::time_point now = Clock::now());

  // Runs `check` for these credentials, unless a check of exactly the same ones is running: then
  // waits for that one's result (or exception) instead. A factory's many connections starting at
  // once with one user's password pay one scrypt, not one each.
  bool check_once(std::string_view user, std::string_view password, std::string_view stored_hash,
                  const std::function<bool()>& check);

 private:
  // Entries are HMACs under a key that exists only in this process's memory: the cache never
  // holds a password, and its entries are useless outside this process.
  std::string entry_key(std::string_view user, std::string_view password,
                        std::string_view stored_hash) const;

  std::chrono::seconds lifetime_;
  std::size_t capacity_;
  std::string hmac_key_;
  std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> expiries_;
  std::unordered_map<std::string, std::shared_future<bool>> running_;
};

}  // namespace estfleet::est
