// A bound on how many password checks run at once. Each scrypt check holds ~32 MiB for tens of
// milliseconds of CPU; without a bound, a flood of Basic requests with wrong passwords from many
// addresses (each under its own rate limit) multiplies that by every handler thread, and more
// checks than cores only queue. A request that finds no slot within a short wait (a quarter of a
// second: a waiting request parks a handler thread, so waits must stay short) is answered 503 with
// Retry-After instead of waiting on.
#pragma once

#include <chrono>
#include <cstddef>
#include <semaphore>

namespace estfleet::est {

class PasswordCheckSlots {
 public:
  // Two per core, at most as many as a quarter of the machine's memory holds at 32 MiB each, at
  // least one.
  static std::size_t default_count();

  explicit PasswordCheckSlots(std::size_t count = default_count(),
                              std::chrono::milliseconds wait = std::chrono::milliseconds(250));

  // Holds one slot for its lifetime; throws Refusal(503, Retry-After: 1) when none freed up
  // within the wait.
  class Held {
   public:
    explicit Held(PasswordCheckSlots& slots);
    ~Held();
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

   private:
    PasswordCheckSlots& slots_;
  };

 private:
  static constexpr std::ptrdiff_t kMostSlots = 1024;
  std::counting_semaphore<kMostSlots> free_;
  std::chrono::milliseconds wait_;
};

}  // namespace estfleet::est
