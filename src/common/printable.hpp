// Text from outside (a certificate's CN, a CSR's subject, a refusal that quotes them) on its way
// into a log line or an audit row: one line, no terminal escapes, bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace estfleet::common {

// The most bytes of one such field that a log line or audit row keeps.
inline constexpr std::size_t kMaxLoggedField = 512;

// `text` with every control byte (below 0x20, and 0x7F: newlines, carriage returns, ESC) written
// as \xNN, cut to at most `max` bytes of the original followed by
// "...(N bytes)" when it was longer. Other bytes pass unchanged (the JSON log replaces invalid
// UTF-8 on its own).
std::string printable(std::string_view text, std::size_t max = kMaxLoggedField);

}  // namespace estfleet::common
