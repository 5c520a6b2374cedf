#include <charconv>
#include <stdexcept>

#include "http/client.hpp"

namespace estfleet::http {

Url parse_url(const std::string& text) {
  constexpr std::string_view kScheme = "https://";
  std::string_view rest(text);
  if (!rest.starts_with(kScheme)) {
    throw std::invalid_argument("server URL '" + text + "' must start with https://");
  }
  rest.remove_prefix(kScheme.size());
  const auto path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  Url url;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("server URL '" + text + "' has an unclosed IPv6 literal");
    }
    url.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        throw std::invalid_argument("server URL '" + text + "' has junk after the IPv6 literal");
      }
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (url.host.empty() || url.host.find('@') != std::string::npos) {
    throw std::invalid_argument("server URL '" + text + "' has no valid host");
  }
  if (!port_text.empty() || authority.ends_with(':')) {
    unsigned port = 0;
    const auto [ptr, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      throw std::invalid_argument("server URL '" + text + "' has an invalid port");
    }
    url.port = static_cast<std::uint16_t>(port);
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    throw std::invalid_argument("server URL '" + text + "' must not carry a query or fragment");
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  url.path_prefix = std::string(path);
  return url;
}

}  // namespace estfleet::http
