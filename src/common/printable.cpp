#include "common/printable.hpp"

#include <cstdint>

namespace estfleet::common {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` whose code point is not a
// C1 control (U+0080..U+009F, which 8-bit terminals obey as escapes), or 0.
std::size_t printable_utf8_length(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07u;
  } else {
    return 0;
  }
  if (text.size() < length) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0u) != 0x80u) {
      return 0;
    }
    code = (code << 6) | (byte & 0x3Fu);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  if (overlong || surrogate || code > 0x10FFFF || (code >= 0x80 && code <= 0x9F)) {
    return 0;
  }
  return length;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  constexpr char kHex[] = "0123456789abcdef";
  const std::string_view kept = text.substr(0, max);
  std::string out;
  out.reserve(kept.size() + 16);
  const auto escape = [&](unsigned char byte) {
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0F];
  };
  for (std::size_t i = 0; i < kept.size();) {
    const auto byte = static_cast<unsigned char>(kept[i]);
    // Printable ASCII is one byte; anything else is a well-formed UTF-8 sequence that is not a
    // C1 control, kept whole, or one byte escaped (a control, a C1, or not UTF-8).
    std::size_t length = 0;
    if (byte >= 0x20 && byte < 0x7F) {
      length = 1;
    } else if (byte >= 0x80) {
      length = printable_utf8_length(kept.substr(i));
    }
    if (length == 0) {
      escape(byte);
      ++i;
    } else {
      out += kept.substr(i, length);
      i += length;
    }
  }
  if (text.size() > max) {
    out += "...(" + std::to_string(text.size()) + " bytes)";
  }
  return out;
}

}  // namespace estfleet::common
