#include "client/est_client.hpp"

#include <thread>

#include "client/errors.hpp"
#include "client/renew_schedule.hpp"
#include "client/responses.hpp"
#include "crypto/csr.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::client {
namespace {

// The issued certificate must be for our key and chain to our anchors through what cacerts says.
void check_issued(const crypto::Certificate& cert, const crypto::PrivateKey& key,
                  const std::string& anchors_pem, const std::vector<crypto::Certificate>& chain) {
  if (!cert.matches_private_key(key.get())) {
    throw ClientError("the issued certificate does not match the private key it was requested for");
  }
  const crypto::TrustStore trust(crypto::Certificate::chain_from_pem(anchors_pem));
  if (auto problem = trust.verify(cert, chain)) {
    throw ClientError("the issued certificate does not chain to the trust anchor: " + *problem);
  }
}

}  // namespace

std::string pop_challenge_password(const std::string& channel_binding) {
  if (channel_binding.empty()) {
    throw ClientError(
        "proof of possession was asked for, but this TLS connection has no channel binding (TLS "
        "1.2 without the extended master secret); nothing was sent");
  }
  return crypto::base64_encode(channel_binding);
}

std::optional<std::string> subject_with_template(
    const std::string& common_name,
    const std::vector<std::pair<std::string, std::string>>& fixed_subject) {
  if (fixed_subject.empty()) {
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> rdns{{"CN", common_name}};
  rdns.insert(rdns.end(), fixed_subject.begin(), fixed_subject.end());
  return crypto::name_der(rdns);
}

namespace {

// The EST server's mark (bootstrap.hpp) on the certificate this connection's server presented.
void check_server_mark(const http::Connection& connection, EstServerMark mark) {
  if (mark == EstServerMark::not_required) {
    return;
  }
  const auto chain = connection.server_chain_der();
  if (chain.empty()) {
    throw ClientError("the server presented no TLS certificate");
  }
  require_est_server_mark(crypto::Certificate::from_der(chain.front()));
}

}  // namespace

EstClient::EstClient(EstClientOptions options)
    : options_(std::move(options)), url_(http::parse_url(options_.server_url)) {}

std::string EstClient::path(std::string_view operation) const {
  return est_path(url_.path_prefix, options_.label, operation);
}

http::Connection EstClient::connect(const std::string& client_cert_pem,
                                    const std::string& client_key_pem) const {
  http::ClientOptions tls;
  tls.host = url_.host;
  tls.port = url_.port;
  tls.trust_anchors_pem = options_.trust_anchors_pem;
  tls.client_certificate_pem = client_cert_pem;
  tls.client_private_key_pem = client_key_pem;
  tls.timeout = options_.timeout;
  try {
    auto connection = http::Connection::open(tls);
    // Before anything is sent: no password or CSR reaches a server that is not the EST server.
    check_server_mark(connection, options_.server_mark);
    return connection;
  } catch (const http::TransportError& e) {
    throw ClientError(e.what());
  }
}

std::vector<crypto::Certificate> EstClient::cacerts() {
  auto connection = connect();
  const auto response = connection.send({"GET", path("cacerts"), {}, {}});
  check_status(response, "cacerts");
  return decode_certificates(response, "cacerts");
}

PinnedCacerts EstClient::bootstrap_cacerts(const EstClientOptions& options,
                                           const std::string& fingerprint_hex) {
  require_fingerprint(fingerprint_hex);  // before any connection is made
  const auto url = http::parse_url(options.server_url);
  http::ClientOptions tls;
  tls.host = url.host;
  tls.port = url.port;
  tls.timeout = options.timeout;
  tls.verify_server = false;  // nothing is trusted until pinned_root() says so
  try {
    auto connection = http::Connection::open(tls);
    check_server_mark(connection, options.server_mark);
    const auto response =
        connection.send({"GET", est_path(url.path_prefix, options.label, "cacerts"), {}, {}});
    check_status(response, "cacerts");
    auto chain = decode_certificates(response, "cacerts");
    auto root = pinned_root(chain, connection.server_chain_der(), url.host, fingerprint_hex,
                            options.server_mark);
    return {std::move(chain), std::move(root)};
  } catch (const http::TransportError& e) {
    throw ClientError(e.what());
  }
}

std::string EstClient::csrattrs() {
  auto connection = connect();
  const auto response = connection.send({"GET", path("csrattrs"), {}, {}});
  check_status(response, "csrattrs");
  if (response.status == 204 || response.body.empty()) {
    return {};
  }
  return decode_body(response, "application/csrattrs", "csrattrs");
}

CsrAnswer EstClient::post_csr(
    std::string_view operation,
    const std::function<crypto::CertificateRequest(const std::string&)>& make_csr,
    const http::HeaderList& headers, const std::string& client_cert_pem,
    const std::string& client_key_pem, std::optional<crypto::TimePoint> renewing_until) {
  const auto give_up_at = std::chrono::steady_clock::now() + options_.max_pending_wait;
  while (true) {
    auto connection = connect(client_cert_pem, client_key_pem);
    // The CSR is built per connection: with PoP it carries this connection's channel binding.
    const auto csr = make_csr(connection.channel_binding());
    http::HeaderList request_headers = headers;
    request_headers.emplace_back("Content-Type", "application/pkcs10");
    auto response = connection.send(
        {"POST", path(operation), request_headers, crypto::base64_encode(csr.to_der())});
    if (const auto pending = check_status(response, operation)) {
      const auto wait = std::chrono::ceil<std::chrono::seconds>(
          pending_wait(pending->retry_after, std::chrono::system_clock::now(), renewing_until));
      // ">=" so that no patience at all never asks twice.
      if (std::chrono::steady_clock::now() + wait >= give_up_at) {
        throw StillPending(wait, "the server kept the request pending longer than " +
                                     std::to_string(options_.max_pending_wait.count()) + " s");
      }
      if (options_.on_pending) {
        options_.on_pending(wait);
      }
      std::this_thread::sleep_for(wait);
      continue;
    }
    // The chain comes over the same connection, so it is what this server vouches for.
    const auto chain_response = connection.send({"GET", path("cacerts"), {}, {}});
    check_status(chain_response, "cacerts");
    return {std::move(response), decode_certificates(chain_response, "cacerts")};
  }
}

Issued EstClient::request_certificate(
    std::string_view operation, const crypto::PrivateKey& key,
    const std::function<crypto::CsrSpec(const std::string&)>& make_spec,
    const http::HeaderList& headers, const std::string& client_cert_pem,
    const std::string& client_key_pem, std::optional<crypto::TimePoint> renewing_until) {
  auto answer = post_csr(
      operation,
      [&](const std::string& binding) { return crypto::build_csr(make_spec(binding), key); },
      headers, client_cert_pem, client_key_pem, renewing_until);
  auto certs = decode_certificates(answer.response, operation);
  if (certs.size() != 1) {
    throw ClientError("the " + std::string(operation) + " response holds " +
                      std::to_string(certs.size()) + " certificates, expected exactly one");
  }
  check_issued(certs.front(), key, options_.trust_anchors_pem, answer.ca_certificates);
  return {certs.front(), std::move(answer.ca_certificates)};
}

crypto::Certificate EstClient::enroll(const crypto::PrivateKey& key, const std::string& common_name,
                                      const std::optional<BasicCredentials>& credentials,
                                      bool pop) {
  return enroll(key, EnrollRequest{common_name, credentials, pop, {}}).certificate;
}

Issued EstClient::enroll(const crypto::PrivateKey& key, const EnrollRequest& request) {
  http::HeaderList headers;
  if (request.credentials) {
    headers.emplace_back("Authorization",
                         "Basic " + crypto::base64_encode(request.credentials->user + ":" +
                                                          request.credentials->password));
  }
  return request_certificate(
      "simpleenroll", key,
      [&](const std::string& binding) {
        crypto::CsrSpec spec;
        spec.common_name = request.common_name;
        spec.subject_der = request.subject_der;
        spec.extensions = request.extensions;
        if (request.pop) {
          spec.challenge_password = pop_challenge_password(binding);
        }
        return spec;
      },
      headers, {}, {}, std::nullopt);
}

crypto::Certificate EstClient::reenroll(const crypto::Certificate& current,
                                        const crypto::PrivateKey& current_key,
                                        const crypto::PrivateKey& new_key, bool pop) {
  return reenroll(current, current_key, new_key, ReenrollRequest{{}, pop, {}}).certificate;
}

Issued EstClient::reenroll(const crypto::Certificate& current,
                           const crypto::PrivateKey& current_key, const crypto::PrivateKey& new_key,
                           const ReenrollRequest& request) {
  if (!current.matches_private_key(current_key.get())) {
    throw ClientError("the current certificate does not match the current key");
  }
  return request_certificate(
      "simplereenroll", new_key,
      [&](const std::string& binding) {
        crypto::CsrSpec spec;
        spec.subject_der = current.subject_der();
        spec.subject_alt_name_der = current.subject_alt_name_der();
        spec.extensions = request.extensions;
        if (request.pop) {
          spec.challenge_password = pop_challenge_password(binding);
        }
        return spec;
      },
      {}, request.client_chain_pem.empty() ? current.to_pem() : request.client_chain_pem,
      current_key.to_pem(), current.not_after());
}

}  // namespace estfleet::client
