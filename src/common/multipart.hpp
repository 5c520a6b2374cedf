// multipart/mixed bodies (RFC 2046 §5.1), as EST's serverkeygen answers (RFC 7030 §4.4.2): a
// builder for the server and a tolerant parser for the client.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace estfleet::common {

// A body part: its headers as written and its body (without the CRLF before the next boundary).
struct MimePart {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first value of header `name`, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

// The body is not a well-formed multipart body; what() names what was wrong.
class MultipartError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Joins `parts` with `boundary` using CRLF line ends: "--b" CRLF headers CRLF body CRLF ...
// "--b--" CRLF. Throws MultipartError if the boundary is not 1-70 characters of RFC 2046's
// bchars (without a trailing space) or occurs in a part's body.
std::string build_multipart(const std::vector<MimePart>& parts, std::string_view boundary);

// A fresh boundary: "est-fleet-" and 32 random hex digits.
std::string random_boundary();

// The boundary parameter of a multipart Content-Type value (quoted or not), or nullopt when
// there is none.
std::optional<std::string> boundary_parameter(std::string_view content_type);

// The media type of a Content-Type value: what precedes its parameters, trimmed, lower-cased
// ("Application/PKCS7-MIME; smime-type=certs-only" gives "application/pkcs7-mime").
std::string media_type(std::string_view content_type);

// The value of parameter `name` (case-insensitive) in a Content-Type value, unquoted, or nullopt.
std::optional<std::string> media_parameter(std::string_view content_type, std::string_view name);

// Splits a multipart body: preamble and epilogue are ignored, lines may end in CRLF or LF,
// whitespace after a boundary (transport padding) is allowed, folded header lines are joined.
// Throws MultipartError when the first boundary or the closing one is missing, or a part's header
// line has no colon.
std::vector<MimePart> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace estfleet::common
