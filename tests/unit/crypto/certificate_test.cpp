#include "crypto/certificate.hpp"

#include <gtest/gtest.h>

#include "crypto/der.hpp"
#include "crypto/digest.hpp"
#include "crypto/encoding.hpp"
#include "crypto/error.hpp"
#include "pki_fixture.hpp"

namespace estfleet::crypto {
namespace {

using testing::kDay;
using testing::kNow;
using testing::TestPki;

std::string octets(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> extension_oids(const Certificate& cert) {
  std::vector<std::string> oids;
  for (int i = 0; i < X509_get_ext_count(cert.get()); ++i) {
    char buffer[128];
    OBJ_obj2txt(buffer, sizeof buffer, X509_EXTENSION_get_object(X509_get_ext(cert.get(), i)), 1);
    oids.emplace_back(buffer);
  }
  return oids;
}

// Every extension as "OID critical-flag value-octets", in order.
std::vector<std::string> extensions_of(const Certificate& cert) {
  std::vector<std::string> all;
  for (int i = 0; i < X509_get_ext_count(cert.get()); ++i) {
    const X509_EXTENSION* extension = X509_get_ext(cert.get(), i);
    all.push_back(
        extension_oids(cert).at(static_cast<std::size_t>(i)) + ' ' +
        std::to_string(X509_EXTENSION_get_critical(extension)) + ' ' +
        hex_encode(octets(X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(extension)))));
  }
  return all;
}

std::string sha1_of_public_key(const Certificate& cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(X509_pubkey_digest(cert.get(), EVP_sha1(), digest, &length), 1);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

class CertificateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static TestPki* pki_;
};
TestPki* CertificateTest::pki_ = nullptr;

TEST_F(CertificateTest, ChainVerifiesUpToTheRoot) {
  const TrustStore trust({pki_->root});
  EXPECT_EQ(trust.verify(pki_->leaf, {pki_->issuing}, kNow), std::nullopt);
  EXPECT_EQ(trust.verify(pki_->issuing, {}, kNow), std::nullopt);
}

TEST_F(CertificateTest, MissingIntermediateFails) {
  const TrustStore trust({pki_->root});
  const auto problem = trust.verify(pki_->leaf, {}, kNow);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("issuer"), std::string::npos) << *problem;
}

TEST_F(CertificateTest, ExpiredLeafFailsWithAReason) {
  const TrustStore trust({pki_->root});
  const auto problem = trust.verify(pki_->leaf, {pki_->issuing}, pki_->leaf.not_after() + kDay);
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "certificate has expired");
  const auto early = trust.verify(pki_->leaf, {pki_->issuing}, kNow - 2 * kDay);
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, "certificate is not yet valid");
}

TEST_F(CertificateTest, WrongRootFails) {
  const auto other_key = PrivateKey::generate(KeyType::ec_p256);
  const auto other_root = sign_certificate(
      testing::ca_spec("Test Root", other_key.get(), 1, "\x01"), nullptr, other_key.get());
  const TrustStore trust({other_root});
  const auto problem = trust.verify(pki_->leaf, {pki_->issuing}, kNow);
  ASSERT_TRUE(problem);
  EXPECT_FALSE(problem->empty());
  // Presenting the real root as an untrusted helper does not make it trusted.
  EXPECT_TRUE(trust.verify(pki_->leaf, {pki_->issuing, pki_->root}, kNow));
}

// A peer's long chain is refused before its signatures are followed: at most kMaxChainDepth
// certificates between the leaf and its anchor.
TEST_F(CertificateTest, ChainsDeeperThanTheLimitAreRefused) {
  const auto chain_of = [](int intermediates) {
    const auto key = PrivateKey::generate(KeyType::ec_p256);
    std::vector<Certificate> chain{
        sign_certificate(testing::ca_spec("Deep 0", key.get(), 64, "\x10"), nullptr, key.get())};
    for (int i = 1; i <= intermediates; ++i) {
      chain.push_back(
          sign_certificate(testing::ca_spec("Deep " + std::to_string(i), key.get(), 64 - i,
                                            std::string(1, static_cast<char>(0x10 + i))),
                           &chain.back(), key.get()));
    }
    CertificateSpec leaf;
    leaf.serial = "\x7e";
    leaf.subject_der = name_der({{"CN", "deep-leaf"}});
    leaf.public_key = key.get();
    leaf.not_before = kNow - kDay;
    leaf.not_after = kNow + kDay;
    const auto signed_leaf = sign_certificate(leaf, &chain.back(), key.get());
    const TrustStore trust({chain.front()});
    return trust.verify(signed_leaf, {chain.begin() + 1, chain.end()}, kNow);
  };
  EXPECT_FALSE(chain_of(3)) << "a chain within the limit verifies";
  const auto problem = chain_of(kMaxChainDepth + 2);
  ASSERT_TRUE(problem) << "a chain deeper than the limit verified";
  EXPECT_NE(problem->find("too long"), std::string::npos) << *problem;
}

TEST_F(CertificateTest, SerialIsPositiveUpperCaseHex) {
  EXPECT_EQ(pki_->leaf.serial_hex(), "800000000000002A");
  EXPECT_NE(ASN1_STRING_type(X509_get0_serialNumber(pki_->leaf.get())), V_ASN1_NEG_INTEGER);
  EXPECT_EQ(pki_->root.serial_hex(), "01");

  CertificateSpec spec =
      testing::ca_spec("Leading zero", pki_->root_key.get(), 0, std::string("\x00\x00\x7f", 3));
  EXPECT_EQ(sign_certificate(spec, nullptr, pki_->root_key.get()).serial_hex(), "7F");
  spec.serial.clear();
  EXPECT_THROW(sign_certificate(spec, nullptr, pki_->root_key.get()), CryptoError);
}

TEST_F(CertificateTest, MatchesOnlyItsOwnPrivateKey) {
  EXPECT_TRUE(pki_->leaf.matches_private_key(pki_->device_key.get()));
  EXPECT_TRUE(pki_->root.matches_private_key(pki_->root_key.get()));
  EXPECT_FALSE(pki_->leaf.matches_private_key(pki_->issuing_key.get()));
  EXPECT_FALSE(pki_->leaf.matches_private_key(pki_->root_key.get()));  // other curve
}

TEST_F(CertificateTest, ReportsNamesValidityAndKind) {
  EXPECT_EQ(pki_->leaf.subject_common_name(), "device-1");
  EXPECT_EQ(pki_->leaf.subject_der(), name_der({{"CN", "device-1"}}));
  EXPECT_EQ(pki_->leaf.issuer_der(), pki_->issuing.subject_der());
  EXPECT_EQ(pki_->root.issuer_der(), pki_->root.subject_der());
  EXPECT_EQ(pki_->issuing.subject_text(), "CN=Test Issuing,O=est-fleet tests");
  EXPECT_EQ(pki_->leaf.not_before(), kNow - kDay);
  EXPECT_EQ(pki_->leaf.not_after(), kNow + 365 * kDay);
  EXPECT_TRUE(pki_->root.is_ca());
  EXPECT_TRUE(pki_->issuing.is_ca());
  EXPECT_FALSE(pki_->leaf.is_ca());
  EXPECT_EQ(public_key_der(pki_->leaf.public_key()), pki_->device_key.public_key_der());
}

TEST_F(CertificateTest, ExtensionsComeInTheFixedOrder) {
  EXPECT_EQ(extension_oids(pki_->leaf),
            (std::vector<std::string>{"2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.14",
                                      "2.5.29.35", "2.5.29.17", "1.3.6.1.4.1.55555.1"}));
  EXPECT_EQ(extension_oids(pki_->root),
            (std::vector<std::string>{"2.5.29.19", "2.5.29.15", "2.5.29.14", "2.5.29.35"}));
  const X509_EXTENSION* basic = X509_get_ext(pki_->leaf.get(), 0);
  const X509_EXTENSION* usage = X509_get_ext(pki_->leaf.get(), 1);
  EXPECT_EQ(X509_EXTENSION_get_critical(basic), 1);
  EXPECT_EQ(X509_EXTENSION_get_critical(usage), 1);
  EXPECT_EQ(X509_get_key_usage(pki_->leaf.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(pki_->leaf.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_pathlen(pki_->root.get()), 1);
  EXPECT_EQ(X509_get_pathlen(pki_->issuing.get()), 0);
}

TEST_F(CertificateTest, AnExtensionCacheKeepsWhatRecursAndChangesNothing) {
  CertificateSpec spec;
  spec.serial = "\x01\x02";
  spec.subject_der = name_der({{"CN", "cached"}});
  spec.public_key = pki_->device_key.get();
  spec.not_before = kNow - kDay;
  spec.not_after = kNow + kDay;
  spec.key_usage = {"digitalSignature"};
  spec.extended_key_usage = {"clientAuth"};
  spec.crl_distribution_points = {"http://ca.example/crl"};
  spec.ocsp_urls = {"http://ca.example/ocsp"};
  const auto built = sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get());

  ExtensionCache cache;
  const auto first = sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get(), &cache);
  // basicConstraints, keyUsage, extendedKeyUsage, AKI, CRL distribution point, OCSP URL.
  EXPECT_EQ(cache.size(), 6U);
  const auto second = sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get(), &cache);
  EXPECT_EQ(cache.size(), 6U) << "the second certificate added what the first kept";
  EXPECT_EQ(extensions_of(first), extensions_of(built));
  EXPECT_EQ(extensions_of(second), extensions_of(built));

  // Another value is another entry: a serverAuth certificate does not get the kept clientAuth.
  spec.extended_key_usage = {"serverAuth"};
  const auto server = sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get(), &cache);
  EXPECT_EQ(X509_get_extended_key_usage(server.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(cache.size(), 7U);
}

TEST_F(CertificateTest, ExtraExtensionsAreCopiedVerbatim) {
  const int index = X509_get_ext_count(pki_->leaf.get()) - 1;
  X509_EXTENSION* extra = X509_get_ext(pki_->leaf.get(), index);
  EXPECT_EQ(X509_EXTENSION_get_critical(extra), 0);
  EXPECT_EQ(octets(X509_EXTENSION_get_data(extra)), der_utf8_string("extra"));
}

TEST_F(CertificateTest, CriticalFlagOfExtraExtensionsIsKept) {
  CertificateSpec spec = testing::ca_spec("critical", pki_->device_key.get(), 0, "\x0b");
  spec.is_ca = false;
  spec.path_length.reset();
  spec.key_usage = {"digitalSignature"};
  spec.extra_extensions = {{"1.3.6.1.4.1.55555.2", true, std::string("\x05\x00", 2)}};
  const auto cert = sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get());
  X509_EXTENSION* extra = X509_get_ext(cert.get(), X509_get_ext_count(cert.get()) - 1);
  EXPECT_EQ(X509_EXTENSION_get_critical(extra), 1);
  EXPECT_EQ(octets(X509_EXTENSION_get_data(extra)), std::string("\x05\x00", 2));
  // A relying party that does not know a critical extension must refuse the certificate.
  EXPECT_EQ(TrustStore({pki_->root}).verify(cert, {pki_->issuing}, kNow),
            "unhandled critical extension");
}

TEST_F(CertificateTest, KeyIdentifiersLinkTheChain) {
  const auto ski = [](const Certificate& c) { return octets(X509_get0_subject_key_id(c.get())); };
  const auto aki = [](const Certificate& c) { return octets(X509_get0_authority_key_id(c.get())); };
  EXPECT_EQ(ski(pki_->leaf), sha1_of_public_key(pki_->leaf));
  EXPECT_EQ(ski(pki_->leaf).size(), 20u);
  EXPECT_EQ(aki(pki_->leaf), ski(pki_->issuing));
  EXPECT_EQ(aki(pki_->issuing), ski(pki_->root));
  EXPECT_EQ(aki(pki_->root), ski(pki_->root));
}

TEST_F(CertificateTest, SanIsCopiedFromTheCsr) {
  EXPECT_EQ(pki_->leaf.subject_alt_name_der(), pki_->csr.subject_alt_name_der());
  EXPECT_FALSE(pki_->root.subject_alt_name_der());
}

TEST_F(CertificateTest, SanCanBeBuiltFromTypedStrings) {
  CertificateSpec spec = testing::ca_spec("server", pki_->device_key.get(), 0, "\x09");
  spec.is_ca = false;
  spec.path_length.reset();
  spec.key_usage = {"digitalSignature", "keyEncipherment"};
  spec.extended_key_usage = {"serverAuth", "clientAuth"};
  spec.subject_alt_names = {"DNS:est.example", "IP:127.0.0.1", "URI:urn:est:server"};
  const auto cert = sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get());
  const auto san = cert.subject_alt_name_der();
  ASSERT_TRUE(san);
  const auto* p = reinterpret_cast<const unsigned char*>(san->data());
  GeneralNamesPtr names(d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(san->size())));
  ASSERT_TRUE(names);
  ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 3);
  EXPECT_EQ(sk_GENERAL_NAME_value(names.get(), 0)->type, GEN_DNS);
  EXPECT_EQ(sk_GENERAL_NAME_value(names.get(), 1)->type, GEN_IPADD);
  EXPECT_EQ(sk_GENERAL_NAME_value(names.get(), 2)->type, GEN_URI);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_host(cert.get(), "est.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
}

TEST_F(CertificateTest, UnknownKeyUsageIsRefused) {
  CertificateSpec spec = testing::ca_spec("bad", pki_->device_key.get(), 0, "\x0a");
  spec.key_usage = {"digitalSignature", "makeCoffee"};
  EXPECT_THROW(sign_certificate(spec, &pki_->issuing, pki_->issuing_key.get()), CryptoError);
}

TEST_F(CertificateTest, EncodingsRoundTrip) {
  const std::string der = pki_->leaf.to_der();
  // The DER kept from signing is what OpenSSL encodes the signed certificate to.
  EXPECT_EQ(der, encode_der(pki_->leaf.get(), i2d_X509, "the leaf"));
  EXPECT_EQ(Certificate::from_der(der).to_der(), der);
  EXPECT_EQ(Certificate::from_pem(pki_->leaf.to_pem()).to_der(), der);
  EXPECT_EQ(pki_->leaf.sha256_fingerprint(), hex_encode(sha256(der)));
  EXPECT_EQ(pki_->leaf.sha256_fingerprint().size(), 64u);

  const auto chain = Certificate::chain_from_pem(pki_->leaf.to_pem() + pki_->issuing.to_pem() +
                                                 pki_->root.to_pem());
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].to_der(), der);
  EXPECT_EQ(chain[1].to_der(), pki_->issuing.to_der());
  EXPECT_EQ(chain[2].to_der(), pki_->root.to_der());
}

// OpenSSL reads a length in long form with a leading zero octet (BER); what the certificate gives
// back, and what its fingerprint is made of, is the canonical DER all the same.
TEST_F(CertificateTest, ANonCanonicalEncodingIsGivenBackAsDer) {
  const std::string der = pki_->leaf.to_der();
  ASSERT_EQ(static_cast<unsigned char>(der[1]), 0x82);  // SEQUENCE, two length octets
  const std::string padded = der.substr(0, 1) + "\x83" + std::string(1, '\0') + der.substr(2);
  const auto parsed = Certificate::from_der(padded);
  EXPECT_EQ(parsed.to_der(), der);
  EXPECT_EQ(parsed.sha256_fingerprint(), pki_->leaf.sha256_fingerprint());
}

TEST_F(CertificateTest, RefusesMalformedInput) {
  const std::string der = pki_->leaf.to_der();
  EXPECT_THROW(Certificate::from_der(der + "x"), CryptoError);
  EXPECT_THROW(Certificate::from_der(der.substr(0, der.size() - 1)), CryptoError);
  EXPECT_THROW(Certificate::from_der(""), CryptoError);
  EXPECT_THROW(Certificate::chain_from_pem(""), CryptoError);
  EXPECT_THROW(
      Certificate::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      CryptoError);
}

TEST_F(CertificateTest, DamagedCertificateInABundleIsNotSkipped) {
  std::string damaged = pki_->issuing.to_pem();
  damaged.erase(damaged.size() / 2, 8);  // the DER inside is now truncated
  EXPECT_THROW(Certificate::chain_from_pem(pki_->leaf.to_pem() + damaged), CryptoError);
  EXPECT_EQ(Certificate::chain_from_pem(pki_->leaf.to_pem() + "trailing text\n").size(), 1u);
}

TEST_F(CertificateTest, CopyingAMovedFromCertificateIsSafe) {
  Certificate source = pki_->leaf;
  Certificate moved = std::move(source);
  Certificate copy = source;  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(copy.get(), nullptr);
  copy = moved;
  EXPECT_EQ(copy.get(), pki_->leaf.get());
}

TEST_F(CertificateTest, CopiesShareTheCertificate) {
  Certificate copy = pki_->leaf;
  EXPECT_EQ(copy.get(), pki_->leaf.get());
  Certificate assigned = pki_->root;
  assigned = copy;
  EXPECT_EQ(assigned.get(), pki_->leaf.get());
  EXPECT_EQ(assigned.to_der(), pki_->leaf.to_der());
  const Certificate& same =
      assigned;     // through a reference, as self-assignment happens in practice
  assigned = same;  // and it must keep the certificate alive
  EXPECT_EQ(assigned.serial_hex(), "800000000000002A");
}

TEST(Ed25519Ca, SignsAndVerifies) {
  const auto key = PrivateKey::generate(KeyType::ed25519);
  const auto root =
      sign_certificate(testing::ca_spec("Ed Root", key.get(), 0, "\x05"), nullptr, key.get());
  EXPECT_EQ(X509_get_signature_nid(root.get()), NID_ED25519);
  EXPECT_EQ(TrustStore({root}).verify(root, {}, kNow), std::nullopt);
}

TEST(RsaCa, SignsWithSha256) {
  const auto key = PrivateKey::generate(KeyType::rsa_2048);
  const auto root =
      sign_certificate(testing::ca_spec("RSA Root", key.get(), 0, "\x06"), nullptr, key.get());
  EXPECT_EQ(X509_get_signature_nid(root.get()), NID_sha256WithRSAEncryption);
  EXPECT_EQ(TrustStore({root}).verify(root, {}, kNow), std::nullopt);
}

TEST(NameDer, KeepsOrderAndLongCommonNames) {
  const std::string der = name_der({{"O", "est-fleet"}, {"CN", std::string(128, 'x')}});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(name);
  ASSERT_EQ(X509_NAME_entry_count(name.get()), 2);
  EXPECT_EQ(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(name.get(), 0))),
            NID_organizationName);
  EXPECT_EQ(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(name.get(), 1))),
            NID_commonName);
  EXPECT_THROW(name_der({{"NoSuchAttribute", "x"}}), CryptoError);
}

}  // namespace
}  // namespace estfleet::crypto
