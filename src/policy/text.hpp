// The rule every layer applies to text a device or an operator writes into the registry, a log, a
// table or an MQTT ACL file.
#pragma once

#include <string_view>
#include <vector>

namespace estfleet::policy {

// True when `text` holds a C0 control character (U+0000 to U+001F) or DEL: such a value could end
// a line early and forge the next line of a log, a table or an ACL file.
bool has_control_character(std::string_view text);

// The levels of an MQTT topic or filter, or the segments of a policy resource path: `text` split
// at '/', empty levels included ("a//b/" gives a, "", b, ""). Views into `text`.
std::vector<std::string_view> split_levels(std::string_view text);

}  // namespace estfleet::policy
