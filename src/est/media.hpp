// EST media types and body encodings (RFC 7030 §4, RFC 8951).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace estfleet::est {

inline constexpr std::string_view kPkcs10 = "application/pkcs10";
inline constexpr std::string_view kPkcs7Mime = "application/pkcs7-mime";
inline constexpr std::string_view kCertsOnly = "application/pkcs7-mime; smime-type=certs-only";
inline constexpr std::string_view kCsrAttrs = "application/csrattrs";

// The media type of a Content-Type value: lower-cased type/subtype without parameters.
std::string media_type_of(std::string_view content_type);

// Decodes an EST request body to DER: PEM armour, whitespace and CRLF are tolerated; the
// Content-Transfer-Encoding header is ignored as RFC 8951 requires (the body is always base64).
// nullopt when the body is not base64.
std::optional<std::string> decode_body(std::string_view body);

// A 200 response carrying `der` as base64 on one line, nothing before or after it, with
// Content-Transfer-Encoding: base64 (RFC 8951 §3.2).
http::Response base64_response(std::string_view content_type, std::string_view der);

// An error response: text/plain, one sentence plus a newline.
http::Response error_response(int status, std::string_view sentence);

}  // namespace estfleet::est
