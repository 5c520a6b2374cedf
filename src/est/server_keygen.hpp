// RFC 7030 §4.4 (as updated by RFC 8951): the server generates the device's key. The request is
// a simpleenroll request in every other respect (see EstService); what is particular lives here:
// which key to generate, how it goes back, and the multipart/mixed answer.
#pragma once

#include <optional>

#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"
#include "est/profile.hpp"
#include "http/message.hpp"

namespace estfleet::est {

inline constexpr std::string_view kPkcs8 = "application/pkcs8";
inline constexpr std::string_view kServerGeneratedKey =
    "application/pkcs7-mime; smime-type=server-generated-key";

// How the generated key travels: as plain PKCS#8 inside TLS, or enveloped (CMS) to the client
// certificate whose subjectKeyIdentifier the CSR's AsymmetricDecryptKeyIdentifier names.
struct KeyDelivery {
  std::optional<crypto::Certificate> recipient;
};

// Reads the CSR's §4.4.1 attributes. DecryptKeyIdentifier (a symmetric key) is refused with 501:
// this server shares no symmetric keys with clients. AsymmetricDecryptKeyIdentifier must name the
// TLS client certificate of this very connection (the handshake proved the client holds its key)
// by its subjectKeyIdentifier, and that key must be RSA or EC; otherwise Refusal(400).
KeyDelivery plan_key_delivery(const crypto::CertificateRequest& csr, const http::TlsPeer& peer);

// The profile's serverkeygen_key_type when set; else its csrattrs key_type; else the type of the
// CSR's own key (the client's hint); else EC P-256.
crypto::KeyType server_key_type(const crypto::CertificateRequest& csr,
                                const EnrollmentProfile& profile);

// The 200 multipart/mixed answer: the key part first (application/pkcs8, or the enveloped
// server-generated-key: EnvelopedData of a SignedData by `signer` of the AsymmetricKeyPackage),
// then the certificate as certs-only PKCS#7. Both parts base64 with Content-Transfer-Encoding.
http::Response server_keygen_response(const crypto::PrivateKey& key,
                                      const crypto::Certificate& certificate,
                                      const KeyDelivery& delivery,
                                      const crypto::Certificate& signer,
                                      const EVP_PKEY* signer_key);

}  // namespace estfleet::est
