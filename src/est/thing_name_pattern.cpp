#include "est/thing_name_pattern.hpp"

namespace estfleet::est {

ThingNamePattern::ThingNamePattern(std::string text)
    : text_(std::move(text)), regex_(text_, std::regex::ECMAScript | std::regex::optimize) {}

bool ThingNamePattern::matches(std::string_view thing_name) const {
  return std::regex_match(thing_name.begin(), thing_name.end(), regex_);
}

}  // namespace estfleet::est
