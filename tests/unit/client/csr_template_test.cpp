// Following the server's csrattrs: the key type and the fixed subject of an RFC 9908 template.
#include <gtest/gtest.h>

#include "client/csr_attributes.hpp"
#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "crypto/csr.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::client {
namespace {

// est-server's answer for key_type = "rsa-3072", subject = ["O=Acme Sensors", "OU"],
// extensions = ["subjectAltName"]: the §3.2 rsaEncryption/3072 attribute, sha256WithRSA, and the
// §3.4 template (CN, O fixed, OU open; rsaEncryption; extensionReqTemplate with the SAN).
constexpr const char* kServerTemplate =
    "30818c301106092a864886f70d010101310402020c0006092a864886f70d01010b306c060b2a864886f70d010910"
    "023d315d305b020100302931073005060355040331153013060355040a0c0c41636d652053656e736f7273310730"
    "05060355040ba00f300d06092a864886f70d0101010500a11a3018060b2a864886f70d010910023e310930073005"
    "0603551d11";

TEST(CsrTemplate, ReadsTheKeyTypeAndTheFixedSubject) {
  const auto wanted = read_csr_template(*crypto::hex_decode(kServerTemplate));
  EXPECT_EQ(wanted.key_type, crypto::KeyType::rsa_3072);
  ASSERT_EQ(wanted.fixed_subject.size(), 1u) << "the open OU and the CN are the client's to fill";
  EXPECT_EQ(wanted.fixed_subject[0].first, "2.5.4.10");
  EXPECT_EQ(wanted.fixed_subject[0].second, "Acme Sensors");
  const auto lines = describe_csr_attributes(*crypto::hex_decode(kServerTemplate));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "rsaEncryption: 3072");
  EXPECT_EQ(lines[2], "certificationRequestInfoTemplate: (value)");
}

TEST(CsrTemplate, TheSection32KeyAttributesAloneAreFollowedToo) {
  // SEQUENCE { challengePassword, ecPublicKey: secp384r1, ecdsa-with-SHA384 }
  const auto der = *crypto::hex_decode(
      "302906092a864886f70d0109073012"
      "06072a8648ce3d0201310706052b81040022"
      "06082a8648ce3d040303");
  EXPECT_EQ(read_csr_template(der).key_type, crypto::KeyType::ec_p384);
  EXPECT_TRUE(read_csr_template(der).fixed_subject.empty());
  EXPECT_EQ(read_csr_template(*crypto::hex_decode("300506032b6570")).key_type,
            crypto::KeyType::ed25519);
  EXPECT_FALSE(read_csr_template("").key_type) << "204: nothing asked";
  EXPECT_FALSE(read_csr_template(*crypto::hex_decode("3000")).key_type);
}

TEST(CsrTemplate, MalformedTemplatesAreRefused) {
  EXPECT_THROW(read_csr_template(*crypto::hex_decode("3103020100")), ClientError);
  // A template whose version is 1.
  EXPECT_THROW(
      read_csr_template(*crypto::hex_decode("30163014060b2a864886f70d010910023d31053003020101")),
      ClientError);
}

TEST(CsrTemplate, TheSubjectCarriesTheFixedAttributesAfterTheCn) {
  EXPECT_FALSE(subject_with_template("DeviceAlpha", {}));
  const auto subject = subject_with_template("DeviceAlpha", {{"2.5.4.10", "Acme Sensors"}});
  ASSERT_TRUE(subject);
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CsrSpec spec;
  spec.subject_der = subject;
  const auto csr = crypto::build_csr(spec, key);
  EXPECT_EQ(csr.subject_text(), "O=Acme Sensors,CN=DeviceAlpha");
}

// With no channel binding (TLS 1.2 without the extended master secret) a PoP CSR cannot be made:
// the client says so instead of sending an empty challengePassword.
TEST(PopChallengePassword, IsTheBindingInBase64OrARefusal) {
  EXPECT_EQ(pop_challenge_password(std::string("\x01\x02\x03", 3)), "AQID");
  EXPECT_THROW(pop_challenge_password(""), ClientError);
}

}  // namespace
}  // namespace estfleet::client
