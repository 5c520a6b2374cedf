#include "client/responses.hpp"

#include <gtest/gtest.h>

#include "client/csr_attributes.hpp"
#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "crypto/encoding.hpp"

namespace estfleet::client {
namespace {

using namespace std::chrono_literals;

http::Response response(int status, std::string type, std::string body) {
  http::Response r;
  r.status = status;
  if (!type.empty()) {
    r.headers.emplace_back("Content-Type", std::move(type));
  }
  r.body = std::move(body);
  return r;
}

TEST(EstPath, LabelAndPrefix) {
  EXPECT_EQ(est_path("", "", "cacerts"), "/.well-known/est/cacerts");
  EXPECT_EQ(est_path("", "factory", "simpleenroll"), "/.well-known/est/factory/simpleenroll");
  EXPECT_EQ(est_path("/pki", "", "csrattrs"), "/pki/.well-known/est/csrattrs");
}

TEST(Fingerprint, NormalisesColonsAndCase) {
  const std::string hex(64, 'a');
  std::string colons;
  for (std::size_t i = 0; i < 64; i += 2) {
    colons += (i ? ":" : "") + std::string("AA");
  }
  EXPECT_EQ(normalize_fingerprint(colons), hex);
  EXPECT_EQ(normalize_fingerprint(hex), hex);
  EXPECT_EQ(normalize_fingerprint(std::string(63, 'a')), std::nullopt);
  EXPECT_EQ(normalize_fingerprint(std::string(64, 'g')), std::nullopt);
}

TEST(RetryAfter, SecondsAndHttpDate) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), 60s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:40:37 GMT", now), 0s) << "a date in the past";
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
}

TEST(CheckStatus, PendingRefusedAndOk) {
  EXPECT_FALSE(check_status(response(200, "", ""), "x"));
  auto pending = response(202, "", "");
  pending.headers.emplace_back("Retry-After", "7");
  EXPECT_EQ(check_status(pending, "x")->retry_after, 7s);
  try {
    check_status(response(409, "text/plain", "thing X already holds one\nmore"), "simpleenroll");
    FAIL();
  } catch (const ServerRefused& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_STREQ(e.what(), "the server refused simpleenroll (409): thing X already holds one");
  }
}

TEST(DecodeBody, ChecksTypeAndBase64) {
  EXPECT_EQ(decode_body(response(200, "application/pkcs7-mime; smime-type=certs-only", "QUJD\n"),
                        "application/pkcs7-mime", "x"),
            "ABC");
  EXPECT_THROW(decode_body(response(200, "text/html", "QUJD"), "application/pkcs7-mime", "x"),
               ClientError);
  EXPECT_THROW(decode_body(response(200, "", "QUJD"), "application/pkcs7-mime", "x"), ClientError);
  EXPECT_THROW(
      decode_body(response(200, "application/pkcs7-mime", "!!"), "application/pkcs7-mime", "x"),
      ClientError);
  EXPECT_THROW(
      decode_certificates(
          response(200, "application/pkcs7-mime", crypto::base64_encode("not pkcs7")), "x"),
      ClientError);
}

TEST(CsrAttributes, DescribesOidsAndAttributes) {
  // SEQUENCE { challengePassword, SEQUENCE { ecPublicKey, SET { prime256v1 } } }
  const std::string der(
      "\x30\x22\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07"
      "\x30\x15\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x31\x0a\x06\x08\x2a\x86\x48\xce\x3d\x03\x01"
      "\x07",
      36);
  const auto lines = describe_csr_attributes(der);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "challengePassword");
  EXPECT_EQ(lines[1], "id-ecPublicKey: prime256v1");
  EXPECT_TRUE(describe_csr_attributes("").empty());
  EXPECT_THROW(describe_csr_attributes("\x30\x05\x06"), ClientError);
  EXPECT_THROW(describe_csr_attributes(std::string("\x04\x00", 2)), ClientError);
}

}  // namespace
}  // namespace estfleet::client
