// A base64 decoder as strict as the EST clients that do not skip line breaks: RFC 4648 alphabet
// and padding only, nothing else anywhere (no CR, LF, space or NUL). Written here, apart from
// crypto::base64_decode (which is tolerant on purpose), so that a test reads the server's bodies
// as such a client would.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace estfleet::testing {

inline std::optional<std::string> strict_base64_decode(std::string_view text) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.empty() || text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  unsigned bits = 0;
  int count = 0;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (i + 2 < text.size()) {
        return std::nullopt;  // padding only in the last two places
      }
      ++padding;
      continue;
    }
    const auto value = kAlphabet.find(text[i]);
    if (value == std::string_view::npos || padding > 0) {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

}  // namespace estfleet::testing
