#include "crypto/key.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

struct KeyCase {
  KeyType type;
  std::string name;
  std::string algorithm;
  int bits;
  std::string curve;
  std::string text;
  friend void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.name; }
};

class EveryKeyType : public ::testing::TestWithParam<KeyCase> {};

TEST_P(EveryKeyType, GeneratesAndDescribes) {
  const auto& c = GetParam();
  const auto key = PrivateKey::generate(c.type);
  const KeyDescription d = describe_key(key.get());
  EXPECT_EQ(d.algorithm, c.algorithm);
  EXPECT_EQ(d.curve, c.curve);
  if (c.bits != 0) {
    EXPECT_EQ(d.bits, c.bits);
  }
  EXPECT_EQ(d.to_string(), c.text);
}

TEST_P(EveryKeyType, RoundTripsThroughPkcs8Pem) {
  const auto key = PrivateKey::generate(GetParam().type);
  const std::string pem = key.to_pem();
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  const auto again = PrivateKey::from_pem(pem);
  EXPECT_EQ(again.public_key_der(), key.public_key_der());
  EXPECT_EQ(EVP_PKEY_eq(again.get(), key.get()), 1);
  EXPECT_EQ(again.to_pem(), pem);
}

TEST_P(EveryKeyType, NameRoundTrips) {
  const auto& c = GetParam();
  EXPECT_EQ(key_type_name(c.type), c.name);
  EXPECT_EQ(parse_key_type(c.name), c.type);
}

TEST_P(EveryKeyType, EachGenerationIsFresh) {
  const auto a = PrivateKey::generate(GetParam().type);
  const auto b = PrivateKey::generate(GetParam().type);
  EXPECT_NE(a.public_key_der(), b.public_key_der());
}

INSTANTIATE_TEST_SUITE_P(
    Keys, EveryKeyType,
    ::testing::Values(KeyCase{KeyType::ec_p256, "ec-p256", "EC", 256, "prime256v1", "EC P-256"},
                      KeyCase{KeyType::ec_p384, "ec-p384", "EC", 384, "secp384r1", "EC P-384"},
                      KeyCase{KeyType::rsa_2048, "rsa-2048", "RSA", 2048, "", "RSA 2048"},
                      KeyCase{KeyType::rsa_3072, "rsa-3072", "RSA", 3072, "", "RSA 3072"},
                      KeyCase{KeyType::rsa_4096, "rsa-4096", "RSA", 4096, "", "RSA 4096"},
                      KeyCase{KeyType::ed25519, "ed25519", "ED25519", 0, "", "ED25519"}),
    [](const auto& test) { return test.param.algorithm + std::to_string(test.index); });

TEST(KeyType, UnknownNamesAreRefused) {
  EXPECT_FALSE(parse_key_type("dsa"));
  EXPECT_FALSE(parse_key_type("EC-P256"));
  EXPECT_FALSE(parse_key_type(""));
}

TEST(KeyDescription, NamesOtherCurvesByTheirShortName) {
  EXPECT_EQ((KeyDescription{"EC", 256, "secp256k1"}).to_string(), "EC secp256k1");
}

TEST(SignatureDigest, FollowsTheKey) {
  EXPECT_EQ(signature_digest_for(PrivateKey::generate(KeyType::ec_p256).get()), EVP_sha256());
  EXPECT_EQ(signature_digest_for(PrivateKey::generate(KeyType::ec_p384).get()), EVP_sha384());
  EXPECT_EQ(signature_digest_for(PrivateKey::generate(KeyType::rsa_2048).get()), EVP_sha256());
  EXPECT_EQ(signature_digest_for(PrivateKey::generate(KeyType::ed25519).get()), nullptr);
}

TEST(PrivateKeyPem, ReadsTraditionalEcPem) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                                 nullptr),
            1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<std::size_t>(size));
  ASSERT_NE(pem.find("BEGIN EC PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(PrivateKey::from_pem(pem).public_key_der(), key.public_key_der());
}

TEST(PrivateKeyPem, RefusesGarbageAndEncryptedKeys) {
  EXPECT_THROW(PrivateKey::from_pem(""), CryptoError);
  EXPECT_THROW(
      PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
      CryptoError);
  try {
    PrivateKey::from_pem("not a key");
    FAIL() << "no exception";
  } catch (const CryptoError& e) {
    EXPECT_STREQ(e.what(), "private key is not a valid unencrypted PEM key");
  }

  const auto key = PrivateKey::generate(KeyType::ec_p256);
  BioPtr bio(BIO_new(BIO_s_mem()));
  char passphrase[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), passphrase, 6,
                                          nullptr, nullptr),
            1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  EXPECT_THROW(PrivateKey::from_pem(std::string(data, static_cast<std::size_t>(size))),
               CryptoError);
}

TEST(PublicKeyDer, IsTheSameFromThePrivateKeyAndItsPublicHalf) {
  const auto key = PrivateKey::generate(KeyType::ed25519);
  const std::string der = public_key_der(key.get());
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  PkeyPtr public_only(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(public_only);
  EXPECT_EQ(public_key_der(public_only.get()), der);
  EXPECT_EQ(key.public_key_der(), der);
}

}  // namespace
}  // namespace estfleet::crypto
