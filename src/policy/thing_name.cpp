#include "policy/thing_name.hpp"

#include <algorithm>

namespace estfleet::policy {

bool is_valid_thing_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxThingNameLength) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '-';
  });
}

}  // namespace estfleet::policy
