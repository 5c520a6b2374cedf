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

// What servers leave after the body proper: line ends, blanks, and the NUL of a C string.
bool is_padding(char c) {
  return c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The DER SEQUENCE that `body` begins with, when it is one with a definite length and only
// padding follows it.
std::optional<std::string_view> leading_sequence(std::string_view body) {
  constexpr unsigned char kSequence = 0x30;
  if (body.size() < 2 || static_cast<unsigned char>(body[0]) != kSequence) {
    return std::nullopt;
  }
  std::size_t length = static_cast<unsigned char>(body[1]);
  std::size_t header = 2;
  if (length >= 0x80) {
    const std::size_t octets = length & 0x7F;
    // 0x80 is BER's indefinite length; more than four octets is no body a client reads.
    if (octets == 0 || octets > 4 || body.size() < header + octets) {
      return std::nullopt;
    }
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = (length << 8) | static_cast<unsigned char>(body[header + i]);
    }
    header += octets;
  }
  if (body.size() - header < length) {
    return std::nullopt;
  }
  const auto rest = body.substr(header + length);
  if (!std::all_of(rest.begin(), rest.end(), is_padding)) {
    return std::nullopt;
  }
  return body.substr(0, header + length);
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

std::optional<std::string> body_der(std::string_view body) {
  if (const auto der = leading_sequence(body)) {
    return std::string(*der);
  }
  while (!body.empty() && is_padding(body.back())) {
    body.remove_suffix(1);
  }
  auto der = crypto::base64_decode(crypto::strip_pem_armour(body));
  if (!der || der->empty()) {
    return std::nullopt;
  }
  return der;
}

std::string decode_body(const http::Response& response, std::string_view media_type,
                        std::string_view operation) {
  const auto content_type = response.header("Content-Type");
  if (!content_type || common::media_type(*content_type) != media_type) {
    throw ClientError("the " + std::string(operation) + " response has Content-Type '" +
                      std::string(content_type.value_or("none")) + "', expected " +
                      std::string(media_type));
  }
  auto der = body_der(response.body);
  if (!der) {
    throw ClientError("the " + std::string(operation) + " response body is neither base64 nor DER");
  }
  return std::move(*der);
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
