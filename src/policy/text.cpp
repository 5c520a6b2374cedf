#include "policy/text.hpp"

#include <algorithm>

namespace estfleet::policy {

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

std::vector<std::string_view> split_levels(std::string_view text) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    const auto slash = text.find('/', start);
    levels.push_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) {
      return levels;
    }
    start = slash + 1;
  }
}

}  // namespace estfleet::policy
