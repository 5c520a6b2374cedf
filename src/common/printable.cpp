#include "common/printable.hpp"

namespace estfleet::common {

std::string printable(std::string_view text, std::size_t max) {
  constexpr char kHex[] = "0123456789abcdef";
  const std::string_view kept = text.substr(0, max);
  std::string out;
  out.reserve(kept.size() + 16);
  for (const char c : kept) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    } else {
      out += c;
    }
  }
  if (text.size() > max) {
    out += "...(" + std::to_string(text.size()) + " bytes)";
  }
  return out;
}

}  // namespace estfleet::common
