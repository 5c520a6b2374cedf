#include "http/tls_facts.hpp"

#include <openssl/x509.h>

#include <array>

#include "crypto/der.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::http {

std::string channel_binding(SSL* ssl, Side side) {
  if (SSL_version(ssl) >= TLS1_3_VERSION) {
    static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
    std::string out(32, '\0');
    if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                   kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1) {
      return {};
    }
    return out;
  }
  // tls-unique is a sound binding only with the extended master secret (RFC 7627 §5.4, RFC 9266
  // §1): without it a man in the middle can make two connections share a Finished message.
  if (SSL_get_extms_support(ssl) != 1) {
    return {};
  }
  // In a full handshake the client's Finished comes first; on resumption the server's does.
  const bool first_is_ours = (side == Side::client) != (SSL_session_reused(ssl) == 1);
  std::array<unsigned char, 64> finished{};
  const std::size_t length = first_is_ours
                                 ? SSL_get_finished(ssl, finished.data(), finished.size())
                                 : SSL_get_peer_finished(ssl, finished.data(), finished.size());
  return std::string(reinterpret_cast<const char*>(finished.data()),
                     std::min(length, finished.size()));
}

std::string no_channel_binding_reason(SSL* ssl) {
  if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1) {
    return "this TLS 1.2 connection did not negotiate the extended master secret (RFC 7627), "
           "without which tls-unique is not a sound channel binding; use TLS 1.3, or a client "
           "that offers extended master secret";
  }
  return {};
}

std::vector<std::string> peer_chain_der(SSL* ssl) {
  std::vector<std::string> chain;
  const crypto::X509Ptr leaf(SSL_get1_peer_certificate(ssl));
  if (!leaf) {
    return chain;
  }
  chain.push_back(crypto::encode_der(leaf.get(), i2d_X509, "the peer certificate"));
  // The server-side stack leaves out the leaf, the client-side one includes it: skip duplicates.
  if (STACK_OF(X509)* rest = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(rest); ++i) {
      X509* cert = sk_X509_value(rest, i);
      if (X509_cmp(cert, leaf.get()) != 0) {
        chain.push_back(crypto::encode_der(cert, i2d_X509, "a peer chain certificate"));
      }
    }
  }
  return chain;
}

std::string handshake_failure_reason(SSL* ssl, const std::string& fallback) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  return fallback;
}

}  // namespace estfleet::http
