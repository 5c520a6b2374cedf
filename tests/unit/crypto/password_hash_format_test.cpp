// The stored form is parsed strictly: anything but "$scrypt$ln=N,r=N,p=N$<salt>$<hash>" with
// in-range parameters verifies nothing, and changing any part changes the answer.
#include <gtest/gtest.h>

#include "crypto/password_hash.hpp"

namespace estfleet::crypto {
namespace {

TEST(PasswordHashFormat, OnlyTheExactFormVerifies) {
  const std::string good = hash_password("pw", ScryptParams{10, 8, 1});
  ASSERT_TRUE(verify_password("pw", good));
  const auto params_end = good.find('$', 8);
  const std::string tail = good.substr(params_end);  // "$<salt>$<hash>"
  const std::string hash = good.substr(good.rfind('$') + 1);
  const std::string malformed[] = {
      "$scrypt$ln=11,r=8,p=1" + tail,  // other parameters, other hash
      "$scrypt$ln=10,r=8,p=1," + tail,
      "$scrypt$ln=10r=8,p=1" + tail,
      "$scrypt$r=8,ln=10,p=1" + tail,
      "$scrypt$ln=,r=8,p=1" + tail,
      "$scrypt$ln=40,r=8,p=1" + tail,
      "$scrypt$ln=0,r=8,p=1" + tail,
      "$scrypt$ln=10,r=0,p=1" + tail,
      "$scrypt$ln=-1,r=8,p=1" + tail,
      good.substr(0, good.size() - 4),
      good + "AAAA",
      good.substr(0, params_end) + "$!!!!$" + hash,
      good.substr(0, params_end) + "$$" + hash,
  };
  for (const auto& encoded : malformed) {
    EXPECT_FALSE(verify_password("pw", encoded)) << encoded;
  }
}

TEST(PasswordHashFormat, DefaultParametersFitTheMemoryLimit) {
  const std::string encoded = hash_password("pw");
  EXPECT_EQ(encoded.rfind("$scrypt$ln=15,r=8,p=1$", 0), 0u);
  EXPECT_TRUE(verify_password("pw", encoded));
}

}  // namespace
}  // namespace estfleet::crypto
