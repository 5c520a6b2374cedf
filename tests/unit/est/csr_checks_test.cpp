// parse_enrollment_csr: the first refusals an enrollment body meets, before any work with its key.
#include "est/csr_checks.hpp"

#include <gtest/gtest.h>

#include "crypto/certificate.hpp"
#include "crypto/csr.hpp"
#include "crypto/encoding.hpp"
#include "crypto/key.hpp"
#include "est/refusal.hpp"

namespace estfleet::est {
namespace {

std::string csr_der() {
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CsrSpec spec;
  spec.subject_der = crypto::name_der({{"CN", "DeviceAlpha"}});
  return crypto::build_csr(spec, key).to_der();
}

int refusal_status(std::string_view body, std::string& message) {
  try {
    parse_enrollment_csr(body);
  } catch (const Refusal& refusal) {
    message = refusal.what();
    return refusal.status();
  }
  return 200;
}

TEST(ParseEnrollmentCsr, AcceptsAWellFormedRequest) {
  std::string message;
  EXPECT_EQ(refusal_status(crypto::base64_encode(csr_der(), 64), message), 200) << message;
}

// Found by fuzz_csr: OpenSSL reads an undecodable SubjectPublicKeyInfo into a request without a
// key; the key policy dereferenced it and crashed the server.
TEST(ParseEnrollmentCsr, RefusesAKeyOfAnUnknownAlgorithmWithoutCrashing) {
  std::string der = csr_der();
  const std::string ec_public_key("\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 9);  // id-ecPublicKey
  const auto at = der.find(ec_public_key);
  ASSERT_NE(at, std::string::npos);
  der[at + ec_public_key.size() - 1] = '\x7f';  // 1.2.840.10045.2.127: no such algorithm
  std::string message;
  EXPECT_EQ(refusal_status(crypto::base64_encode(der, 64), message), 400);
  EXPECT_NE(message.find("public key cannot be read"), std::string::npos) << message;
}

// EC keys are read from their bits: a point off its curve is no key, refused like any other
// unreadable key (and before its signature is checked).
TEST(ParseEnrollmentCsr, RefusesAnEcPointThatIsNotOnItsCurve) {
  std::string der = csr_der();
  const std::string point_header("\x03\x42\x00\x04", 4);  // BIT STRING of an uncompressed point
  const auto at = der.find(point_header);
  ASSERT_NE(at, std::string::npos);
  der[at + point_header.size() + 63] ^= 1;  // the last byte of y
  std::string message;
  EXPECT_EQ(refusal_status(crypto::base64_encode(der, 64), message), 400);
  EXPECT_NE(message.find("public key cannot be read"), std::string::npos) << message;
}

TEST(ParseEnrollmentCsr, RefusesBodiesThatAreNotARequest) {
  std::string message;
  EXPECT_EQ(refusal_status("not base64 at all!", message), 400);
  EXPECT_EQ(refusal_status(crypto::base64_encode("\x30\x03\x02\x01\x01"), message), 400);
  EXPECT_NE(message.find("PKCS#10"), std::string::npos) << message;
}

}  // namespace
}  // namespace estfleet::est
