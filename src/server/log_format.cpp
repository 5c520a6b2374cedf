#include "server/log_format.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <stdexcept>

namespace estfleet::server {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v";

std::atomic<LogFormat> g_format{LogFormat::text};

// The fields of the event being logged on this thread, read by the formatter while log_event
// holds them. The loggers are synchronous, so formatting happens inside that call.
thread_local const LogFields* t_fields = nullptr;

std::string utc_timestamp(spdlog::log_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  const auto length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(millis % 1000));
  return std::string(text, length) + fraction;
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

LogFormat parse_log_format(std::string_view name) {
  if (name == "text") {
    return LogFormat::text;
  }
  if (name == "json") {
    return LogFormat::json;
  }
  throw std::invalid_argument("log format '" + std::string(name) + "' is not text or json");
}

void configure_logging(LogFormat format) {
  g_format = format;
  if (format == LogFormat::json) {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    spdlog::set_pattern(kTextPattern, spdlog::pattern_time_type::utc);
  }
}

LogFormat current_log_format() {
  return g_format;
}

void log_event(spdlog::level::level_enum level, std::string_view message, const LogFields& fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) {
    return;
  }
  if (g_format == LogFormat::json) {
    t_fields = &fields;
    try {
      logger->log(level, "{}", message);
    } catch (...) {
      t_fields = nullptr;
      throw;
    }
    t_fields = nullptr;
    return;
  }
  std::string line(message);
  for (const auto& [key, value] : fields) {
    line += " " + key + "=" + (value.is_string() ? value.get<std::string>() : dump(value));
  }
  logger->log(level, "{}", line);
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string line = "{\"ts\":\"" + utc_timestamp(msg.time) + "\",\"level\":" +
                     dump(std::string(spdlog::level::to_string_view(msg.level).data(),
                                      spdlog::level::to_string_view(msg.level).size())) +
                     ",\"msg\":" + dump(std::string(msg.payload.data(), msg.payload.size()));
  if (t_fields != nullptr) {
    for (const auto& [key, value] : *t_fields) {
      line += "," + dump(key) + ":" + dump(value);
    }
  }
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace estfleet::server
