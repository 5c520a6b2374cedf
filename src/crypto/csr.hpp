#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::crypto {

// A PKCS#10 certification request: parsed from DER or PEM, or built here (build_csr). Parsing
// does not verify the signature: call verify_signature() before trusting anything in it.
//
// A parsed request is not an OpenSSL X509_REQ: d2i_X509_REQ decodes the public key through an
// OSSL_DECODER, whose set-up costs OpenSSL 3.0 more than verifying the signature. The request is
// read with an ASN.1 template of the same structure that keeps the SubjectPublicKeyInfo as it
// came, and the key is built from it: EC P-256/P-384 and Ed25519 keys directly from their bits
// (EVP_PKEY_fromdata, which checks that an EC point is on its curve); other keys (RSA, other
// curves, explicit parameters) through OpenSSL's decoder, as before.
class CertificateRequest {
 public:
  static CertificateRequest from_der(std::string_view der);  // throws CryptoError
  static CertificateRequest from_pem(std::string_view pem);

  explicit CertificateRequest(X509ReqPtr req);
  CertificateRequest(CertificateRequest&&) noexcept;
  CertificateRequest& operator=(CertificateRequest&&) noexcept;
  ~CertificateRequest();

  bool verify_signature() const;  // self-signature with its own public key

  std::string to_der() const;
  std::string to_pem() const;

  long version() const;  // the version field's value (0 for PKCS#10 v1); -1 if unrepresentable
  const X509_NAME* subject_name() const;  // owned by the request
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

  // The request's attributes: the index of the next one of `type` after `after` (-1: from the
  // start), or -1; and the attribute at an index.
  int find_attribute(const ASN1_OBJECT* type, int after = -1) const;
  const X509_ATTRIBUTE* attribute(int index) const;

  // Null when the key cannot be read (an unsupported algorithm or damaged key bits): that is for
  // the caller to refuse, as OpenSSL's own parser leaves it.
  EVP_PKEY* public_key() const;  // owned by the request
  // The SubjectPublicKeyInfo as it came (algorithm and key bits; it holds no decoded key), owned
  // by the request.
  const X509_PUBKEY* public_key_info() const;

  // The request as an X509_REQ, to add to and sign again. A parsed request is parsed once more
  // by OpenSSL for that (d2i_X509_REQ, its key through a decoder) and from then on is one.
  X509_REQ* mutable_request();

 private:
  struct Parsed;  // a parsed request's DER, fields and key (csr.cpp)
  explicit CertificateRequest(std::unique_ptr<Parsed> parsed);

  X509ReqPtr req_;                  // a request built here
  std::unique_ptr<Parsed> parsed_;  // or a parsed one
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
