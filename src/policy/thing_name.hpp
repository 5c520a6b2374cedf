#pragma once

#include <string_view>

namespace estfleet::policy {

// A device's identity is its ThingName, the certificate's subject CN: [A-Za-z0-9:_-]{1,128}.
inline constexpr std::size_t kMaxThingNameLength = 128;
bool is_valid_thing_name(std::string_view name);

}  // namespace estfleet::policy
