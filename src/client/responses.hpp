// Reading EST responses on the device side (RFC 7030 §4): status, media type, base64 body.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "crypto/certificate.hpp"
#include "http/message.hpp"

namespace estfleet::client {

// The server accepted the request but has not decided yet (202): ask again after this long.
struct Pending {
  std::chrono::seconds retry_after;
};

// The longest wait a Retry-After can ask for; longer ones are read as this (a caller adds the
// delay to a clock, whose nanoseconds would overflow past a few hundred years).
inline constexpr std::chrono::seconds kLongestRetryAfter{std::chrono::hours(24) * 3660};

// Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), at most kLongestRetryAfter;
// nullopt if unreadable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// Throws ServerRefused for a status other than 200/202/204, with the server's sentence.
// Returns Pending for 202.
std::optional<Pending> check_status(const http::Response& response, std::string_view operation);

// The DER that an EST body (or multipart part) carries, read liberally because deployed servers
// differ: base64 with or without line breaks (LF or CRLF) or PEM armour, or the DER itself
// (`Content-Transfer-Encoding: binary`), followed by any run of whitespace and NUL bytes. The
// body's shape decides, not its Content-Transfer-Encoding, which RFC 8951 has clients ignore and
// servers get wrong: every EST body is a DER SEQUENCE, whose first byte 0x30 is never the first
// byte of its base64 ('M'), so the two forms cannot be taken for each other. nullopt when the body
// is neither, or holds nothing.
std::optional<std::string> body_der(std::string_view body);

// A 200 response whose media type is `media_type` (parameters and case ignored): the DER its body
// carries (body_der). Throws ClientError naming what was wrong.
std::string decode_body(const http::Response& response, std::string_view media_type,
                        std::string_view operation);

// The certificates of a certs-only PKCS#7 response.
std::vector<crypto::Certificate> decode_certificates(const http::Response& response,
                                                     std::string_view operation);

}  // namespace estfleet::client
