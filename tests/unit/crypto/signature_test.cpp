#include "crypto/signature.hpp"

#include <gtest/gtest.h>

#include "crypto/key.hpp"

namespace estfleet::crypto {
namespace {

class SignatureTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(SignatureTest, SignsAndVerifiesAndRejectsTamperingAndOtherKeys) {
  const auto key = PrivateKey::generate(GetParam());
  const std::string message = "est-fleet readiness probe";
  const auto signature = sign_message(key.get(), message);
  ASSERT_FALSE(signature.empty());
  EXPECT_TRUE(verify_message(key.get(), message, signature));
  EXPECT_FALSE(verify_message(key.get(), message + "!", signature));
  auto tampered = signature;
  tampered[tampered.size() / 2] = static_cast<char>(tampered[tampered.size() / 2] ^ 0x01);
  EXPECT_FALSE(verify_message(key.get(), message, tampered));
  EXPECT_FALSE(verify_message(key.get(), message, ""));
  const auto other = PrivateKey::generate(GetParam());
  EXPECT_FALSE(verify_message(other.get(), message, signature));
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, SignatureTest,
                         ::testing::Values(KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048,
                                           KeyType::ed25519));

}  // namespace
}  // namespace estfleet::crypto
