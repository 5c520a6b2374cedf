// RFC 7030 §4.1.1 bootstrap: a /cacerts answer fetched WITHOUT verifying the server becomes a
// trust anchor only through a fingerprint the operator got out of band.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"

namespace estfleet::client {

// "AB:cd:..." or "abcd..." to lower-case hex without separators; nullopt if not 64 hex digits.
std::optional<std::string> normalize_fingerprint(std::string_view text);
// The same, but throws ClientError naming --trust-fingerprint when `text` is not a fingerprint.
std::string require_fingerprint(std::string_view text);

// Whether the EST server's TLS certificate must carry id-kp-cmcRA (crypto::kIdKpCmcRa), the mark
// RFC 7030 §3.6.1 gives an EST server acting as registration authority. est-fleet's server
// certificate carries it and its broker's does not: required, a broker whose key was stolen
// cannot pose as the EST server (same CA, same names). Another vendor's EST server may lack it.
enum class EstServerMark { required, not_required };

// Throws ClientError, naming the certificate and the way out, when `server` lacks id-kp-cmcRA.
void require_est_server_mark(const crypto::Certificate& server);

// Decides whether an unverified /cacerts answer may be trusted. Returns the self-signed root of
// `cacerts` whose SHA-256 fingerprint equals `fingerprint` (any form normalize_fingerprint
// accepts, compared in constant time), after checking that the TLS server certificate seen on
// that connection (`server_chain_der`, leaf first) chains to it, is a TLS server certificate and
// is for `host` (and carries the EST server's mark when `mark` requires it). Throws ClientError
// naming the first thing that was wrong.
crypto::Certificate pinned_root(const std::vector<crypto::Certificate>& cacerts,
                                const std::vector<std::string>& server_chain_der,
                                const std::string& host, std::string_view fingerprint,
                                EstServerMark mark = EstServerMark::required);

}  // namespace estfleet::client
