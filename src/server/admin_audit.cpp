#include "server/admin_audit.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "server/config.hpp"
#include "server/registry_access.hpp"
#include "server/text_table.hpp"

namespace estfleet::server {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::optional<int> number(std::string_view text, std::size_t at, std::size_t length) {
  if (at + length > text.size() || !all_digits(text.substr(at, length))) {
    return std::nullopt;
  }
  int value = 0;
  std::from_chars(text.data() + at, text.data() + at + length, value);
  return value;
}

// RFC 3339 date-time: YYYY-MM-DD(T|t| )hh:mm:ss[.frac](Z|z|(+|-)hh:mm). Fractions are dropped.
std::optional<registry::UnixSeconds> parse_rfc3339(std::string_view text) {
  const auto year = number(text, 0, 4);
  const auto month = number(text, 5, 2);
  const auto day = number(text, 8, 2);
  const auto hour = number(text, 11, 2);
  const auto minute = number(text, 14, 2);
  const auto second = number(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    const auto digits = text.find_first_not_of("0123456789", at + 1);
    if (digits == at + 1) {
      return std::nullopt;
    }
    at = digits == std::string_view::npos ? text.size() : digits;
  }
  long offset = 0;
  const auto zone = text.substr(std::min(at, text.size()));
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const auto zone_hours = number(zone, 1, 2);
    const auto zone_minutes = number(zone, 4, 2);
    if (!zone_hours || !zone_minutes || *zone_hours > 23 || *zone_minutes > 59) {
      return std::nullopt;
    }
    offset = (zone[0] == '+' ? 1 : -1) * (*zone_hours * 3600L + *zone_minutes * 60L);
  } else {
    return std::nullopt;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::tm parts{};
  parts.tm_year = *year - 1900;
  parts.tm_mon = *month - 1;
  parts.tm_mday = *day;
  parts.tm_hour = *hour;
  parts.tm_min = *minute;
  parts.tm_sec = std::min(*second, 59);  // a leap second reads as the second before it
  const std::time_t utc = timegm(&parts);
  if (parts.tm_mday != *day || parts.tm_mon != *month - 1) {
    return std::nullopt;  // timegm normalised a day that does not exist (e.g. 02-30)
  }
  return static_cast<registry::UnixSeconds>(utc) - offset;
}

// EST events name their profile ("" is the default one); operator events have none.
std::string show_profile(const registry::AuditEvent& event) {
  return event.profile.empty() && event.source_address != "cli" ? "default" : event.profile;
}

nlohmann::json event_json(const registry::AuditEvent& event) {
  return {{"id", event.id},
          {"time", iso_time(event.time)},
          {"unix_time", event.time},
          {"actor", event.actor},
          {"source", event.source_address},
          {"operation", event.operation},
          {"profile", show_profile(event)},
          {"thing", event.thing_name},
          {"serial", event.serial},
          {"result", event.result},
          {"reason", event.reason}};
}

std::string cell(const std::string& text) {
  return text.empty() ? "-" : text;
}

}  // namespace

registry::UnixSeconds parse_since(std::string_view text, registry::UnixSeconds now) {
  const auto refuse = [text]() -> std::invalid_argument {
    // Appended, not `"'" + std::string(text) + ...`: GCC 12 -O3 reports a false -Wrestrict there.
    std::string message = "'";
    message.append(text);
    message.append(
        "' is not a time: give RFC 3339 (2025-06-01T12:00:00Z), unix seconds (1748779200) or a "
        "duration before now (90s, 15m, 24h, 7d)");
    return std::invalid_argument(message);
  };
  if (all_digits(text)) {
    registry::UnixSeconds seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size()) {
      throw refuse();
    }
    return seconds;
  }
  if (text.size() >= 2 && all_digits(text.substr(0, text.size() - 1)) &&
      std::string_view("smhd").find(text.back()) != std::string_view::npos) {
    try {
      return now - parse_duration(std::string(text)).count();
    } catch (const std::exception&) {
      throw refuse();
    }
  }
  if (const auto time = parse_rfc3339(text)) {
    return *time;
  }
  throw refuse();
}

std::string export_audit(const std::filesystem::path& data_dir, registry::UnixSeconds since,
                         bool json) {
  const auto config = load_config(data_dir);
  const auto store = open_registry(config, true);
  const auto events = store->audit_since(since);
  std::string out;
  if (json) {
    for (const auto& event : events) {
      out +=
          event_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return out;
  }
  std::vector<TableRow> rows;
  rows.reserve(events.size());
  for (const auto& event : events) {
    rows.push_back({iso_time(event.time), event.operation, event.result, cell(show_profile(event)),
                    cell(event.thing_name), cell(event.serial), cell(event.actor),
                    cell(event.source_address), cell(event.reason)});
  }
  return render_table(
      {"TIME", "OPERATION", "RESULT", "PROFILE", "THING", "SERIAL", "ACTOR", "SOURCE", "REASON"},
      rows);
}

}  // namespace estfleet::server
