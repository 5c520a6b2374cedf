// A profile's own rule for ThingNames on top of the fixed [A-Za-z0-9:_-]{1,128}: e.g. a factory
// line whose devices are all named "sensor-<serial>".
#pragma once

#include <regex>
#include <string>
#include <string_view>

namespace estfleet::est {

class ThingNamePattern {
 public:
  // ECMAScript syntax. Throws std::regex_error for a pattern that does not compile; compiled once
  // here, so a bad pattern is refused when the configuration loads, not on a device's request.
  explicit ThingNamePattern(std::string text);

  // The whole name must match, not a part of it: "sensor-[0-9]+" refuses "xsensor-1y".
  bool matches(std::string_view thing_name) const;
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::regex regex_;
};

}  // namespace estfleet::est
