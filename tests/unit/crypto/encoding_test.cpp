#include "crypto/encoding.hpp"

#include <gtest/gtest.h>

namespace estfleet::crypto {
namespace {

TEST(Base64, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(data)), data) << i;
    EXPECT_EQ(base64_decode(base64_encode(data, 64)), data) << i;
    data += static_cast<char>(i * 37);
  }
}

TEST(Base64, KnownVectors) {
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
}

TEST(Base64, ToleratesWhitespaceAndLineBreaks) {
  EXPECT_EQ(base64_decode("Zm9v\r\nYmFy\r\n"), "foobar");
  EXPECT_EQ(base64_decode("  Zm 9v\tYm\nFy "), "foobar");
}

TEST(Base64, RefusesMalformedInput) {
  EXPECT_EQ(base64_decode("Zm9v!mFy"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm8"), std::nullopt) << "missing padding";
  EXPECT_EQ(base64_decode("Zm8=="), std::nullopt) << "too much padding";
  EXPECT_EQ(base64_decode("Zm=8"), std::nullopt) << "data after padding";
  EXPECT_EQ(base64_decode("Zm9="), std::nullopt) << "non-zero unused bits";
  EXPECT_EQ(base64_decode("Z"), std::nullopt);
  EXPECT_EQ(base64_decode(std::string("Zm9v\0YmFy", 9)), std::nullopt);
}

TEST(Base64, LinesAreAtMost64CharactersJoinedByLf) {
  const auto text = base64_encode(std::string(300, 'x'), 64);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = std::min(text.find('\n', start), text.size());
    EXPECT_LE(end - start, 64u);
    start = end + 1;
  }
}

TEST(Base64Url, HasNoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff", 2)), "-_8");
}

TEST(Hex, RoundTripAndRefusal) {
  EXPECT_EQ(hex_encode(std::string("\x00\xab\xff", 3)), "00abff");
  EXPECT_EQ(hex_decode("00ABff"), std::string("\x00\xab\xff", 3));
  EXPECT_EQ(hex_decode("abc"), std::nullopt);
  EXPECT_EQ(hex_decode("zz"), std::nullopt);
}

TEST(Hex, DigitValues) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('9'), 9);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) {
    EXPECT_EQ(hex_digit_value(c), -1) << static_cast<int>(c);
  }
}

TEST(Pem, StripsArmourAndLeavesPlainTextAlone) {
  EXPECT_EQ(strip_pem_armour("-----BEGIN X-----\nQUJD\n-----END X-----\n"), "QUJD\n");
  EXPECT_EQ(strip_pem_armour("QUJD"), "QUJD");
  EXPECT_EQ(base64_decode(strip_pem_armour(pem_encode("ABC", "THING"))), "ABC");
}

}  // namespace
}  // namespace estfleet::crypto
