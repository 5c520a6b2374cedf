#include "est/credential_cache.hpp"

#include "crypto/digest.hpp"

namespace estfleet::est {

CredentialCache::CredentialCache(std::chrono::seconds lifetime, std::size_t capacity)
    : lifetime_(lifetime), capacity_(capacity), hmac_key_(crypto::random_bytes(32)) {}

std::string CredentialCache::entry_key(std::string_view user, std::string_view password,
                                       std::string_view stored_hash) const {
  // Length-prefixed fields, so no two different triples can produce the same message.
  std::string message;
  for (const auto field : {user, stored_hash, password}) {
    message += std::to_string(field.size());
    message += ':';
    message += field;
  }
  return crypto::hmac_sha256(hmac_key_, message);
}

bool CredentialCache::verified_recently(std::string_view user, std::string_view password,
                                        std::string_view stored_hash, Clock::time_point now) {
  const std::string key = entry_key(user, password, stored_hash);
  std::lock_guard lock(mutex_);
  const auto found = expiries_.find(key);
  if (found == expiries_.end()) {
    return false;
  }
  if (found->second <= now) {
    expiries_.erase(found);
    return false;
  }
  return true;
}

void CredentialCache::remember(std::string_view user, std::string_view password,
                               std::string_view stored_hash, Clock::time_point now) {
  const std::string key = entry_key(user, password, stored_hash);
  std::lock_guard lock(mutex_);
  if (expiries_.size() >= capacity_) {
    std::erase_if(expiries_, [now](const auto& entry) { return entry.second <= now; });
    if (expiries_.size() >= capacity_) {
      expiries_.clear();  // a flood of distinct valid credentials: start over, stay bounded
    }
  }
  expiries_[key] = now + lifetime_;
}

bool CredentialCache::check_once(std::string_view user, std::string_view password,
                                 std::string_view stored_hash, const std::function<bool()>& check) {
  const std::string key = entry_key(user, password, stored_hash);
  std::promise<bool> result;
  const auto mine = result.get_future().share();
  {
    std::unique_lock lock(mutex_);
    if (const auto found = running_.find(key); found != running_.end()) {
      const auto running = found->second;
      lock.unlock();
      return running.get();
    }
    running_.emplace(key, mine);
  }
  try {
    const bool passed = check();
    result.set_value(passed);
  } catch (...) {
    result.set_exception(std::current_exception());
  }
  {
    const std::lock_guard lock(mutex_);
    running_.erase(key);
  }
  return mine.get();
}

}  // namespace estfleet::est
