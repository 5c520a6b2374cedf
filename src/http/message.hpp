// Transport-neutral HTTP messages. The protocol layer (est/) consumes and produces these; only
// http/*_session.cpp knows Boost.Beast.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace estfleet::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The first value of header `name` (case-insensitive), or nullopt. Inline so that est/ can use
// these types without linking the transport.
inline std::optional<std::string_view> find_header(const HeaderList& headers,
                                                   std::string_view name) {
  const auto same = [name](const std::string& candidate) {
    return candidate.size() == name.size() &&
           std::equal(candidate.begin(), candidate.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  for (const auto& [key, value] : headers) {
    if (same(key)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

// The path of an origin-form request target: what precedes the query.
inline std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

struct Request {
  std::string method;  // "GET", "POST", ... as received
  std::string target;  // origin-form: path plus optional "?query"
  HeaderList headers;
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

struct Response {
  int status = 200;
  HeaderList headers;  // Content-Length is set by the transport, never here
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// What the TLS layer knows about the peer of one connection.
struct TlsPeer {
  std::string remote_address;  // "127.0.0.1" / "::1"
  std::uint16_t remote_port = 0;
  int tls_version = 0;  // TLS1_2_VERSION or TLS1_3_VERSION
  // tls-unique (TLS 1.2: the first Finished message) or tls-exporter (TLS 1.3, RFC 9266:
  // 32 bytes exported with label "EXPORTER-Channel-Binding" and an empty context). Raw bytes.
  std::string channel_binding;
  // Why channel_binding is empty, when the connection has a reason (TLS 1.2 without the extended
  // master secret); for the refusal's sentence.
  std::string no_channel_binding_reason;
  // DER of the certificates the client presented, leaf first; empty when it presented none.
  // The transport does not judge them: est/ verifies them against the right trust store.
  std::vector<std::string> peer_chain_der;
};

// Handles one request; must not throw (map failures to a 5xx response).
using Handler = std::function<Response(const Request&, const TlsPeer&)>;

}  // namespace estfleet::http
