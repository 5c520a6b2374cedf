#include "est/password_check_slots.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "est/refusal.hpp"

namespace estfleet::est {

std::size_t PasswordCheckSlots::default_count() {
  constexpr std::size_t kBytesPerCheck = std::size_t{32} << 20;
  const auto cores = std::max(1u, std::thread::hardware_concurrency());
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  std::size_t by_memory = 1;
  if (pages > 0 && page_size > 0) {
    by_memory =
        static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size) / 4 / kBytesPerCheck;
  }
  return std::clamp<std::size_t>(std::min<std::size_t>(std::size_t{2} * cores, by_memory), 1,
                                 static_cast<std::size_t>(kMostSlots));
}

PasswordCheckSlots::PasswordCheckSlots(std::size_t count, std::chrono::milliseconds wait)
    : free_(static_cast<std::ptrdiff_t>(
          std::clamp<std::size_t>(count, 1, static_cast<std::size_t>(kMostSlots)))),
      wait_(wait) {}

PasswordCheckSlots::Held::Held(PasswordCheckSlots& slots) : slots_(slots) {
  if (!slots_.free_.try_acquire_for(slots_.wait_)) {
    throw Refusal(503,
                  "too many password checks are running at once; nothing was issued, retry shortly",
                  {{"Retry-After", "1"}});
  }
}

PasswordCheckSlots::Held::~Held() {
  slots_.free_.release();
}

}  // namespace estfleet::est
