// Text from outside (a certificate's CN, a CSR's subject, a refusal that quotes them) on its way
// into a log line or an audit row: one line, no terminal escapes, bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace estfleet::common {

// The most bytes of one such field that a log line or audit row keeps.
inline constexpr std::size_t kMaxLoggedField = 512;

// `text` with every control byte (below 0x20, and 0x7F: newlines, carriage returns, ESC), every
// C1 control (U+0080..U+009F) and every byte that is not part of well-formed UTF-8 written as
// \xNN, cut to at most `max` bytes of the original followed by "...(N bytes)" when it was longer.
std::string printable(std::string_view text, std::size_t max = kMaxLoggedField);

}  // namespace estfleet::common
