#include "client/csr_attributes.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

#include "client/errors.hpp"

namespace estfleet::client {
namespace {

// Hand-built DER pieces (tag, length, content).
std::string tlv(unsigned char tag, const std::string& content) {
  return std::string(1, static_cast<char>(tag)) +
         std::string(1, static_cast<char>(content.size())) + content;
}
const std::string kChallengePassword("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07", 11);
const std::string kExtensionRequest("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 11);
const std::string kEcPublicKey("\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 9);
const std::string kP256("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
const std::string kP384("\x06\x05\x2b\x81\x04\x00\x22", 7);
const std::string kEcdsaSha256("\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 10);
const std::string kRsaEncryption("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 11);
const std::string kSubjectAltName("\x06\x03\x55\x1d\x11", 5);
const std::string kEd25519("\x06\x03\x2b\x65\x70", 5);

TEST(CsrAttributes, NamesOidsAndAttributeValues) {
  // What est-server sends for a PoP profile: challengePassword, {ecPublicKey, {P-256}}, ecdsa.
  const auto der = tlv(0x30, kChallengePassword + tlv(0x30, kEcPublicKey + tlv(0x31, kP256)) +
                                 kEcdsaSha256 + kEd25519);
  const auto lines = describe_csr_attributes(der);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "challengePassword");
  EXPECT_EQ(lines[1], "ecPublicKey: secp256r1 (prime256v1)");
  EXPECT_EQ(lines[2], "ecdsa-with-SHA256");
  EXPECT_EQ(lines[3], "Ed25519");
}

TEST(CsrAttributes, IntegersAndExtensionRequests) {
  // RFC 9908 forms: an RSA key size, and an extensionRequest template listing subjectAltName.
  const std::string rsa_size = tlv(0x02, std::string("\x08\x00", 2));  // 2048
  const std::string extensions = tlv(0x30, tlv(0x30, kSubjectAltName + tlv(0x04, "")));
  const auto der = tlv(0x30, tlv(0x30, kRsaEncryption + tlv(0x31, rsa_size)) +
                                 tlv(0x30, kExtensionRequest + tlv(0x31, extensions)) +
                                 tlv(0x30, kEcPublicKey + tlv(0x31, kP384)));
  const auto lines = describe_csr_attributes(der);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "rsaEncryption: 2048");
  EXPECT_EQ(lines[1], "extensionRequest: subjectAltName");
  EXPECT_EQ(lines[2], "ecPublicKey: secp384r1");
}

TEST(CsrAttributes, UnknownOidsArePrintedDotted) {
  const std::string private_oid("\x06\x05\x2b\x06\x01\x04\x01", 7);  // 1.3.6.1.4.1
  EXPECT_EQ(describe_csr_attributes(tlv(0x30, private_oid)),
            std::vector<std::string>{"Enterprises"});
  const std::string unknown("\x06\x04\x2a\x03\x04\x05", 6);  // 1.2.3.4.5
  EXPECT_EQ(describe_csr_attributes(tlv(0x30, unknown)), std::vector<std::string>{"1.2.3.4.5"});
}

TEST(CsrAttributes, EmptyAnswerHasNoLines) {
  EXPECT_TRUE(describe_csr_attributes("").empty());
  EXPECT_TRUE(describe_csr_attributes(std::string("\x30\x00", 2)).empty());
}

TEST(CsrAttributes, RefusesMalformedDer) {
  const std::vector<std::string> garbage{
      std::string("\x30\x05\x06", 3),                         // truncated
      std::string("\x04\x00", 2),                             // not a SEQUENCE
      tlv(0x30, kP256) + "x",                                 // data after the SEQUENCE
      tlv(0x30, tlv(0x04, "abc")),                            // entry neither OID nor attribute
      tlv(0x30, tlv(0x30, tlv(0x04, "a"))),                   // attribute without a type OID
      tlv(0x30, tlv(0x30, kEcPublicKey)),                     // attribute without values
      tlv(0x30, tlv(0x30, kEcPublicKey + tlv(0x30, kP256))),  // values not a SET
      tlv(0x30, tlv(0x30, kEcPublicKey + tlv(0x31, kP256) + kP256)),  // junk after the SET
      std::string("\x30\x80\x00\x00", 4),                             // indefinite length
      std::string("\x30\x81\x00", 3),                                 // non-minimal length
      tlv(0x30, std::string("\x06\x00", 2)),                          // empty OID
      tlv(0x30, tlv(0x30, kExtensionRequest + tlv(0x31, tlv(0x30, tlv(0x04, ""))))),
      "hello, this is not DER at all",
  };
  for (const auto& der : garbage) {
    EXPECT_THROW(describe_csr_attributes(der), ClientError) << ::testing::PrintToString(der);
  }
}

TEST(CsrAttributes, ErrorSaysWhatWasWrong) {
  try {
    describe_csr_attributes(std::string("\x04\x00", 2));
    FAIL() << "an OCTET STRING is not a CsrAttrs";
  } catch (const ClientError& e) {
    EXPECT_STREQ(e.what(),
                 "the csrattrs response is not a valid DER CsrAttrs: it is not a SEQUENCE");
  }
}

// csrattrs are advice: whatever goes wrong, one line of warning and the configuration's own CSR;
// --require-csrattrs turns that line into the error.
TEST(AdvisedCsrTemplate, FollowsAUsableAnswerSilently) {
  std::vector<std::string> warnings;
  const auto wanted =
      advised_csr_template([] { return tlv(0x30, tlv(0x30, kEcPublicKey + tlv(0x31, kP384))); },
                           false, [&](const std::string& line) { warnings.push_back(line); });
  EXPECT_EQ(wanted.key_type, crypto::KeyType::ec_p384);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(advised_csr_template([] { return tlv(0x30, ""); }, true, nullptr).key_type,
            std::nullopt)
      << "an empty CsrAttrs is an answer: it asks for nothing";
}

TEST(AdvisedCsrTemplate, WarnsOnceAndAsksForNothingWhenTheAnswerIsUnusable) {
  const std::vector<std::pair<std::function<std::string()>, std::string>> cases{
      {[] { return std::string(); }, "the server has no csrattrs for this profile (204"},
      {[]() -> std::string {
         throw ServerRefused(404, "the server refused csrattrs (404): Not Found");
       },
       "the server refused csrattrs (404): Not Found"},
      {[]() -> std::string {
         throw ServerRefused(501, "the server refused csrattrs (501): no reason given");
       },
       "(501)"},
      {[]() -> std::string {
         throw ClientError("the csrattrs response body is neither base64 nor DER");
       },
       "neither base64 nor DER"},
      {[] { return std::string("not DER"); }, "is not a valid DER CsrAttrs"},
      {[]() -> std::string { throw std::runtime_error("cannot connect\r\nto anything"); },
       "cannot connect  to anything"},
  };
  for (const auto& [fetch, needle] : cases) {
    std::vector<std::string> warnings;
    const auto wanted = advised_csr_template(
        fetch, false, [&](const std::string& line) { warnings.push_back(line); });
    EXPECT_EQ(wanted.key_type, std::nullopt);
    EXPECT_TRUE(wanted.fixed_subject.empty());
    ASSERT_EQ(warnings.size(), 1U) << needle;
    EXPECT_NE(warnings[0].find("ignoring the server's csrattrs"), std::string::npos);
    EXPECT_NE(warnings[0].find(needle), std::string::npos) << warnings[0];
    EXPECT_EQ(warnings[0].find_first_of("\r\n"), std::string::npos) << "one line";

    try {
      advised_csr_template(fetch, true, [&](const std::string& line) {
        ADD_FAILURE() << "warned although required: " << line;
      });
      ADD_FAILURE() << "required, yet accepted: " << needle;
    } catch (const ClientError& e) {
      EXPECT_NE(std::string(e.what()).find("csrattrs are required (--require-csrattrs): "),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace estfleet::client
