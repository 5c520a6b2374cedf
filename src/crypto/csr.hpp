#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::crypto {

// A parsed PKCS#10 certification request. Parsing does not verify the signature:
// call verify_signature() before trusting anything in it.
class CertificateRequest {
 public:
  static CertificateRequest from_der(std::string_view der);  // throws CryptoError
  static CertificateRequest from_pem(std::string_view pem);

  explicit CertificateRequest(X509ReqPtr req);

  bool verify_signature() const;  // self-signature with its own public key

  std::string to_der() const;
  std::string to_pem() const;

  std::string subject_der() const;
  // The CN values of the subject, in order (a well-formed device CSR has exactly one).
  std::vector<std::string> subject_common_names() const;
  std::string subject_text() const;

  // challengePassword attribute as bytes, if present (PrintableString/UTF8String/IA5String).
  std::optional<std::string> challenge_password() const;

  // Requested extensions (from the extensionRequest attribute), in order, as (dotted OID,
  // critical, DER extnValue). Duplicates are preserved so the caller can refuse them.
  struct Extension {
    std::string oid;
    bool critical = false;
    std::string value_der;
  };
  std::vector<Extension> requested_extensions() const;
  std::optional<std::string> subject_alt_name_der() const;  // requested SAN extnValue

  EVP_PKEY* public_key() const;  // owned by the request
  // The SubjectPublicKeyInfo as it came, owned by the request.
  const X509_PUBKEY* public_key_info() const;
  X509_REQ* get() const noexcept { return req_.get(); }

 private:
  X509ReqPtr req_;
};

// Builds and signs a CSR on the device side.
struct CsrSpec {
  std::string common_name;
  std::vector<std::string> subject_alt_names;  // "DNS:x", "IP:1.2.3.4", "URI:..."
  // Re-enrollment copies the renewed certificate's identity exactly (RFC 7030 §4.2.2): when set,
  // these DER values replace common_name / subject_alt_names.
  std::optional<std::string> subject_der;
  std::optional<std::string> subject_alt_name_der;
  std::optional<std::string> challenge_password;  // PoP: base64 of the channel binding
  std::vector<CertificateRequest::Extension> extensions;
};
CertificateRequest build_csr(const CsrSpec& spec, const PrivateKey& key);

// DER of a UTF8String holding `text` (the IoT details extension value).
std::string der_utf8_string(std::string_view text);
// Inverse: the content of a DER UTF8String, nullopt if `der` is not exactly one UTF8String.
std::optional<std::string> parse_der_utf8_string(std::string_view der);

}  // namespace estfleet::crypto
