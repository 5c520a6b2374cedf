#include "est/media.hpp"

#include <algorithm>
#include <cctype>

#include "crypto/encoding.hpp"

namespace estfleet::est {

std::string media_type_of(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
    type.remove_prefix(1);
  }
  std::string lowered(type);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

std::optional<std::string> decode_body(std::string_view body) {
  auto decoded = crypto::base64_decode(crypto::strip_pem_armour(body));
  if (!decoded || decoded->empty()) {
    return std::nullopt;
  }
  return decoded;
}

http::Response base64_response(std::string_view content_type, std::string_view der) {
  http::Response response;
  response.status = 200;
  response.headers = {{"Content-Type", std::string(content_type)},
                      {"Content-Transfer-Encoding", "base64"}};
  // One line and nothing after it: RFC 8951 makes EST's base64 that of RFC 4648, which adds no
  // line feeds, and deployed clients decode without skipping them.
  response.body = crypto::base64_encode(der);
  return response;
}

http::Response error_response(int status, std::string_view sentence) {
  http::Response response;
  response.status = status;
  response.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  response.body = std::string(sentence);
  response.body += '\n';
  return response;
}

}  // namespace estfleet::est
