// RFC 6960 OCSP messages over OpenSSL 3's OCSP API: reading requests, building and signing basic
// responses, the unsuccessful responses, and (for tests and tools) building requests and reading
// responses back. Which status to give is the caller's business.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/crl.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::crypto {

// OCSPResponseStatus (RFC 6960 §4.2.1); 4 is unused.
enum class OcspResponseStatus : int {
  successful = 0,
  malformed_request = 1,
  internal_error = 2,
  try_later = 3,
  sig_required = 5,
  unauthorized = 6,
};

enum class OcspCertState { good, revoked, unknown };

struct OcspCertStatus {
  OcspCertState state = OcspCertState::unknown;
  TimePoint revoked_at{};           // revoked only
  std::optional<CrlReason> reason;  // revoked only; nullopt: no revocationReason
};

// A parsed OCSPRequest: one or more CertIDs and maybe a nonce. Request signatures are not
// checked (this responder serves anyone, as RFC 5019 responders do).
class OcspRequest {
 public:
  // Throws CryptoError when `der` is not exactly one DER OCSPRequest, or it names no certificate.
  static OcspRequest from_der(std::string_view der);
  // How many CertIDs the DER OCSPRequest `der` names, counted from its layout without decoding
  // it: decoding allocates every CertID first, and a 64 KiB body holds about 800. nullopt when
  // `der` is not laid out as a DER OCSPRequest (from_der then says it is none).
  static std::optional<std::size_t> count_in(std::string_view der);

  int count() const;
  std::string serial_hex(int index) const;
  // Whether CertID `index` names `issuer`: same issuerNameHash and issuerKeyHash under the hash
  // algorithm the request chose. False for a hash algorithm OpenSSL does not know.
  bool names_issuer(int index, const Certificate& issuer) const;
  const OCSP_CERTID* cert_id(int index) const;
  std::optional<std::string> nonce() const;  // the nonce extension's value, raw
  OCSP_REQUEST* get() const noexcept { return request_.get(); }

 private:
  explicit OcspRequest(OcspRequestPtr request) : request_(std::move(request)) {}
  OcspRequestPtr request_;
};

// Collects SingleResponses, then signs them into a successful OCSPResponse.
class OcspResponseBuilder {
 public:
  OcspResponseBuilder();

  void add(const OCSP_CERTID* id, const OcspCertStatus& status, TimePoint this_update,
           TimePoint next_update);
  // Copies the request's nonce, when it has one, into the response (RFC 8954).
  void copy_nonce(const OcspRequest& request);
  // Signs with the responder's key, ResponderID byKey, the responder certificate and
  // `extra_certs` (its issuer, so relying parties can build the chain) included. Returns the DER
  // OCSPResponse. producedAt is OpenSSL's own clock: OCSP_basic_sign sets it and offers no way to
  // choose it; thisUpdate and nextUpdate are the caller's.
  std::string sign(const Certificate& responder, const EVP_PKEY* responder_key,
                   const std::vector<Certificate>& extra_certs);

 private:
  OcspBasicResponsePtr basic_;
};

// An OCSPResponse that carries no responseBytes (every status but successful).
std::string ocsp_error_response(OcspResponseStatus status);

// Client side, for tests and tools: a SHA-1 CertID request for `cert`, with a nonce if given.
std::string build_ocsp_request(const Certificate& cert, const Certificate& issuer,
                               const std::optional<std::string>& nonce);
// The same with one CertID per certificate of `certs`, in their order, all under `issuer`.
std::string build_ocsp_request(const std::vector<Certificate>& certs, const Certificate& issuer,
                               const std::optional<std::string>& nonce);

struct OcspSingleResponse {
  std::string serial_hex;
  OcspCertStatus status;
  TimePoint this_update;
  std::optional<TimePoint> next_update;
};

// A parsed OCSPResponse.
class OcspResponse {
 public:
  static OcspResponse from_der(std::string_view der);  // throws CryptoError

  OcspResponseStatus status() const;
  // The SingleResponses (empty unless successful).
  std::vector<OcspSingleResponse> responses() const;
  std::optional<std::string> nonce() const;
  std::vector<Certificate> certificates() const;  // the certs field of the basic response
  // nullopt when the signature verifies, the signer chains to `trusted` (with the response's own
  // certs as untrusted helpers) at time `at` (now when empty) and is authorised to sign (the CA
  // itself or a delegated id-kp-OCSPSigning certificate it issued); else OpenSSL's reason.
  std::optional<std::string> verify(const std::vector<Certificate>& trusted,
                                    std::optional<TimePoint> at = std::nullopt) const;

 private:
  OcspResponse(OcspResponsePtr response, OcspBasicResponsePtr basic)
      : response_(std::move(response)), basic_(std::move(basic)) {}
  OcspResponsePtr response_;
  OcspBasicResponsePtr basic_;  // null unless successful
};

}  // namespace estfleet::crypto
