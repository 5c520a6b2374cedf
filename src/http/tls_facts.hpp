// What a TLS connection can tell about itself, read from OpenSSL after the handshake. Shared by the
// server and client transports so that both sides compute the channel binding identically.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace estfleet::http {

enum class Side { client, server };

// tls-unique (RFC 5929 §3.1: the first Finished message of the latest handshake) on TLS 1.2 with
// the extended master secret, tls-exporter (RFC 9266) on TLS 1.3. Empty if neither is available.
std::string channel_binding(SSL* ssl, Side side);
// Why channel_binding() is empty on this connection, in one sentence; empty when it is not.
std::string no_channel_binding_reason(SSL* ssl);

// DER of the certificates the peer presented, leaf first. Throws crypto::CryptoError if OpenSSL
// cannot encode one (it parsed them, so only when out of memory).
std::vector<std::string> peer_chain_der(SSL* ssl);

// One sentence about why verification failed, or OpenSSL's reason for another failure.
std::string handshake_failure_reason(SSL* ssl, const std::string& fallback);

}  // namespace estfleet::http
