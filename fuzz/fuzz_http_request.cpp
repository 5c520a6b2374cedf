// The bytes of one HTTP request as the server's transport reads them: Boost.Beast's
// request_parser with the server's own limits (http::ServerOptions: 8 KiB of headers, 64 KiB of
// body), fed in the chunk sizes the first input byte picks, then the framing rules
// server_transport.cpp applies (Content-Length with Transfer-Encoding, or two Content-Lengths:
// 400; a transfer coding other than chunked: 501; see http/framing.hpp), then the conversion to
// http::Request and what est/ reads first: the route and the media type. The parser's errors are
// refusals; anything else escaping is a bug.
// Beast's chunk parser asserts (n >= 5) on re-entry after a final chunk line that arrived alone
// ("0\r\n", then more bytes): a precondition its own read loop does not keep, while the code
// after it reads only within the buffer. The server is built with NDEBUG, which drops the
// assertion; so is the parser here, so that the target fuzzes what the server runs.
#define BOOST_DISABLE_ASSERTS
#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "est/media.hpp"
#include "est/route.hpp"
#include "http/framing.hpp"
#include "http/message.hpp"
#include "http/server.hpp"

namespace bhttp = boost::beast::http;
using namespace estfleet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static const http::ServerOptions options;
  const std::size_t chunk = std::size_t{1} + data[0] % 64;  // 1..64 bytes per read, as TCP may
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
  boost::beast::error_code ec;
  std::string pending;
  bool framing_checked = false;
  while (!parser.is_done()) {
    const std::size_t take = std::min(chunk, rest.size());
    pending.append(rest.substr(0, take));
    rest.remove_prefix(take);
    const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (pending.size() >= options.max_header_bytes + http::detail::kChunkLineAllowance) {
      return 0;  // the server's read buffer is full: 400
    }
    if (ec == bhttp::error::need_more) {
      ec = {};
      if (rest.empty()) {
        // As Beast's own read does: end of stream before any byte is a closed connection, not
        // a partial message (put_eof requires got_some()).
        if (parser.got_some()) {
          parser.put_eof(ec);
        }
        break;
      }
      continue;
    }
    if (ec) {
      return 0;  // 400/413/431 in the server
    }
    if (parser.is_header_done() && !parser.is_done() && !framing_checked) {
      framing_checked = true;
      if (http::detail::framing_refusal(parser.get()) != 0) {
        return 0;  // 400 or 501 in the server
      }
    }
    if (used == 0 && rest.empty()) {
      if (parser.got_some()) {
        parser.put_eof(ec);
      }
      break;
    }
  }
  if (ec || !parser.is_done()) {
    return 0;
  }
  auto message = parser.release();
  http::Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  if (const auto route = est::parse_route(request.target)) {
    (void)est::operation_method(route->operation);
  }
  if (const auto type = request.header("Content-Type")) {
    (void)est::media_type_of(*type);
  }
  (void)est::decode_body(request.body);
  return 0;
}
