#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include "ca/issuance_policy.hpp"
#include "ca/key_policy.hpp"
#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/key.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::ca {
namespace {

TEST(ThingName, AcceptsTheDocumentedAlphabet) {
  EXPECT_TRUE(policy::is_valid_thing_name("DeviceAlpha"));
  EXPECT_TRUE(policy::is_valid_thing_name("a:b_c-d0"));
  EXPECT_TRUE(policy::is_valid_thing_name(std::string(128, 'x')));
}

TEST(ThingName, RefusesEverythingElse) {
  EXPECT_FALSE(policy::is_valid_thing_name(""));
  EXPECT_FALSE(policy::is_valid_thing_name(std::string(129, 'x')));
  EXPECT_FALSE(policy::is_valid_thing_name("bad/name"));
  EXPECT_FALSE(policy::is_valid_thing_name("dot.name"));
  EXPECT_FALSE(policy::is_valid_thing_name("space name"));
  EXPECT_FALSE(policy::is_valid_thing_name(std::string("nul\0x", 5)));
  EXPECT_FALSE(policy::is_valid_thing_name("caf\xc3\xa9"));
}

TEST(KeyPolicy, AcceptsTheListedKeyTypes) {
  for (auto type : {crypto::KeyType::ec_p256, crypto::KeyType::ec_p384, crypto::KeyType::rsa_2048,
                    crypto::KeyType::ed25519}) {
    const auto key = crypto::PrivateKey::generate(type);
    EXPECT_EQ(refuse_subject_key(key.get()), std::nullopt) << crypto::key_type_name(type);
  }
}

TEST(KeyPolicy, RefusesWeakRsaAndOtherCurves) {
  crypto::PkeyPtr rsa1024(EVP_RSA_gen(1024));
  ASSERT_TRUE(rsa1024);
  const auto rsa_reason = refuse_subject_key(rsa1024.get());
  ASSERT_TRUE(rsa_reason);
  EXPECT_NE(rsa_reason->find("1024"), std::string::npos);

  crypto::PkeyPtr k256(EVP_EC_gen("secp256k1"));
  ASSERT_TRUE(k256);
  const auto curve_reason = refuse_subject_key(k256.get());
  ASSERT_TRUE(curve_reason);
  EXPECT_NE(curve_reason->find("secp256k1"), std::string::npos);
}

TEST(KeyPolicy, RefusesARequestWithoutAReadableKey) {
  const auto reason = refuse_subject_key(nullptr);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("cannot be read"), std::string::npos) << *reason;
}

TEST(SanPolicy, AllowsConfiguredKindsAndNamesTheOffender) {
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CsrSpec spec;
  spec.common_name = "dev";
  spec.subject_alt_names = {"DNS:dev.example", "email:a@b.example"};
  const auto csr = crypto::build_csr(spec, key);
  const auto san = csr.subject_alt_name_der();
  ASSERT_TRUE(san);

  IssuancePolicy policy;
  const auto reason = refuse_subject_alt_name(*san, policy);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("email"), std::string::npos);

  policy.allowed_san_kinds.insert("email");
  EXPECT_EQ(refuse_subject_alt_name(*san, policy), std::nullopt);
  EXPECT_TRUE(refuse_subject_alt_name("\x30\x03garbage", policy));
}

}  // namespace
}  // namespace estfleet::ca
