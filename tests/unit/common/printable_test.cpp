#include "common/printable.hpp"

#include <gtest/gtest.h>

namespace estfleet::common {
namespace {

TEST(Printable, ControlBytesAreEscaped) {
  EXPECT_EQ(printable("DeviceAlpha"), "DeviceAlpha");
  EXPECT_EQ(printable("a\nb\r\x1b[31mc\x7f"), "a\\x0ab\\x0d\\x1b[31mc\\x7f");
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac") << "UTF-8 passes";
  EXPECT_EQ(printable("\x9b"
                      "2J"),
            "\\x9b2J")
      << "a raw C1 byte (CSI on 8-bit terminals)";
  EXPECT_EQ(printable("\xc2\x9b"
                      "2J"),
            "\\xc2\\x9b2J")
      << "C1 CSI encoded as UTF-8";
  EXPECT_EQ(printable("\xc3"), "\\xc3") << "a cut sequence";
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a surrogate";
}

TEST(Printable, LongTextIsCutAndSaysHowLongItWas) {
  const std::string long_text(90'000, 'A');
  const auto out = printable(long_text);
  EXPECT_EQ(out, std::string(kMaxLoggedField, 'A') + "...(90000 bytes)");
  EXPECT_EQ(printable("abcdef", 3), "abc...(6 bytes)");
  EXPECT_EQ(printable("abc", 3), "abc");
}

}  // namespace
}  // namespace estfleet::common
