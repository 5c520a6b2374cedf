#include "client/server_keygen.hpp"

#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "client/responses.hpp"
#include "common/multipart.hpp"
#include "crypto/cms.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"
#include "crypto/pkcs7.hpp"
#include "crypto/server_key.hpp"

namespace estfleet::client {
namespace {

std::string lowered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Content-Transfer-Encoding is not consulted: the part's shape tells base64 from binary DER
// (body_der), and servers label parts wrongly or not at all.
std::string part_der(const common::MimePart& part, const std::string& type) {
  auto der = body_der(part.body);
  if (!der) {
    throw ClientError("the serverkeygen " + type + " part is neither base64 nor DER");
  }
  return std::move(*der);
}

void check_key_and_chain(const crypto::Certificate& cert, const crypto::PrivateKey& key,
                         const std::string& anchors_pem,
                         const std::vector<crypto::Certificate>& chain) {
  if (!cert.matches_private_key(key.get())) {
    throw ClientError("the serverkeygen certificate does not match the key sent with it");
  }
  const crypto::TrustStore trust(crypto::Certificate::chain_from_pem(anchors_pem));
  if (auto problem = trust.verify(cert, chain)) {
    throw ClientError("the serverkeygen certificate does not chain to the trust anchor: " +
                      *problem);
  }
}

}  // namespace

KeygenParts parse_server_keygen_response(const http::Response& response) {
  const auto content_type = response.header("Content-Type");
  if (!content_type || common::media_type(*content_type) != "multipart/mixed") {
    throw ClientError("the serverkeygen response has Content-Type '" +
                      std::string(content_type.value_or("none")) + "', expected multipart/mixed");
  }
  const auto boundary = common::boundary_parameter(*content_type);
  if (!boundary) {
    throw ClientError("the serverkeygen response's multipart/mixed Content-Type has no boundary");
  }
  std::vector<common::MimePart> parts;
  try {
    parts = common::parse_multipart(response.body, *boundary);
  } catch (const common::MultipartError& e) {
    throw ClientError(std::string("the serverkeygen response is unusable: ") + e.what());
  }
  KeygenParts result;
  bool have_certificate = false;
  for (const auto& part : parts) {
    const auto type_header = part.header("Content-Type").value_or("text/plain");
    const auto type = common::media_type(type_header);
    const auto smime_type =
        lowered(common::media_parameter(type_header, "smime-type").value_or(""));
    if (type == "application/pkcs8") {
      if (result.pkcs8_der || result.enveloped_der) {
        throw ClientError("the serverkeygen response holds more than one key part");
      }
      result.pkcs8_der = part_der(part, "application/pkcs8");
    } else if (type == "application/pkcs7-mime" && smime_type == "server-generated-key") {
      if (result.pkcs8_der || result.enveloped_der) {
        throw ClientError("the serverkeygen response holds more than one key part");
      }
      result.enveloped_der = part_der(part, "server-generated-key");
    } else if (type == "application/pkcs7-mime" &&
               (smime_type.empty() || smime_type == "certs-only")) {
      if (have_certificate) {
        throw ClientError("the serverkeygen response holds more than one certificate part");
      }
      have_certificate = true;
      try {
        result.certificates = crypto::parse_pkcs7_certs_only(part_der(part, "certificate"));
      } catch (const crypto::CryptoError& e) {
        throw ClientError(std::string("the serverkeygen certificate part is unusable: ") +
                          e.what());
      }
    } else {
      throw ClientError("the serverkeygen response holds an unexpected part of type '" +
                        type_header + "'");
    }
  }
  if (!result.pkcs8_der && !result.enveloped_der) {
    throw ClientError("the serverkeygen response holds no key part");
  }
  if (!have_certificate) {
    throw ClientError("the serverkeygen response holds no certificate part");
  }
  if (result.certificates.size() != 1) {
    throw ClientError("the serverkeygen certificate part holds " +
                      std::to_string(result.certificates.size()) +
                      " certificates, expected exactly one");
  }
  return result;
}

crypto::PrivateKey open_generated_key(const KeygenParts& parts,
                                      const std::optional<crypto::PrivateKey>& decrypt_key,
                                      const std::optional<crypto::Certificate>& decrypt_certificate,
                                      const std::vector<crypto::Certificate>& ca_certificates) {
  try {
    if (parts.pkcs8_der) {
      // Encryption was asked for so that nothing between the server and the device (a
      // TLS-terminating proxy) sees the key; a plain one means something did, or could have.
      if (decrypt_key) {
        throw ClientError(
            "the server sent the key unencrypted (application/pkcs8) although --decrypt-cert and "
            "--decrypt-key asked for it encrypted; refusing it, nothing was written");
      }
      return crypto::private_key_from_pkcs8(*parts.pkcs8_der);
    }
    if (!decrypt_key) {
      throw ClientError(
          "the server sent the key encrypted (server-generated-key) and no decryption key was "
          "given");
    }
    const auto opened = crypto::cms_decrypt(*parts.enveloped_der, *decrypt_key,
                                            decrypt_certificate ? &*decrypt_certificate : nullptr);
    if (opened.content_type_oid != crypto::kSignedDataOid) {
      throw ClientError("the encrypted key holds " + opened.content_type_oid +
                        ", expected a SignedData");
    }
    const auto signed_key =
        crypto::cms_verify(crypto::content_info(crypto::kSignedDataOid, opened.content));
    if (signed_key.content_type_oid != crypto::kAsymmetricKeyPackageOid) {
      throw ClientError("the signed key holds " + signed_key.content_type_oid +
                        ", expected an AsymmetricKeyPackage");
    }
    const bool signer_known =
        std::any_of(ca_certificates.begin(), ca_certificates.end(),
                    [&](const auto& ca) { return ca.to_der() == signed_key.signer.to_der(); });
    if (!signer_known) {
      throw ClientError("the encrypted key is signed by " + signed_key.signer.subject_text() +
                        ", which is not one of the server's CA certificates");
    }
    return crypto::private_key_from_key_package(signed_key.content);
  } catch (const crypto::CryptoError& e) {
    throw ClientError(std::string("the serverkeygen key part is unusable: ") + e.what());
  }
}

ServerGenerated server_keygen(EstClient& client, const ServerKeygenRequest& request,
                              const std::string& anchors_pem) {
  if (request.decrypt_certificate.has_value() != request.decrypt_key.has_value()) {
    throw ClientError("the decryption certificate and key go together");
  }
  std::optional<std::string> key_id;
  if (request.decrypt_certificate) {
    if (!request.decrypt_certificate->matches_private_key(request.decrypt_key->get())) {
      throw ClientError("the decryption certificate does not match the decryption key");
    }
    key_id = crypto::subject_key_identifier(*request.decrypt_certificate);
    if (!key_id) {
      throw ClientError(
          "the decryption certificate has no subjectKeyIdentifier to name it to the server");
    }
  }
  // Signs the CSR only; the server certifies a key of its own making.
  const auto csr_key = crypto::PrivateKey::generate(request.key_type_hint);
  http::HeaderList headers;
  if (request.credentials) {
    headers.emplace_back("Authorization",
                         "Basic " + crypto::base64_encode(request.credentials->user + ":" +
                                                          request.credentials->password));
  }
  const auto answer = client.post_csr(
      "serverkeygen",
      [&](const std::string& binding) {
        crypto::CsrSpec spec;
        spec.common_name = request.common_name;
        spec.extensions = request.extensions;
        if (request.pop) {
          spec.challenge_password = pop_challenge_password(binding);
        }
        auto csr = crypto::build_csr(spec, csr_key);
        if (key_id) {
          crypto::add_key_identifier_attribute(csr, crypto::kAsymmetricDecryptKeyIdentifierOid,
                                               *key_id, csr_key);
        }
        return csr;
      },
      headers, request.decrypt_certificate ? request.decrypt_certificate->to_pem() : std::string(),
      request.decrypt_key ? request.decrypt_key->to_pem() : std::string());
  const auto parts = parse_server_keygen_response(answer.response);
  auto key = open_generated_key(parts, request.decrypt_key, request.decrypt_certificate,
                                answer.ca_certificates);
  check_key_and_chain(parts.certificates.front(), key, anchors_pem, answer.ca_certificates);
  return {std::move(key), parts.certificates.front(), answer.ca_certificates,
          parts.enveloped_der.has_value()};
}

}  // namespace estfleet::client
