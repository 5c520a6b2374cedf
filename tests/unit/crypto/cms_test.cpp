#include "crypto/cms.hpp"

#include <gtest/gtest.h>

#include "crypto/error.hpp"
#include "crypto/pki_fixture.hpp"
#include "crypto/server_key.hpp"

namespace estfleet::crypto {
namespace {

using testing::TestPki;

// A certificate for `key` (with the subjectKeyIdentifier every signed certificate gets).
Certificate recipient_for(const TestPki& pki, const PrivateKey& key, const std::string& cn) {
  CertificateSpec spec;
  spec.serial = "\x33";
  spec.subject_der = name_der({{"CN", cn}});
  spec.public_key = key.get();
  spec.not_before = testing::kNow - testing::kDay;
  spec.not_after = testing::kNow + testing::kDay;
  spec.key_usage = {"digitalSignature", "keyEncipherment", "keyAgreement"};
  return sign_certificate(spec, &pki.issuing, pki.issuing_key.get());
}

TEST(Cms, SignedDataRoundTripNamesTheSignerAndTheType) {
  const TestPki pki;
  const auto der =
      cms_sign("payload", kAsymmetricKeyPackageOid, pki.issuing, pki.issuing_key.get());
  const auto opened = cms_verify(der);
  EXPECT_EQ(opened.content, "payload");
  EXPECT_EQ(opened.content_type_oid, kAsymmetricKeyPackageOid);
  EXPECT_EQ(opened.signer.to_der(), pki.issuing.to_der());
}

TEST(Cms, ATamperedSignedDataDoesNotVerify) {
  const TestPki pki;
  auto der = cms_sign("payload", kAsymmetricKeyPackageOid, pki.issuing, pki.issuing_key.get());
  const auto at = der.find("payload");
  ASSERT_NE(at, std::string::npos);
  der[at] = 'P';
  EXPECT_THROW(cms_verify(der), CryptoError);
  EXPECT_THROW(cms_verify("not cms"), CryptoError);
}

TEST(Cms, EnvelopeRoundTripToEcAndRsaKeys) {
  const TestPki pki;
  for (const auto type : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048}) {
    const auto key = PrivateKey::generate(type);
    const auto cert = recipient_for(pki, key, "recipient");
    const auto der = cms_envelope("secret key bytes", kSignedDataOid, cert);
    EXPECT_EQ(der.find("secret key bytes"), std::string::npos) << "the content is encrypted";
    const auto with_cert = cms_decrypt(der, key, &cert);
    EXPECT_EQ(with_cert.content, "secret key bytes");
    EXPECT_EQ(with_cert.content_type_oid, kSignedDataOid);
    EXPECT_EQ(cms_decrypt(der, key).content, "secret key bytes") << "the key alone opens it too";
  }
}

TEST(Cms, AnotherKeyDoesNotOpenTheEnvelope) {
  const TestPki pki;
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto other = PrivateKey::generate(KeyType::ec_p256);
  const auto cert = recipient_for(pki, key, "recipient");
  const auto der = cms_envelope("secret", kSignedDataOid, cert);
  EXPECT_THROW(cms_decrypt(der, other), CryptoError);
  EXPECT_THROW(cms_decrypt("junk", key), CryptoError);
}

TEST(Cms, AnEd25519KeyCannotReceive) {
  const TestPki pki;
  const auto key = PrivateKey::generate(KeyType::ed25519);
  EXPECT_THROW(cms_envelope("x", kSignedDataOid, recipient_for(pki, key, "ed")), CryptoError);
}

TEST(ServerKey, Pkcs8AndKeyPackageRoundTrip) {
  for (const auto type : {KeyType::ec_p256, KeyType::rsa_2048, KeyType::ed25519}) {
    const auto key = PrivateKey::generate(type);
    EXPECT_EQ(private_key_from_pkcs8(pkcs8_der(key)).to_pem(), key.to_pem());
    const auto package = key_package_der(key);
    EXPECT_EQ(package.front(), '\x30');
    EXPECT_EQ(private_key_from_key_package(package).to_pem(), key.to_pem());
    EXPECT_EQ(key_type_of(key.get()), type);
  }
  EXPECT_THROW(private_key_from_pkcs8("nonsense"), CryptoError);
}

TEST(ServerKey, APackageMustHoldExactlyOneKey) {
  const auto one = pkcs8_der(PrivateKey::generate(KeyType::ec_p256));
  const auto two = one + one;
  ASSERT_LT(two.size(), 0x10000u);
  const std::string length{'\x82', static_cast<char>(two.size() >> 8),
                           static_cast<char>(two.size() & 0xFF)};
  EXPECT_THROW(private_key_from_key_package("\x30" + length + two), CryptoError);
  EXPECT_THROW(private_key_from_key_package(one.substr(0, one.size() - 1)), CryptoError);
  EXPECT_THROW(private_key_from_key_package(""), CryptoError);
}

TEST(ServerKey, ContentInfoWrapsAndUnwraps) {
  const TestPki pki;
  const auto signed_der =
      cms_sign("x", kAsymmetricKeyPackageOid, pki.issuing, pki.issuing_key.get());
  const auto bare = content_info_content(signed_der);
  EXPECT_EQ(bare.front(), '\x30');
  EXPECT_EQ(content_info(kSignedDataOid, bare), signed_der);
  EXPECT_THROW(content_info_content("\x30\x00"), CryptoError);
}

TEST(ServerKey, DecryptKeyIdentifierAttributesInTheCsr) {
  const TestPki pki;
  auto csr = CertificateRequest::from_der(pki.csr.to_der());
  EXPECT_FALSE(key_identifier_attribute(csr, kAsymmetricDecryptKeyIdentifierOid));
  const auto ski = subject_key_identifier(pki.leaf);
  ASSERT_TRUE(ski);
  EXPECT_EQ(ski->size(), 20u);
  add_key_identifier_attribute(csr, kAsymmetricDecryptKeyIdentifierOid, *ski, pki.device_key);
  EXPECT_TRUE(csr.verify_signature()) << "the CSR is signed again over the new attribute";
  const auto reparsed = CertificateRequest::from_der(csr.to_der());
  EXPECT_EQ(key_identifier_attribute(reparsed, kAsymmetricDecryptKeyIdentifierOid), *ski);
  EXPECT_FALSE(key_identifier_attribute(reparsed, kDecryptKeyIdentifierOid));
  EXPECT_THROW(add_key_identifier_attribute(csr, kAsymmetricDecryptKeyIdentifierOid, "again",
                                            pki.device_key),
               CryptoError)
      << "one identifier only";
}

}  // namespace
}  // namespace estfleet::crypto
