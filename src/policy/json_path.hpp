// Internal to the policy layer: JSON paths for error messages. The strict reader they serve is
// public, in policy/strict_json.hpp.
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

}  // namespace estfleet::policy::detail
