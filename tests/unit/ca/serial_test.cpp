#include "ca/serial.hpp"

#include <gtest/gtest.h>

#include <set>

namespace estfleet::ca {
namespace {

TEST(RandomSerial, IsSixteenBytesPositiveAndNeverShorter) {
  for (int i = 0; i < 1000; ++i) {
    const auto serial = random_serial();
    ASSERT_EQ(serial.size(), 16u);
    const auto first = static_cast<unsigned char>(serial[0]);
    EXPECT_EQ(first & 0x80, 0) << "top bit set: DER INTEGER would be negative";
    EXPECT_EQ(first & 0x40, 0x40) << "leading byte could shrink the serial";
  }
}

TEST(RandomSerial, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(seen.insert(random_serial()).second);
  }
}

}  // namespace
}  // namespace estfleet::ca
