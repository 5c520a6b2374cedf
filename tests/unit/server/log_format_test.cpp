#include "server/log_format.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace estfleet::server {
namespace {

// The default logger writes into `out` while a test runs; the text format comes back after it.
class LogFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("log-format-test", sink));
  }
  void TearDown() override {
    configure_logging(LogFormat::text);
    spdlog::set_default_logger(previous_);
  }

  std::vector<nlohmann::json> json_lines() {
    std::vector<nlohmann::json> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      lines.push_back(nlohmann::json::parse(line));  // throws if a line is not one JSON object
    }
    return lines;
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(LogFormatTest, JsonLinesHoldTimestampLevelMessageAndTypedFields) {
  configure_logging(LogFormat::json);
  log_event(spdlog::level::warn, "POST /.well-known/est/simpleenroll 401",
            {{"status", 401}, {"thing", "Device-1"}, {"ms", 1.5}, {"from", "127.0.0.1"}});
  spdlog::info("est-server listening on https://127.0.0.1:{}", 8443);
  const auto lines = json_lines();
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  const auto& event = lines[0];
  EXPECT_EQ(event["level"], "warning");
  EXPECT_EQ(event["msg"], "POST /.well-known/est/simpleenroll 401");
  EXPECT_EQ(event["status"], 401);
  EXPECT_EQ(event["thing"], "Device-1");
  EXPECT_EQ(event["ms"], 1.5);
  EXPECT_EQ(event["from"], "127.0.0.1");
  const std::string ts = event["ts"];
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2025-06-01T12:00:00.123Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
  // An ordinary spdlog call carries no fields of an earlier event.
  EXPECT_EQ(lines[1]["msg"], "est-server listening on https://127.0.0.1:8443");
  EXPECT_EQ(lines[1]["level"], "info");
  EXPECT_EQ(lines[1].size(), 3u);
}

TEST_F(LogFormatTest, JsonEscapesQuotesNewlinesControlsAndBadUtf8) {
  configure_logging(LogFormat::json);
  const std::string hostile = "a\"b\\c\nd\te\x01 \xff\xfe end";
  log_event(spdlog::level::err, hostile, {{"reason", hostile}, {"key\"with\nquote", "v"}});
  const auto text = out_.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one event, one line";
  const auto lines = json_lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string msg = lines[0]["msg"];
  EXPECT_TRUE(msg.starts_with("a\"b\\c\nd\te\x01 ")) << msg;
  EXPECT_NE(msg.find("\xEF\xBF\xBD"), std::string::npos) << "invalid UTF-8 becomes U+FFFD";
  EXPECT_EQ(lines[0]["reason"], msg);
  EXPECT_EQ(lines[0]["key\"with\nquote"], "v");
}

TEST_F(LogFormatTest, TextAppendsFieldsAsKeyValuePairs) {
  configure_logging(LogFormat::text);
  log_event(spdlog::level::info, "GET /healthz 200", {{"status", 200}, {"from", "::1"}});
  const auto text = out_.str();
  EXPECT_NE(text.find(" info GET /healthz 200 status=200 from=::1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('{'), std::string::npos);
}

TEST_F(LogFormatTest, ParsesFormatNames) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::text);
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_THROW(parse_log_format("JSON "), std::invalid_argument);
  EXPECT_THROW(parse_log_format(""), std::invalid_argument);
}

}  // namespace
}  // namespace estfleet::server
