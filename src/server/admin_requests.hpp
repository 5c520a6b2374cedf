// `est-server requests list`, `approve NAME`, `reject NAME`: the operator's side of profiles with
// approval = "manual".
#pragma once

#include <filesystem>
#include <string>

namespace estfleet::server {

// Every request, oldest first: ID THING PROFILE STATUS KEY_SHA256 REQUESTED_BY FROM REQUESTED, or
// with `json` an array of objects.
std::string list_requests(const std::filesystem::path& data_dir, bool json);

// Decides NAME's pending request. Throws std::runtime_error when it has none.
std::string decide_request(const std::filesystem::path& data_dir, const std::string& thing_name,
                           bool approve, bool json);

}  // namespace estfleet::server
