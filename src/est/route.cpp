#include "est/route.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace estfleet::est {
namespace {

constexpr std::string_view kPrefix = "/.well-known/est/";

constexpr std::array<std::pair<std::string_view, Operation>, 6> kOperations{{
    {"cacerts", Operation::cacerts},
    {"simpleenroll", Operation::simpleenroll},
    {"simplereenroll", Operation::simplereenroll},
    {"csrattrs", Operation::csrattrs},
    {"serverkeygen", Operation::serverkeygen},
    {"fullcmc", Operation::fullcmc},
}};

std::optional<Operation> find_operation(std::string_view name) {
  for (const auto& [text, op] : kOperations) {
    if (text == name) {
      return op;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view operation_name(Operation op) {
  for (const auto& [text, candidate] : kOperations) {
    if (candidate == op) {
      return text;
    }
  }
  return "unknown";
}

std::string_view operation_method(Operation op) {
  return (op == Operation::cacerts || op == Operation::csrattrs) ? "GET" : "POST";
}

bool is_valid_label(std::string_view label) {
  return !label.empty() && label.size() <= 64 &&
         std::all_of(label.begin(), label.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

std::optional<Route> parse_route(std::string_view target) {
  const auto query = target.find('?');
  std::string_view path = target.substr(0, query);
  if (!path.starts_with(kPrefix)) {
    return std::nullopt;
  }
  path.remove_prefix(kPrefix.size());
  std::string_view label;
  if (const auto slash = path.find('/'); slash != std::string_view::npos) {
    label = path.substr(0, slash);
    path.remove_prefix(slash + 1);
    if (!is_valid_label(label)) {
      return std::nullopt;
    }
  }
  const auto op = find_operation(path);
  if (!op) {
    return std::nullopt;
  }
  return Route{*op, std::string(label)};
}

}  // namespace estfleet::est
