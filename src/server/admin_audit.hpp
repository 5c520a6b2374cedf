// `est-server audit export`: the registry's audit log as JSON lines or a table.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "registry/store.hpp"

namespace estfleet::server {

// The start of an export window: RFC 3339 ("2025-06-01T12:00:00Z", fractions and +hh:mm offsets
// allowed), unix seconds ("1748779200"), or a duration before `now` ("90s", "15m", "24h", "7d").
// Throws std::invalid_argument with one sentence naming the value and the accepted forms.
registry::UnixSeconds parse_since(std::string_view text, registry::UnixSeconds now);

// Every audit event at or after `since`, oldest first: one JSON object per line with `json`, else
// a table. Read-only: nothing is written, not even an audit row for the export.
std::string export_audit(const std::filesystem::path& data_dir, registry::UnixSeconds since,
                         bool json);

}  // namespace estfleet::server
