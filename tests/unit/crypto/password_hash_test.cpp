#include "crypto/password_hash.hpp"

#include <gtest/gtest.h>

namespace estfleet::crypto {
namespace {

constexpr ScryptParams kFast{10, 8, 1};

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
  const auto hash = hash_password("correct horse", kFast);
  EXPECT_TRUE(hash.starts_with("$scrypt$ln=10,r=8,p=1$"));
  EXPECT_TRUE(verify_password("correct horse", hash));
  EXPECT_FALSE(verify_password("correct hors", hash));
  EXPECT_FALSE(verify_password("", hash));
}

TEST(PasswordHash, SaltsEveryHash) {
  EXPECT_NE(hash_password("same", kFast), hash_password("same", kFast));
}

TEST(PasswordHash, MalformedHashesVerifyNothing) {
  for (const char* bad :
       {"", "plain", "$scrypt$", "$scrypt$ln=10,r=8,p=1$", "$scrypt$ln=10,r=8,p=1$c2FsdA==$",
        "$scrypt$ln=99,r=8,p=1$c2FsdA==$AAAA", "$bcrypt$ln=10,r=8,p=1$c2FsdA==$AAAA",
        "$scrypt$ln=10,r=8$c2FsdA==$AAAA"}) {
    EXPECT_FALSE(verify_password("x", bad)) << bad;
  }
}

}  // namespace
}  // namespace estfleet::crypto
