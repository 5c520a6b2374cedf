// Which request framings the server accepts, shared by the transport and the fuzz target that
// stands in for it. Header-only: both users already include Beast's HTTP parser.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <string_view>

namespace estfleet::http::detail {

// What the read buffer may hold beyond the header limit. It bounds what the parser must see whole
// before it can go on: a chunk's size line with its extensions, and a chunked body's trailer.
// Longer ones fail with buffer_overflow (400) instead of growing the buffer without end.
inline constexpr std::size_t kChunkLineAllowance = 4096;

// The status that refuses a request's framing once its header is read, or 0 to go on reading the
// body. Accepted: Content-Length alone, or "Transfer-Encoding: chunked" alone on HTTP/1.1 (Go's
// HTTP client sends bodies of unknown length so); the parser counts a chunked body's decoded
// bytes against the body limit.
inline int framing_refusal(
    const boost::beast::http::request<boost::beast::http::string_body>& request) {
  namespace bhttp = boost::beast::http;
  const auto lengths = request.count(bhttp::field::content_length);
  const auto codings = request.count(bhttp::field::transfer_encoding);
  // Both framings at once is how requests are smuggled past proxies: refuse, do not pick one.
  if (lengths > 1 || (lengths == 1 && codings > 0)) {
    return 400;
  }
  if (codings == 0) {
    return 0;
  }
  // HTTP/1.0 has no transfer codings; RFC 9112 §6.1 makes such a message faulty.
  if (request.version() < 11) {
    return 400;
  }
  std::string_view coding = request[bhttp::field::transfer_encoding];
  while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
    coding.remove_prefix(1);
  }
  while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
    coding.remove_suffix(1);
  }
  // Exactly one field holding exactly "chunked": a second coding (gzip, chunked) would hand the
  // handler a body still encoded, and an unknown one leaves no way to find the body's end
  // (RFC 9112 §6.1: 501 for a coding the server does not understand).
  if (codings == 1 && boost::beast::iequals(coding, "chunked")) {
    return 0;
  }
  return 501;
}

}  // namespace estfleet::http::detail
