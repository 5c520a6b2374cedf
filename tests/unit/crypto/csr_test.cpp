#include "crypto/csr.hpp"

#include <gtest/gtest.h>

#include "crypto/certificate.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

constexpr const char* kIotOid = "2.25.231872403115171669323704536858287047134";

GeneralNamesPtr parse_general_names(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return GeneralNamesPtr(d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(der.size())));
}

CsrSpec full_spec() {
  CsrSpec spec;
  spec.common_name = "device-1";
  spec.subject_alt_names = {"DNS:device-1.example", "IP:10.0.0.1"};
  spec.challenge_password = "c2VjcmV0IGNoYW5uZWwgYmluZGluZw==";
  spec.extensions = {{kIotOid, false, der_utf8_string(R"({"ThingGroup":"a"})")},
                     {"1.3.6.1.4.1.55555.7", true, std::string("\x05\x00", 2)},
                     {kIotOid, false, der_utf8_string(R"({"ThingGroup":"b"})")}};
  return spec;
}

TEST(Csr, BuildsParsesAndVerifies) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto built = build_csr(full_spec(), key);
  const auto csr = CertificateRequest::from_der(built.to_der());
  EXPECT_TRUE(csr.verify_signature());
  EXPECT_EQ(X509_REQ_get_version(csr.get()), 0);
  EXPECT_EQ(csr.subject_common_names(), std::vector<std::string>{"device-1"});
  EXPECT_EQ(csr.subject_text(), "CN=device-1");
  EXPECT_EQ(csr.subject_der(), name_der({{"CN", "device-1"}}));
  EXPECT_EQ(public_key_der(csr.public_key()), key.public_key_der());
}

TEST(Csr, ChallengePasswordRoundTrips) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto csr = CertificateRequest::from_der(build_csr(full_spec(), key).to_der());
  EXPECT_EQ(csr.challenge_password(), "c2VjcmV0IGNoYW5uZWwgYmluZGluZw==");

  CsrSpec plain;
  plain.common_name = "device-1";
  EXPECT_FALSE(build_csr(plain, key).challenge_password());
}

TEST(Csr, RequestedExtensionsKeepOrderAndDuplicates) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto csr = CertificateRequest::from_der(build_csr(full_spec(), key).to_der());
  const auto extensions = csr.requested_extensions();
  ASSERT_EQ(extensions.size(), 4u);
  EXPECT_EQ(extensions[0].oid, "2.5.29.17");
  EXPECT_EQ(extensions[1].oid, kIotOid);
  EXPECT_FALSE(extensions[1].critical);
  EXPECT_EQ(parse_der_utf8_string(extensions[1].value_der), R"({"ThingGroup":"a"})");
  EXPECT_EQ(extensions[2].oid, "1.3.6.1.4.1.55555.7");
  EXPECT_TRUE(extensions[2].critical);
  EXPECT_EQ(extensions[2].value_der, std::string("\x05\x00", 2));
  EXPECT_EQ(extensions[3].oid, kIotOid);
  EXPECT_EQ(parse_der_utf8_string(extensions[3].value_der), R"({"ThingGroup":"b"})");
}

TEST(Csr, SubjectAltNamesAreBuiltFromTypedStrings) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto csr = build_csr(full_spec(), key);
  const auto san = csr.subject_alt_name_der();
  ASSERT_TRUE(san);
  const auto names = parse_general_names(*san);
  ASSERT_TRUE(names);
  ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 2);
  const GENERAL_NAME* dns = sk_GENERAL_NAME_value(names.get(), 0);
  ASSERT_EQ(dns->type, GEN_DNS);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns->d.dNSName)),
                        static_cast<std::size_t>(ASN1_STRING_length(dns->d.dNSName))),
            "device-1.example");
  const GENERAL_NAME* ip = sk_GENERAL_NAME_value(names.get(), 1);
  ASSERT_EQ(ip->type, GEN_IPADD);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ip->d.iPAddress)),
                        static_cast<std::size_t>(ASN1_STRING_length(ip->d.iPAddress))),
            std::string("\x0a\x00\x00\x01", 4));
}

TEST(Csr, NoExtensionsMeansNoSan) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  CsrSpec spec;
  spec.common_name = "device-1";
  const auto csr = build_csr(spec, key);
  EXPECT_TRUE(csr.requested_extensions().empty());
  EXPECT_FALSE(csr.subject_alt_name_der());
}

TEST(Csr, ReenrollmentCopiesSubjectAndSanDerVerbatim) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto original = build_csr(full_spec(), key);
  CsrSpec spec;
  spec.common_name = "ignored";
  spec.subject_alt_names = {"DNS:ignored.example"};
  spec.subject_der = name_der({{"O", "est-fleet"}, {"CN", "device-1"}});
  spec.subject_alt_name_der = original.subject_alt_name_der();
  const auto csr = build_csr(spec, key);
  EXPECT_TRUE(csr.verify_signature());
  EXPECT_EQ(csr.subject_der(), *spec.subject_der);
  EXPECT_EQ(csr.subject_alt_name_der(), original.subject_alt_name_der());
}

TEST(Csr, DamagedExtensionRequestIsRefusedNotIgnored) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  X509ReqPtr req(X509_REQ_new());
  ASSERT_EQ(X509_REQ_set_pubkey(req.get(), key.get()), 1);
  ASSERT_EQ(X509_REQ_add1_attr_by_NID(req.get(), NID_ext_req, V_ASN1_UTF8STRING,
                                      reinterpret_cast<const unsigned char*>("x"), 1),
            1);
  ASSERT_GT(X509_REQ_sign(req.get(), key.get(), EVP_sha256()), 0);
  const CertificateRequest csr(std::move(req));
  EXPECT_TRUE(csr.verify_signature());
  EXPECT_THROW(csr.requested_extensions(), CryptoError);
  EXPECT_THROW(csr.subject_alt_name_der(), CryptoError);
}

TEST(Csr, AcceptsThingNamesOf128Characters) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  CsrSpec spec;
  spec.common_name = std::string(128, 'a');
  const auto csr = CertificateRequest::from_der(build_csr(spec, key).to_der());
  EXPECT_EQ(csr.subject_common_names(), std::vector<std::string>{spec.common_name});
}

TEST(Csr, SignsWithEveryKeyType) {
  for (const auto type : {KeyType::ec_p384, KeyType::rsa_2048, KeyType::ed25519}) {
    const auto key = PrivateKey::generate(type);
    const auto csr = CertificateRequest::from_der(build_csr(full_spec(), key).to_der());
    EXPECT_TRUE(csr.verify_signature()) << key_type_name(type);
  }
}

TEST(Csr, TamperedContentFailsVerification) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  std::string der = build_csr(full_spec(), key).to_der();
  const auto at = der.find("device-1");
  ASSERT_NE(at, std::string::npos);
  der[at + 7] = '2';
  const auto csr = CertificateRequest::from_der(der);
  EXPECT_EQ(csr.subject_common_names(), std::vector<std::string>{"device-2"});
  EXPECT_FALSE(csr.verify_signature());
}

TEST(Csr, TamperedSignatureFailsVerification) {
  const auto key = PrivateKey::generate(KeyType::ed25519);  // fixed-size signature at the end
  std::string der = build_csr(full_spec(), key).to_der();
  der.back() = static_cast<char>(der.back() ^ 0x01);
  EXPECT_FALSE(CertificateRequest::from_der(der).verify_signature());
}

TEST(Csr, RefusesTrailingGarbageAndNonCsrs) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const std::string der = build_csr(full_spec(), key).to_der();
  for (const std::string& bad : {der + std::string(1, '\0'), der.substr(0, der.size() - 1),
                                 std::string(), std::string("garbage")}) {
    try {
      CertificateRequest::from_der(bad);
      ADD_FAILURE() << "accepted " << bad.size() << " bytes";
    } catch (const CryptoError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("CSR is not a valid DER PKCS#10 request", 0), 0u);
    }
  }
}

TEST(Csr, PemRoundTrips) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const auto csr = build_csr(full_spec(), key);
  const std::string pem = csr.to_pem();
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0u);
  EXPECT_EQ(CertificateRequest::from_pem(pem).to_der(), csr.to_der());
  EXPECT_THROW(CertificateRequest::from_pem("no pem here"), CryptoError);
}

TEST(DerUtf8String, RoundTripsUtf8Text) {
  const std::string text = "h\xc3\xa9llo {\"a\":1}";
  const std::string der = der_utf8_string(text);
  EXPECT_EQ(der[0], '\x0c');
  EXPECT_EQ(parse_der_utf8_string(der), text);
  EXPECT_EQ(parse_der_utf8_string(der_utf8_string("")), "");
}

TEST(DerUtf8String, RefusesOtherTagsAndTrailingBytes) {
  EXPECT_FALSE(parse_der_utf8_string(der_utf8_string("abc") + "x"));
  EXPECT_FALSE(
      parse_der_utf8_string(std::string("\x04\x01"
                                        "a",
                                        3)));  // OCTET STRING
  EXPECT_FALSE(
      parse_der_utf8_string(std::string("\x13\x01"
                                        "a",
                                        3)));  // PrintableString
  EXPECT_FALSE(
      parse_der_utf8_string(std::string("\x0c\x05"
                                        "a",
                                        3)));  // truncated
  EXPECT_FALSE(parse_der_utf8_string(R"({"raw":"json"})"));
  EXPECT_FALSE(parse_der_utf8_string(""));
}

}  // namespace
}  // namespace estfleet::crypto
