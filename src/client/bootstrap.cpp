#include "client/bootstrap.hpp"

#include <openssl/x509v3.h>

#include <cctype>

#include "client/errors.hpp"
#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"

namespace estfleet::client {
namespace {

bool is_self_signed_ca(const crypto::Certificate& cert) {
  return cert.is_ca() && cert.subject_der() == cert.issuer_der();
}

// What TLS verification would have checked had it been on: purpose and name.
void check_server_identity(const crypto::Certificate& server, const std::string& host) {
  // Without the serverAuth check any device certificate from the same CA could stand in.
  if (X509_check_purpose(server.get(), X509_PURPOSE_SSL_SERVER, 0) != 1) {
    throw ClientError("the server's TLS certificate is not a TLS server certificate");
  }
  const int ip = X509_check_ip_asc(server.get(), host.c_str(), 0);
  const bool matches = ip == 1 || (ip < 0 && X509_check_host(server.get(), host.data(), host.size(),
                                                             0, nullptr) == 1);
  if (!matches) {
    throw ClientError("the server's TLS certificate is not for " + host);
  }
}

}  // namespace

void require_est_server_mark(const crypto::Certificate& server) {
  if (!server.has_extended_key_usage(crypto::kIdKpCmcRa)) {
    throw ClientError("the server's TLS certificate (" + server.subject_text() +
                      ") lacks id-kp-cmcRA, the extended key usage that marks an EST server "
                      "(RFC 7030 §3.6.1), so it may be another service's, such as the MQTT "
                      "broker's: nothing was sent (an EST server whose certificate has no such "
                      "mark needs --no-ra-check)");
  }
}

std::optional<std::string> normalize_fingerprint(std::string_view text) {
  std::string hex;
  for (const char c : text) {
    if (c == ':' || c == ' ') {
      continue;
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64 || !crypto::hex_decode(hex)) {
    return std::nullopt;
  }
  return hex;
}

std::string require_fingerprint(std::string_view text) {
  auto hex = normalize_fingerprint(text);
  if (!hex) {
    throw ClientError("--trust-fingerprint must be 64 hex digits (a SHA-256 fingerprint)");
  }
  return *hex;
}

crypto::Certificate pinned_root(const std::vector<crypto::Certificate>& cacerts,
                                const std::vector<std::string>& server_chain_der,
                                const std::string& host, std::string_view fingerprint,
                                EstServerMark mark) {
  const auto expected = require_fingerprint(fingerprint);
  const crypto::Certificate* root = nullptr;
  std::string seen;
  for (const auto& cert : cacerts) {
    if (!is_self_signed_ca(cert)) {
      continue;
    }
    const auto actual = cert.sha256_fingerprint();
    if (crypto::constant_time_equal(actual, expected)) {
      root = &cert;
      break;
    }
    seen += (seen.empty() ? "" : ", ") + actual;
  }
  if (root == nullptr) {
    throw ClientError(seen.empty()
                          ? "the cacerts response holds no self-signed root certificate"
                          : "the server's root CA fingerprint " + seen +
                                " does not match --trust-fingerprint; nothing was trusted");
  }
  if (server_chain_der.empty()) {
    throw ClientError("the server presented no TLS certificate");
  }
  try {
    const auto server = crypto::Certificate::from_der(server_chain_der.front());
    std::vector<crypto::Certificate> intermediates = cacerts;
    for (std::size_t i = 1; i < server_chain_der.size(); ++i) {
      intermediates.push_back(crypto::Certificate::from_der(server_chain_der[i]));
    }
    if (auto problem = crypto::TrustStore({*root}).verify(server, intermediates)) {
      throw ClientError("the server's TLS certificate does not chain to the fingerprinted root: " +
                        *problem);
    }
    check_server_identity(server, host);
    if (mark == EstServerMark::required) {
      require_est_server_mark(server);
    }
  } catch (const crypto::CryptoError& e) {
    throw ClientError(std::string("the server's TLS certificate chain is unreadable: ") + e.what());
  }
  return *root;
}

}  // namespace estfleet::client
