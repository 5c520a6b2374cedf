#include "client/summary_table.hpp"

#include <algorithm>
#include <array>
#include <ctime>

namespace estfleet::client {
namespace {

constexpr std::size_t kColumns = 5;
using Row = std::array<std::string, kColumns>;

std::string cell(const std::string& text) {
  return text.empty() ? "-" : text;
}

}  // namespace

std::string_view to_string(DeviceResult result) {
  switch (result) {
    case DeviceResult::enrolled:
      return "enrolled";
    case DeviceResult::skipped:
      return "skipped";
    case DeviceResult::pending:
      return "pending";
    case DeviceResult::failed:
      return "failed";
    case DeviceResult::renewed:
      return "renewed";
  }
  return "failed";
}

std::string utc_text(crypto::TimePoint time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer.data();
}

std::string format_summary(const std::vector<DeviceOutcome>& outcomes,
                           const std::vector<DeviceResult>& counted) {
  std::vector<Row> rows{{"DEVICE", "RESULT", "SERIAL", "EXPIRES (UTC)", "REASON"}};
  std::array<std::size_t, 5> counts{};
  for (const auto& outcome : outcomes) {
    rows.push_back({outcome.thing_name, std::string(to_string(outcome.result)),
                    cell(outcome.serial), cell(outcome.expires ? utc_text(*outcome.expires) : ""),
                    cell(outcome.reason)});
    ++counts.at(static_cast<std::size_t>(outcome.result));
  }
  std::array<std::size_t, kColumns> widths{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < kColumns; ++c) {
      widths.at(c) = std::max(widths.at(c), row.at(c).size());
    }
  }
  std::string text;
  for (const auto& row : rows) {
    for (std::size_t c = 0; c + 1 < kColumns; ++c) {
      text += row.at(c) + std::string(widths.at(c) - row.at(c).size() + 2, ' ');
    }
    text += row.back() + "\n";
  }
  text += std::to_string(outcomes.size()) + (outcomes.size() == 1 ? " device: " : " devices: ");
  for (std::size_t i = 0; i < counted.size(); ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(counts.at(static_cast<std::size_t>(counted[i]))) +
            " " + std::string(to_string(counted[i]));
  }
  return text + "\n";
}

}  // namespace estfleet::client
