// The device side of RFC 7030: fetch the CA certificates, enroll, re-enroll. Every issued
// certificate is checked against the key it was requested for and the trust anchors before it
// is handed back.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/bootstrap.hpp"
#include "client/credentials.hpp"
#include "client/est_paths.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"
#include "http/client.hpp"

namespace estfleet::client {

struct EstClientOptions {
  std::string server_url;  // https://host[:port][/prefix]
  std::string label;       // EST label; empty for the default profile
  std::string trust_anchors_pem;
  std::chrono::milliseconds timeout{30'000};
  std::chrono::seconds max_pending_wait{600};  // total patience for 202 + Retry-After
  // Whether the server's certificate must carry id-kp-cmcRA (bootstrap.hpp).
  EstServerMark server_mark = EstServerMark::required;
  // Told each time the server answers 202, before waiting.
  std::function<void(std::chrono::seconds)> on_pending;
};

// One initial enrollment: who asks, how it authenticates, and what else the CSR carries.
struct EnrollRequest {
  std::string common_name;
  std::optional<BasicCredentials> credentials;
  bool pop = false;  // the CSR carries this connection's channel binding
  // Added to the CSR's extensionRequest, e.g. the signed IoT details of a device.
  std::vector<crypto::CertificateRequest::Extension> extensions;
  // The whole subject (DER Name) when the server's csrattrs fix attributes beside the CN
  // (subject_with_template); else the subject is CN = common_name.
  std::optional<std::string> subject_der = std::nullopt;
};

// The challengePassword of a proof-of-possession CSR: base64 of the connection's channel binding.
// Throws ClientError when the connection has none (TLS 1.2 without the extended master secret):
// an empty password would only be refused by the server.
std::string pop_challenge_password(const std::string& channel_binding);

// CN = `common_name` followed by the (dotted OID, value) attributes a csrattrs template fixes;
// nullopt when there are none (the subject is then the CN alone).
std::optional<std::string> subject_with_template(
    const std::string& common_name,
    const std::vector<std::pair<std::string, std::string>>& fixed_subject);

// One renewal: how the client authenticates and what else the CSR carries.
struct ReenrollRequest {
  // The TLS client certificate chain to present (the current certificate first); empty means the
  // current certificate alone.
  std::string client_chain_pem;
  bool pop = false;
  // Added to the CSR's extensionRequest next to the copied subject and SAN, e.g. the device's
  // IoT details.
  std::vector<crypto::CertificateRequest::Extension> extensions;
};

// An issued certificate, checked, with the CA certificates the same server sent on the same
// connection (issuing CA first), from which a device can build its chain.
struct Issued {
  crypto::Certificate certificate;
  std::vector<crypto::Certificate> ca_certificates;
};

// A 200 answer to a POSTed CSR, with the CA certificates the server sent on the same connection.
struct CsrAnswer {
  http::Response response;
  std::vector<crypto::Certificate> ca_certificates;
};

// A /cacerts answer trusted through a fingerprint, and the root the fingerprint named.
struct PinnedCacerts {
  std::vector<crypto::Certificate> chain;  // the whole answer, as the server sent it
  crypto::Certificate root;
};

class EstClient {
 public:
  explicit EstClient(EstClientOptions options);

  // /cacerts over a verified connection: the chain, issuing CA first as the server sends it.
  std::vector<crypto::Certificate> cacerts();

  // RFC 7030 §4.1.1 bootstrap: fetches /cacerts WITHOUT verifying the server, then trusts the
  // answer only if its self-signed root has the SHA-256 fingerprint `fingerprint_hex` (colons and
  // case ignored) and the TLS server certificate chains to it (and carries the mark
  // `options.server_mark` asks for). Throws ClientError otherwise. `options` gives the server,
  // label, timeout and mark; its trust anchors are not used.
  static PinnedCacerts bootstrap_cacerts(const EstClientOptions& options,
                                         const std::string& fingerprint_hex);

  // /csrattrs: the DER CsrAttrs, empty when the server has none (204).
  std::string csrattrs();

  // /simpleenroll for `common_name` with `key`, authenticated by Basic credentials (if any);
  // with `pop`, the CSR carries this connection's channel binding.
  crypto::Certificate enroll(const crypto::PrivateKey& key, const std::string& common_name,
                             const std::optional<BasicCredentials>& credentials, bool pop);
  // The same for a full request. A 202 that would need waiting past max_pending_wait throws
  // StillPending.
  Issued enroll(const crypto::PrivateKey& key, const EnrollRequest& request);

  // /simplereenroll over mTLS with the current certificate and key, for `new_key` (which may be
  // the current key). The CSR copies the current subject and SAN exactly (RFC 7030 §4.2.2).
  crypto::Certificate reenroll(const crypto::Certificate& current,
                               const crypto::PrivateKey& current_key,
                               const crypto::PrivateKey& new_key, bool pop);
  // The same for a full request, with the CA certificates the server sent. A 202 that would need
  // waiting past max_pending_wait throws StillPending.
  Issued reenroll(const crypto::Certificate& current, const crypto::PrivateKey& current_key,
                  const crypto::PrivateKey& new_key, const ReenrollRequest& request);

  // POSTs the CSR that `make_csr` builds for each connection (it gets the channel binding) to
  // `operation`, waiting out 202s as enroll does, and returns the 200 answer with /cacerts fetched
  // on the same connection. Each wait is the Retry-After bounded by pending_wait, with
  // `renewing_until` the notAfter of the certificate being renewed (none for an enrollment).
  // Throws ServerRefused, StillPending (with the bounded wait) or ClientError.
  CsrAnswer post_csr(
      std::string_view operation,
      const std::function<crypto::CertificateRequest(const std::string& binding)>& make_csr,
      const http::HeaderList& headers, const std::string& client_cert_pem,
      const std::string& client_key_pem,
      std::optional<crypto::TimePoint> renewing_until = std::nullopt);

 private:
  http::Connection connect(const std::string& client_cert_pem = {},
                           const std::string& client_key_pem = {}) const;
  std::string path(std::string_view operation) const;
  Issued request_certificate(
      std::string_view operation, const crypto::PrivateKey& key,
      const std::function<crypto::CsrSpec(const std::string& binding)>& make_spec,
      const http::HeaderList& headers, const std::string& client_cert_pem,
      const std::string& client_key_pem, std::optional<crypto::TimePoint> renewing_until);

  EstClientOptions options_;
  http::Url url_;
};

}  // namespace estfleet::client
