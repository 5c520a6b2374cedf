#include "est/password_check_slots.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "est/refusal.hpp"

namespace estfleet::est {
namespace {

using namespace std::chrono_literals;

TEST(PasswordCheckSlots, TheDefaultFollowsTheMachine) {
  const auto count = PasswordCheckSlots::default_count();
  EXPECT_GE(count, 1u);
  EXPECT_LE(count, 2u * std::max(1u, std::thread::hardware_concurrency()));
}

// Past the bound, a check waits briefly for a slot and is then refused with 503 + Retry-After,
// never run: at most `count` checks hold memory at once.
TEST(PasswordCheckSlots, PastTheBoundChecksAreRefusedWith503) {
  PasswordCheckSlots slots(2, 50ms);
  std::optional<PasswordCheckSlots::Held> first(std::in_place, slots);
  const PasswordCheckSlots::Held second(slots);
  std::atomic<int> ran{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> checks;
  for (int i = 0; i < 6; ++i) {
    checks.emplace_back([&] {
      try {
        const PasswordCheckSlots::Held slot(slots);
        ++ran;
      } catch (const Refusal& refusal) {
        EXPECT_EQ(refusal.status(), 503);
        ASSERT_EQ(refusal.headers().size(), 1u);
        EXPECT_EQ(refusal.headers().front().first, "Retry-After");
        ++refused;
      }
    });
  }
  for (auto& check : checks) {
    check.join();
  }
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(refused.load(), 6);
  first.reset();
  const PasswordCheckSlots::Held again(slots);  // a slot given back is taken again
}

// A check that waits gets the slot as soon as one is given back.
TEST(PasswordCheckSlots, AWaitingCheckGetsTheNextFreeSlot) {
  PasswordCheckSlots slots(1, 5s);
  std::optional<PasswordCheckSlots::Held> holder(std::in_place, slots);
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    holder.reset();
  });
  EXPECT_NO_THROW(PasswordCheckSlots::Held{slots});
  releaser.join();
}

}  // namespace
}  // namespace estfleet::est
