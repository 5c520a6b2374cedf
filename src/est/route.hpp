#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace estfleet::est {

enum class Operation { cacerts, simpleenroll, simplereenroll, csrattrs, serverkeygen, fullcmc };
std::string_view operation_name(Operation op);
// The HTTP method RFC 7030 prescribes for the operation: GET or POST.
std::string_view operation_method(Operation op);

struct Route {
  Operation operation;
  std::string label;  // empty: the default profile
};

// Maps a request target ("/.well-known/est[/<label>]/<operation>[?query]") to its route, or
// nullopt when it is not an EST path. Labels are [A-Za-z0-9_-]{1,64}: anything else (dots,
// percent-encoding, empty segments) is not a route, so no label can walk out of its namespace.
std::optional<Route> parse_route(std::string_view target);

bool is_valid_label(std::string_view label);

}  // namespace estfleet::est
