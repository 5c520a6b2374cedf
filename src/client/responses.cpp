#include "client/responses.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "client/errors.hpp"
#include "common/multipart.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"
#include "crypto/pkcs7.hpp"

namespace estfleet::client {
namespace {

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  long long seconds = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size() && seconds >= 0) {
    return std::min(std::chrono::seconds(seconds), kLongestRetryAfter);
  }
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  // In whole seconds: a date centuries away does not fit the clock's nanoseconds (found by
  // fuzz_client_pkcs7: "Sun, 06 Nov 1094 ..." overflowed a signed multiplication).
  const long long at = timegm(&tm);
  const long long from =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return std::clamp(std::chrono::seconds(at - from), std::chrono::seconds(0), kLongestRetryAfter);
}

std::optional<Pending> check_status(const http::Response& response, std::string_view operation) {
  if (response.status == 200 || response.status == 204) {
    return std::nullopt;
  }
  if (response.status == 202) {
    const auto header = response.header("Retry-After");
    const auto delay =
        header ? parse_retry_after(*header, std::chrono::system_clock::now()) : std::nullopt;
    return Pending{delay.value_or(std::chrono::seconds(60))};
  }
  std::string reason = first_line(response.body);
  if (reason.empty()) {
    reason = "no reason given";
  }
  throw ServerRefused(response.status, "the server refused " + std::string(operation) + " (" +
                                           std::to_string(response.status) + "): " + reason);
}

std::string decode_body(const http::Response& response, std::string_view media_type,
                        std::string_view operation) {
  const auto content_type = response.header("Content-Type");
  if (!content_type || common::media_type(*content_type) != media_type) {
    throw ClientError("the " + std::string(operation) + " response has Content-Type '" +
                      std::string(content_type.value_or("none")) + "', expected " +
                      std::string(media_type));
  }
  const auto der = crypto::base64_decode(crypto::strip_pem_armour(response.body));
  if (!der || der->empty()) {
    throw ClientError("the " + std::string(operation) + " response body is not base64");
  }
  return *der;
}

std::vector<crypto::Certificate> decode_certificates(const http::Response& response,
                                                     std::string_view operation) {
  try {
    return crypto::parse_pkcs7_certs_only(
        decode_body(response, "application/pkcs7-mime", operation));
  } catch (const crypto::CryptoError& e) {
    throw ClientError("the " + std::string(operation) + " response is unusable: " + e.what());
  }
}

}  // namespace estfleet::client
