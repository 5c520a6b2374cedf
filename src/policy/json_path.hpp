// Internal to the policy layer: JSON paths for error messages, and the strict reading of JSON text
// shared by the IoTDetails and policy document parsers.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace estfleet::policy::detail {

// "$.Topics.Publish" for identifier-like keys; "$.Topics[\"a b\"]" otherwise, JSON-escaped so a
// hostile key cannot forge a path or smuggle control characters into a log line.
std::string member_path(const std::string& path, std::string_view key);
std::string element_path(const std::string& path, std::size_t index);

// IoTDetails nest 3 levels and policy documents 4; a device gets no use from more, and every
// level is work for the parser and for whoever reads the error.
inline constexpr std::size_t kMaxJsonDepth = 8;

// Parses `text` keeping object keys in their written order. A key written twice in one object is
// a PolicyError at its path: parsers disagree about which copy wins, and a signed CSR must mean
// one thing to every reader. An object or array nested deeper than kMaxJsonDepth is a PolicyError
// at its path, raised as soon as it opens, so hostile nesting costs O(kMaxJsonDepth) memory. Text
// that is not JSON is PolicyError("$", ...).
nlohmann::ordered_json parse_json_text(std::string_view text);

}  // namespace estfleet::policy::detail
