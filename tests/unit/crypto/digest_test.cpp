#include "crypto/digest.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "crypto/encoding.hpp"

namespace estfleet::crypto {
namespace {

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(hex_encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, AcceptsAnEmptyKey) {
  EXPECT_EQ(hex_encode(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// RFC 4231 test case 6: a 131-byte key, longer than SHA-256's block, is hashed first.
TEST(HmacSha256, MatchesRfc4231TestCase6) {
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(131, '\xaa'),
                                   "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// Each thread keeps one HMAC context and keys it again per message: no key may leak into the
// next message's MAC, whatever the order of keys, and threads do not share state.
TEST(HmacSha256, EachMessageUsesOnlyItsOwnKey) {
  const std::string jefe = hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?"));
  const std::string empty = hex_encode(hmac_sha256("", ""));
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(hex_encode(hmac_sha256("", "")), empty);
    EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")), jefe);
  }
  std::string other_thread;
  std::thread([&] { other_thread = hex_encode(hmac_sha256("", "")); }).join();
  EXPECT_EQ(other_thread, empty);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
}

TEST(RandomBytes, GivesTheRequestedLengthAndFreshBytes) {
  EXPECT_TRUE(random_bytes(0).empty());
  const std::string a = random_bytes(32);
  const std::string b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace estfleet::crypto
