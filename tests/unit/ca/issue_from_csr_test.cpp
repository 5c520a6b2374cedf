// Issuing from a CSR copies its SubjectPublicKeyInfo as it is, and the key identifiers computed
// from those bits are the RFC 5280 method-1 ones, for every key type the server accepts.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/authority.hpp"
#include "crypto/csr.hpp"
#include "support/test_pki.hpp"

namespace estfleet::ca {
namespace {

std::string spki_der(const X509_PUBKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_X509_PUBKEY(key, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::string method1_key_id(const X509_PUBKEY* key) {
  const unsigned char* bits = nullptr;
  int length = 0;
  X509_PUBKEY_get0_param(nullptr, &bits, &length, nullptr, key);
  std::string digest(SHA_DIGEST_LENGTH, '\0');
  SHA1(bits, static_cast<std::size_t>(length), reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

std::string octets(const ASN1_OCTET_STRING* value) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
          static_cast<std::size_t>(ASN1_STRING_length(value))};
}

class IssueFromCsr : public ::testing::TestWithParam<crypto::KeyType> {};

TEST_P(IssueFromCsr, CopiesTheCsrKeyAndDerivesTheKeyIdentifiersFromItsBits) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(GetParam());
  crypto::CsrSpec spec;
  spec.common_name = "device-1";
  const auto csr = crypto::CertificateRequest::from_der(crypto::build_csr(spec, key).to_der());

  const auto cert = authority.issue(
      IssueRequest{"device-1", csr.public_key(), {}, {}, now, csr.public_key_info()},
      IssuancePolicy{});

  EXPECT_EQ(spki_der(X509_get_X509_PUBKEY(cert.get())), spki_der(csr.public_key_info()));
  EXPECT_TRUE(cert.matches_private_key(key.get()));
  EXPECT_EQ(authority.verify_issued(cert, now), std::nullopt);
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(octets(ski), method1_key_id(csr.public_key_info()));
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert.get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(octets(aki), octets(X509_get0_subject_key_id(authority.issuing_certificate().get())));
}

// Without the CSR's encoding (the server's own TLS certificate), the key is encoded from the
// EVP_PKEY and the identifiers are the same method-1 ones.
TEST_P(IssueFromCsr, WithoutTheCsrEncodingTheKeyIsEncodedFromTheKeyItself) {
  const auto now = std::chrono::system_clock::now();
  const auto authority = testing::make_authority(now);
  const auto key = crypto::PrivateKey::generate(GetParam());
  const auto cert =
      authority.issue(IssueRequest{"device-2", key.get(), {}, {}, now}, IssuancePolicy{});
  EXPECT_TRUE(cert.matches_private_key(key.get()));
  EXPECT_EQ(octets(X509_get0_subject_key_id(cert.get())),
            method1_key_id(X509_get_X509_PUBKEY(cert.get())));
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, IssueFromCsr,
                         ::testing::Values(crypto::KeyType::ec_p256, crypto::KeyType::ec_p384,
                                           crypto::KeyType::rsa_2048, crypto::KeyType::ed25519));

}  // namespace
}  // namespace estfleet::ca
