// The device side of RFC 7030 §4.4 server-side key generation: the request (a CSR that names the
// subject, signed by a throwaway key whose type is the hint) and the multipart/mixed answer, with
// its key as plain PKCS#8 or enveloped (CMS) to the client's decryption key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client/credentials.hpp"
#include "client/est_client.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"
#include "http/message.hpp"

namespace estfleet::client {

struct ServerKeygenRequest {
  std::string common_name;
  std::optional<BasicCredentials> credentials;
  bool pop = false;
  // The CSR is signed with a fresh key of this type, which also tells the server the type wanted
  // (a profile's serverkeygen_key_type overrides it).
  crypto::KeyType key_type_hint = crypto::KeyType::ec_p256;
  std::vector<crypto::CertificateRequest::Extension> extensions;
  // The enveloped form: this certificate and key are the TLS client certificate, and the CSR's
  // AsymmetricDecryptKeyIdentifier names the certificate's subjectKeyIdentifier, so the key part
  // comes back encrypted to it.
  std::optional<crypto::Certificate> decrypt_certificate;
  std::optional<crypto::PrivateKey> decrypt_key;
};

// The parts of a serverkeygen answer, found by media type whatever their order.
struct KeygenParts {
  std::optional<std::string> pkcs8_der;  // application/pkcs8
  std::optional<std::string>
      enveloped_der;  // application/pkcs7-mime; smime-type=server-generated-key
  std::vector<crypto::Certificate> certificates;  // application/pkcs7-mime (certs-only)
};

// Reads a 200 multipart/mixed answer: exactly one key part (either form) and one certificate
// part holding one certificate; other parts are refused, as are missing ones and bodies that
// are neither base64 nor DER (read as body_der does, whatever their Content-Transfer-Encoding).
// Throws ClientError naming what was wrong.
KeygenParts parse_server_keygen_response(const http::Response& response);

// The key out of the parts: the PKCS#8 as it is, or the enveloped key opened with `decrypt_key`
// (and its certificate), its SignedData verified and signed by one of `ca_certificates` (the
// chain cacerts gave on the same connection). With a `decrypt_key` the key must come enveloped:
// a plain PKCS#8 is refused. Throws ClientError.
crypto::PrivateKey open_generated_key(const KeygenParts& parts,
                                      const std::optional<crypto::PrivateKey>& decrypt_key,
                                      const std::optional<crypto::Certificate>& decrypt_certificate,
                                      const std::vector<crypto::Certificate>& ca_certificates);

struct ServerGenerated {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
  std::vector<crypto::Certificate> ca_certificates;
  bool enveloped = false;
};

// /serverkeygen through `client`: the certificate is checked against the key it came with and the
// client's trust anchors (`anchors_pem`) before anything is returned.
ServerGenerated server_keygen(EstClient& client, const ServerKeygenRequest& request,
                              const std::string& anchors_pem);

}  // namespace estfleet::client
