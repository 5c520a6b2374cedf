// How est-server writes its log: the default text lines, or one JSON object per line
// (`serve --log-format json`) with "ts", "level", "msg" and the event's own fields. Nothing logged
// here ever holds a key, a password or a fleet secret: callers pass identities, paths, statuses.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace estfleet::server {

enum class LogFormat { text, json };

// "text" or "json"; std::invalid_argument naming the value otherwise.
LogFormat parse_log_format(std::string_view name);

// Installs the format on every logger spdlog knows, and for those made later.
void configure_logging(LogFormat format);
LogFormat current_log_format();

// Named values of one event. Keys must not be "ts", "level" or "msg".
using LogFields = std::vector<std::pair<std::string, nlohmann::json>>;

// Logs `message` with its fields through the default logger: in JSON they become members of the
// line's object (numbers stay numbers); in text they follow the message as " key=value".
void log_event(spdlog::level::level_enum level, std::string_view message, const LogFields& fields);

// The JSON formatter: {"ts":"2025-06-01T12:00:00.123Z","level":"info","msg":"...",...}. Strings
// are escaped as JSON requires; bytes that are not UTF-8 become U+FFFD, so every line parses.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace estfleet::server
