// The strict reading of JSON text that a device signs (IoT details, device attributes) or an
// operator stores (policy documents): one meaning for every reader, bounded work for hostile text.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

namespace estfleet::policy {

// IoTDetails nest 3 levels and policy documents 4; a device gets no use from more, and every
// level is work for the parser and for whoever reads the error.
inline constexpr std::size_t kMaxJsonDepth = 8;

// Parses `text` keeping object keys in their written order. A key written twice in one object is
// a PolicyError at its path: parsers disagree about which copy wins, and a signed CSR must mean
// one thing to every reader. An object or array nested deeper than kMaxJsonDepth is a PolicyError
// at its path, raised as soon as it opens, so hostile nesting costs O(kMaxJsonDepth) memory. Text
// that is not JSON (including strings that are not UTF-8) is PolicyError("$", ...).
nlohmann::ordered_json parse_strict_json(std::string_view text);

}  // namespace estfleet::policy
