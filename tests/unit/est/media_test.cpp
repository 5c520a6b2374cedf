#include "est/media.hpp"

#include <gtest/gtest.h>

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

TEST(Media, Base64ResponseUsesLinesOf64) {
  const auto response = base64_response(kCertsOnly, std::string(200, 'x'));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), kCertsOnly);
  std::size_t start = 0;
  while (start < response.body.size()) {
    const auto end = response.body.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 64u);
    EXPECT_EQ(response.body.find('\r'), std::string::npos);
    start = end + 1;
  }
}

TEST(Media, ErrorResponseIsOneLineOfPlainText) {
  const auto response = error_response(415, "wrong type");
  EXPECT_EQ(response.status, 415);
  EXPECT_EQ(response.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response.body, "wrong type\n");
}

}  // namespace
}  // namespace estfleet::est
