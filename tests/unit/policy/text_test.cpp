// The control-character rule every layer applies to text that ends up in the registry, a log, a
// table or an ACL file.
#include "policy/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace estfleet::policy {
namespace {

TEST(HasControlCharacter, RefusesEveryC0CharacterAndDel) {
  for (int byte = 0; byte < 0x20; ++byte) {
    const std::string text = std::string("ab") + static_cast<char>(byte) + "cd";
    EXPECT_TRUE(has_control_character(text)) << "byte " << byte;
  }
  EXPECT_TRUE(has_control_character("line\x7f"));
  EXPECT_TRUE(has_control_character(std::string("nul\0inside", 10)));
}

TEST(HasControlCharacter, AcceptsPrintableAsciiAndUtf8) {
  EXPECT_FALSE(has_control_character(""));
  EXPECT_FALSE(has_control_character("topic/sensors/DeviceAlpha/+ #*?~ {}[]"));
  // Every byte of a multi-byte UTF-8 character is 0x80 or above.
  EXPECT_FALSE(has_control_character("Zürich 東京"));
}

TEST(SplitLevels, KeepsEmptyLevels) {
  using Levels = std::vector<std::string_view>;
  EXPECT_EQ(split_levels("a/b/c"), (Levels{"a", "b", "c"}));
  EXPECT_EQ(split_levels("a//b/"), (Levels{"a", "", "b", ""}));
  EXPECT_EQ(split_levels("/"), (Levels{"", ""}));
  EXPECT_EQ(split_levels(""), (Levels{""}));
}

}  // namespace
}  // namespace estfleet::policy
