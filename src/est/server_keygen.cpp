#include "est/server_keygen.hpp"

#include "common/multipart.hpp"
#include "crypto/cms.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"
#include "crypto/pkcs7.hpp"
#include "crypto/server_key.hpp"
#include "est/media.hpp"
#include "est/refusal.hpp"

namespace estfleet::est {
namespace {

common::MimePart base64_part(std::string_view content_type, std::string_view der) {
  common::MimePart part;
  part.headers = {{"Content-Type", std::string(content_type)},
                  {"Content-Transfer-Encoding", "base64"}};
  part.body = crypto::base64_encode(der);  // one line, as every EST body (media.hpp)
  return part;
}

std::optional<std::string> attribute(const crypto::CertificateRequest& csr, const char* oid,
                                     const char* name) {
  try {
    return crypto::key_identifier_attribute(csr, oid);
  } catch (const crypto::CryptoError& e) {
    throw Refusal(400, std::string("the CSR's ") + name + " attribute is malformed: " + e.what());
  }
}

}  // namespace

KeyDelivery plan_key_delivery(const crypto::CertificateRequest& csr, const http::TlsPeer& peer) {
  if (attribute(csr, crypto::kDecryptKeyIdentifierOid, "DecryptKeyIdentifier")) {
    throw Refusal(501,
                  "the CSR asks for the key encrypted under a symmetric key "
                  "(DecryptKeyIdentifier), and this server shares no symmetric keys with clients; "
                  "use AsymmetricDecryptKeyIdentifier or none");
  }
  const auto key_id =
      attribute(csr, crypto::kAsymmetricDecryptKeyIdentifierOid, "AsymmetricDecryptKeyIdentifier");
  if (!key_id) {
    return {};
  }
  if (peer.peer_chain_der.empty()) {
    throw Refusal(400,
                  "the CSR's AsymmetricDecryptKeyIdentifier must name the TLS client certificate, "
                  "and the connection presented none");
  }
  std::optional<crypto::Certificate> leaf;
  try {
    leaf.emplace(crypto::Certificate::from_der(peer.peer_chain_der.front()));
  } catch (const crypto::CryptoError&) {
    throw Refusal(400, "the TLS client certificate cannot be parsed");
  }
  const auto ski = crypto::subject_key_identifier(*leaf);
  if (!ski) {
    throw Refusal(400,
                  "the TLS client certificate has no subjectKeyIdentifier, so the CSR's "
                  "AsymmetricDecryptKeyIdentifier cannot name it");
  }
  if (*ski != *key_id) {
    throw Refusal(400, "the CSR's AsymmetricDecryptKeyIdentifier " + crypto::hex_encode(*key_id) +
                           " is not the subjectKeyIdentifier of the TLS client certificate (" +
                           crypto::hex_encode(*ski) + ")");
  }
  const auto algorithm = crypto::describe_key(leaf->public_key()).algorithm;
  if (algorithm != "RSA" && algorithm != "EC") {
    throw Refusal(400, "the key named by AsymmetricDecryptKeyIdentifier is " + algorithm +
                           "; only an RSA or EC key can receive the encrypted key");
  }
  return KeyDelivery{std::move(leaf)};
}

crypto::KeyType server_key_type(const crypto::CertificateRequest& csr,
                                const EnrollmentProfile& profile) {
  if (profile.serverkeygen_key_type) {
    return *profile.serverkeygen_key_type;
  }
  if (profile.csrattrs.key_type) {
    return *profile.csrattrs.key_type;
  }
  return crypto::key_type_of(csr.public_key()).value_or(crypto::KeyType::ec_p256);
}

http::Response server_keygen_response(const crypto::PrivateKey& key,
                                      const crypto::Certificate& certificate,
                                      const KeyDelivery& delivery,
                                      const crypto::Certificate& signer,
                                      const EVP_PKEY* signer_key) {
  std::vector<common::MimePart> parts;
  if (delivery.recipient) {
    // RFC 7030 §4.4.2: the key, in an AsymmetricKeyPackage, signed by whoever generated it (this
    // CA) and enveloped to the client's key.
    const auto signed_key = crypto::cms_sign(crypto::key_package_der(key),
                                             crypto::kAsymmetricKeyPackageOid, signer, signer_key);
    parts.push_back(base64_part(kServerGeneratedKey,
                                crypto::cms_envelope(crypto::content_info_content(signed_key),
                                                     crypto::kSignedDataOid, *delivery.recipient)));
  } else {
    parts.push_back(base64_part(kPkcs8, crypto::pkcs8_der(key)));
  }
  parts.push_back(base64_part(kCertsOnly, crypto::pkcs7_certs_only({certificate})));
  const auto boundary = common::random_boundary();
  http::Response response;
  response.status = 200;
  response.headers = {{"Content-Type", "multipart/mixed; boundary=" + boundary}};
  response.body = common::build_multipart(parts, boundary);
  return response;
}

}  // namespace estfleet::est
