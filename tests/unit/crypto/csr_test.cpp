#include "crypto/csr.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>

#include <stdexcept>

#include "crypto/certificate.hpp"
#include "crypto/der.hpp"
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
  EXPECT_EQ(csr.version(), 0);
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

// A signed CSR whose extensionRequest attribute holds a UTF8String instead of Extensions.
X509ReqPtr request_with_damaged_extension_request() {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  X509ReqPtr req(X509_REQ_new());
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_add1_attr_by_NID(req.get(), NID_ext_req, V_ASN1_UTF8STRING,
                                reinterpret_cast<const unsigned char*>("x"), 1) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("cannot build the test CSR");
  }
  return req;
}

TEST(Csr, DamagedExtensionRequestIsRefusedNotIgnored) {
  X509ReqPtr req = request_with_damaged_extension_request();
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

// The SubjectPublicKeyInfo of a request as it is encoded in the request.
std::string spki_in(CertificateRequest& built) {
  return encode_der(X509_REQ_get_X509_PUBKEY(built.mutable_request()), i2d_X509_PUBKEY,
                    "the request's key");
}

// A request whose SubjectPublicKeyInfo is `algorithm` (with the named `curve`, or no parameters
// for NID_undef) and the key bits `bits`, signed by `signer`: it parses, whatever the bits are.
std::string csr_with_key_bits(int algorithm, int curve, const std::string& bits,
                              const PrivateKey& signer) {
  X509ReqPtr req(X509_REQ_new());
  // Empty bits: OPENSSL_memdup answers null, and the key's BIT STRING stays empty.
  auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(bits.data(), bits.size()));
  EXPECT_EQ(
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("device-1"), -1, -1, 0),
      1);
  EXPECT_EQ(X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req.get()), OBJ_nid2obj(algorithm),
                                   curve == NID_undef ? V_ASN1_UNDEF : V_ASN1_OBJECT,
                                   curve == NID_undef ? nullptr : OBJ_nid2obj(curve), copy,
                                   static_cast<int>(bits.size())),
            1);
  EXPECT_GT(X509_REQ_sign(req.get(), signer.get(), EVP_sha256()), 0);
  return encode_der(req.get(), i2d_X509_REQ, "the CSR");
}

// EC P-256/P-384 and Ed25519 keys are built from their bits (no OpenSSL decoder), RSA keys and
// other curves through the decoder: either way the key is the one the request carries, encoded
// as it came (a compressed point stays compressed), and the signature verifies with it.
TEST(Csr, ParsedKeysAreTheKeysAsTheyCame) {
  std::vector<PrivateKey> keys;
  for (const auto type : {KeyType::ec_p256, KeyType::ec_p384, KeyType::ed25519, KeyType::rsa_2048,
                          KeyType::ec_p256, KeyType::ec_p384}) {
    keys.push_back(PrivateKey::generate(type));
  }
  for (std::size_t i = 4; i < keys.size(); ++i) {
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(
                  keys[i].get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
              1);
  }
  keys.emplace_back(PkeyPtr(EVP_EC_gen("secp256k1")));  // another curve: through the decoder
  for (auto& key : keys) {
    CsrSpec spec;
    spec.common_name = "device-1";
    auto built = build_csr(spec, key);
    const std::string spki = spki_in(built);
    const auto parsed = CertificateRequest::from_der(built.to_der());
    const std::string what =
        describe_key(key.get()).to_string() + ", SPKI of " + std::to_string(spki.size()) + " bytes";
    ASSERT_NE(parsed.public_key(), nullptr) << what;
    EXPECT_EQ(public_key_der(parsed.public_key()), spki) << what;
    EXPECT_EQ(describe_key(parsed.public_key()).to_string(), describe_key(key.get()).to_string());
    EXPECT_EQ(EVP_PKEY_eq(parsed.public_key(), key.get()), 1) << what;
    EXPECT_TRUE(parsed.verify_signature()) << what;
    EXPECT_EQ(encode_der(const_cast<X509_PUBKEY*>(parsed.public_key_info()), i2d_X509_PUBKEY,
                         "the parsed key"),
              spki)
        << what;
  }
  EXPECT_EQ(public_key_der(keys[4].get()).size(), 59u) << "P-256, compressed point";
}

// Key bits that are no point of the named curve: the request parses, without a key (which
// parse_enrollment_csr refuses), and does not verify.
TEST(Csr, EcKeyBitsThatAreNoPointOfTheCurveGiveNoKey) {
  const auto signer = PrivateKey::generate(KeyType::ec_p256);
  const std::string point = signer.public_key_der().substr(signer.public_key_der().size() - 65);
  ASSERT_EQ(point[0], '\x04');
  std::string off_curve = point;
  off_curve.back() = static_cast<char>(off_curve.back() ^ 1);
  for (const auto& [curve, bits] : std::vector<std::pair<int, std::string>>{
           {NID_X9_62_prime256v1, off_curve},
           {NID_X9_62_prime256v1, std::string(1, '\0')},      // the point at infinity
           {NID_X9_62_prime256v1, "\x06" + point.substr(1)},  // hybrid form (not in RFC 5480)
           {NID_X9_62_prime256v1, point.substr(0, 64)},       // one byte short
           {NID_X9_62_prime256v1, point + '\0'},              // one byte long
           {NID_X9_62_prime256v1, "\x05" + point.substr(1)},  // no such point form
           {NID_secp384r1, point},                            // a P-256 point named P-384
           {NID_X9_62_prime256v1, ""}}) {
    const auto csr = CertificateRequest::from_der(
        csr_with_key_bits(NID_X9_62_id_ecPublicKey, curve, bits, signer));
    EXPECT_EQ(csr.public_key(), nullptr) << OBJ_nid2sn(curve) << ", " << bits.size() << " bytes";
    EXPECT_FALSE(csr.verify_signature());
    EXPECT_NE(csr.public_key_info(), nullptr);
  }
  // The untouched point, for contrast, is a key (and the request verifies: its own key signed it).
  const auto csr = CertificateRequest::from_der(
      csr_with_key_bits(NID_X9_62_id_ecPublicKey, NID_X9_62_prime256v1, point, signer));
  ASSERT_NE(csr.public_key(), nullptr);
  EXPECT_TRUE(csr.verify_signature());
}

TEST(Csr, Ed25519KeyBitsOfAnotherLengthGiveNoKey) {
  const auto signer = PrivateKey::generate(KeyType::ec_p256);
  for (const auto& bits : {std::string(31, '\x11'), std::string(33, '\x11'), std::string()}) {
    const auto csr =
        CertificateRequest::from_der(csr_with_key_bits(NID_ED25519, NID_undef, bits, signer));
    EXPECT_EQ(csr.public_key(), nullptr) << bits.size() << " bytes";
  }
}

TEST(Csr, ParsedDamagedExtensionRequestIsRefusedNotIgnored) {
  const X509ReqPtr req = request_with_damaged_extension_request();
  const auto csr = CertificateRequest::from_der(encode_der(req.get(), i2d_X509_REQ, "the CSR"));
  EXPECT_TRUE(csr.verify_signature());
  EXPECT_THROW(csr.requested_extensions(), CryptoError);
  EXPECT_THROW(csr.subject_alt_name_der(), CryptoError);
}

TEST(Csr, ParsedRequestKeepsItsDerAndRefusesTrailingBytes) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  const std::string der = build_csr(full_spec(), key).to_der();
  EXPECT_EQ(CertificateRequest::from_der(der).to_der(), der);
  EXPECT_THROW(CertificateRequest::from_der(der + '\0'), CryptoError);
  EXPECT_THROW(CertificateRequest::from_der(der.substr(0, der.size() - 1)), CryptoError);
}

// A signature over the request as it came: a changed subject does not verify.
TEST(Csr, ParsedRequestWithAChangedSubjectDoesNotVerify) {
  const auto key = PrivateKey::generate(KeyType::ec_p256);
  std::string der = build_csr(full_spec(), key).to_der();
  const auto at = der.find("device-1");
  ASSERT_NE(at, std::string::npos);
  der[at] = 'D';
  const auto csr = CertificateRequest::from_der(der);
  EXPECT_EQ(csr.subject_common_names(), std::vector<std::string>{"Device-1"});
  EXPECT_FALSE(csr.verify_signature());
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
