#include "est/media.hpp"

#include <gtest/gtest.h>

#include "support/strict_base64.hpp"

namespace estfleet::est {
namespace {

TEST(Media, MediaTypeIgnoresParametersCaseAndSpace) {
  EXPECT_EQ(media_type_of("application/pkcs10"), "application/pkcs10");
  EXPECT_EQ(media_type_of(" Application/PKCS10 ; charset=x"), "application/pkcs10");
  EXPECT_EQ(media_type_of("application/pkcs7-mime; smime-type=certs-only"),
            "application/pkcs7-mime");
}

TEST(Media, DecodeBodyToleratesLineBreaksAndPemArmour) {
  EXPECT_EQ(decode_body("aGVs\r\nbG8=\r\n"), "hello");
  EXPECT_EQ(decode_body("-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8=\n"
                        "-----END CERTIFICATE REQUEST-----\n"),
            "hello");
  EXPECT_EQ(decode_body("not base64!"), std::nullopt);
  EXPECT_EQ(decode_body(""), std::nullopt);
}

// RFC 8951: one line, nothing else, readable by a decoder that does not skip line breaks.
TEST(Media, Base64ResponseIsOneLineWithNothingAround) {
  std::string der(200, 'x');
  der[7] = '\0';
  const auto response = base64_response(kCertsOnly, der);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), kCertsOnly);
  EXPECT_EQ(response.header("Content-Transfer-Encoding"), "base64");
  EXPECT_EQ(response.body.find_first_of("\r\n \t"), std::string::npos) << response.body;
  EXPECT_EQ(testing::strict_base64_decode(response.body), der);
}

TEST(Media, TheStrictTestDecoderRefusesWhatSomeClientsRefuse) {
  EXPECT_EQ(testing::strict_base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(testing::strict_base64_decode("aGVs\nbG8="), std::nullopt);
  EXPECT_EQ(testing::strict_base64_decode("aGVsbG8=\n"), std::nullopt);
  EXPECT_EQ(testing::strict_base64_decode(std::string("aGVsbG8=\0", 9)), std::nullopt);
  EXPECT_EQ(testing::strict_base64_decode("aG=sbG8="), std::nullopt);
}

TEST(Media, ErrorResponseIsOneLineOfPlainText) {
  const auto response = error_response(415, "wrong type");
  EXPECT_EQ(response.status, 415);
  EXPECT_EQ(response.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response.body, "wrong type\n");
}

}  // namespace
}  // namespace estfleet::est
