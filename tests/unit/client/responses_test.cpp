#include "client/responses.hpp"

#include <gtest/gtest.h>

#include "client/errors.hpp"
#include "crypto/encoding.hpp"
#include "crypto/pkcs7.hpp"
#include "crypto/pki_fixture.hpp"

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

std::string pkcs7_body(const std::vector<crypto::Certificate>& certs) {
  return crypto::base64_encode(crypto::pkcs7_certs_only(certs), 64);
}

TEST(RetryAfter, SecondsAndHttpDate) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after("0", now), 0s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), 60s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:40:37 GMT", now), 0s) << "a date in the past";
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("12abc", now), std::nullopt);
}

TEST(RetryAfter, DistantValuesAreBoundedNotOverflowed) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1094 08:49:37 GMT", now), 0s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 9994 08:49:37 GMT", now), kLongestRetryAfter);
  EXPECT_EQ(parse_retry_after("9223372036854775807", now), kLongestRetryAfter);
  // What the client then does with it must not overflow either.
  EXPECT_GT(std::chrono::steady_clock::now() + *parse_retry_after("99999999999999", now),
            std::chrono::steady_clock::now());
}

TEST(CheckStatus, SuccessIsNotPending) {
  EXPECT_FALSE(check_status(response(200, "", ""), "cacerts"));
  EXPECT_FALSE(check_status(response(204, "", ""), "csrattrs"));
}

TEST(CheckStatus, PendingWithRetryAfterSeconds) {
  auto pending = response(202, "", "");
  pending.headers.emplace_back("Retry-After", "7");
  const auto result = check_status(pending, "simpleenroll");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->retry_after, 7s);
}

TEST(CheckStatus, PendingWithRetryAfterHttpDate) {
  auto pending = response(202, "", "");
  // An hour from now as an IMF-fixdate: the wait comes out close to 3600 s.
  const std::time_t later = std::time(nullptr) + 3600;
  std::tm tm{};
  gmtime_r(&later, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  pending.headers.emplace_back("Retry-After", date);
  const auto result = check_status(pending, "simpleenroll");
  ASSERT_TRUE(result);
  EXPECT_GE(result->retry_after, 3590s);
  EXPECT_LE(result->retry_after, 3600s);
}

TEST(CheckStatus, RefusalCarriesStatusAndTheServersSentence) {
  try {
    check_status(response(409, "text/plain", "thing X already holds one\nmore"), "simpleenroll");
    FAIL() << "a 409 must throw";
  } catch (const ServerRefused& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_STREQ(e.what(), "the server refused simpleenroll (409): thing X already holds one");
  }
  try {
    check_status(response(401, "text/plain", ""), "simpleenroll");
    FAIL() << "a 401 must throw";
  } catch (const ServerRefused& e) {
    EXPECT_EQ(e.status(), 401);
    EXPECT_STREQ(e.what(), "the server refused simpleenroll (401): no reason given");
  }
}

TEST(DecodeBody, AcceptsTheMediaTypeWithOrWithoutParameters) {
  EXPECT_EQ(decode_body(response(200, "application/pkcs7-mime; smime-type=certs-only", "QUJD\n"),
                        "application/pkcs7-mime", "x"),
            "ABC");
  EXPECT_EQ(decode_body(response(200, "Application/PKCS7-MIME", "QU\r\nJD\r\n"),
                        "application/pkcs7-mime", "x"),
            "ABC");
  EXPECT_EQ(decode_body(response(200, "application/csrattrs", "QUJD"), "application/csrattrs", "x"),
            "ABC");
  EXPECT_EQ(decode_body(response(200, " APPLICATION/CSRATTRS ; Charset=\"x\"", "QUJD"),
                        "application/csrattrs", "x"),
            "ABC");
}

TEST(DecodeBody, RefusesWrongTypeAndBadBase64) {
  EXPECT_THROW(decode_body(response(200, "text/html", "QUJD"), "application/pkcs7-mime", "x"),
               ClientError);
  EXPECT_THROW(decode_body(response(200, "", "QUJD"), "application/pkcs7-mime", "x"), ClientError);
  EXPECT_THROW(
      decode_body(response(200, "application/pkcs7-mime", "!!"), "application/pkcs7-mime", "x"),
      ClientError);
  EXPECT_THROW(
      decode_body(response(200, "application/pkcs7-mime", ""), "application/pkcs7-mime", "x"),
      ClientError);
  try {
    decode_body(response(200, "application/csrattrs", "<html>"), "application/csrattrs",
                "csrattrs");
    FAIL() << "accepted HTML";
  } catch (const ClientError& e) {
    EXPECT_STREQ(e.what(), "the csrattrs response body is neither base64 nor DER");
  }
}

// What deployed servers send beside RFC 8951's one-line base64; each must read as the same DER.
TEST(BodyDer, ReadsBase64InEveryCommonShape) {
  const crypto::testing::TestPki pki;
  const auto der = crypto::pkcs7_certs_only({pki.issuing, pki.root});
  const auto flat = crypto::base64_encode(der);
  std::string crlf;
  for (std::size_t i = 0; i < flat.size(); i += 64) {
    crlf += flat.substr(i, 64) + "\r\n";
  }
  for (const auto& body : {
           flat, flat + std::string(1, '\0'),  // a C string's NUL, counted in Content-Length
           flat + std::string("\r\n\0\0", 4),  // line end and NULs
           flat + " \t\r\n \n",                // trailing whitespace
           crypto::base64_encode(der, 64),     // LF every 64 characters
           crlf,                               // CRLF every 64 characters
           crlf + std::string(1, '\0'),
           "\r\n" + flat,                     // leading line end
           crypto::pem_encode(der, "PKCS7"),  // PEM armour
       }) {
    EXPECT_EQ(body_der(body), der) << body.substr(0, 20) << "..." << body.substr(body.size() - 4);
  }
}

TEST(BodyDer, ReadsRawDerWithOrWithoutPadding) {
  const crypto::testing::TestPki pki;
  const auto der = crypto::pkcs7_certs_only({pki.root});
  EXPECT_EQ(body_der(der), der);
  EXPECT_EQ(body_der(der + std::string(1, '\0')), der);
  EXPECT_EQ(body_der(der + "\r\n"), der);
  // Short forms too: a csrattrs SEQUENCE of one OID, and an empty SEQUENCE.
  const std::string short_der("\x30\x05\x06\x03\x55\x1d\x11", 7);
  EXPECT_EQ(body_der(short_der), short_der);
  EXPECT_EQ(body_der(std::string("\x30\x00", 2)), std::string("\x30\x00", 2));
}

TEST(BodyDer, RefusesWhatIsNeitherBase64NorDer) {
  const crypto::testing::TestPki pki;
  const auto der = crypto::pkcs7_certs_only({pki.root});
  EXPECT_EQ(body_der(""), std::nullopt);
  EXPECT_EQ(body_der(std::string(3, '\0')), std::nullopt);
  EXPECT_EQ(body_der(" \r\n"), std::nullopt);
  EXPECT_EQ(body_der("%%% not base64 %%%"), std::nullopt);
  EXPECT_EQ(body_der(std::string("QUJD\0QUJD", 9)), std::nullopt) << "a NUL inside the base64";
  EXPECT_EQ(body_der(der.substr(0, der.size() - 1)), std::nullopt) << "DER cut short";
  EXPECT_EQ(body_der(der + "x"), std::nullopt) << "DER followed by more than padding";
  EXPECT_EQ(body_der(std::string("\x30\x80\x05\x00\x00\x00", 6)), std::nullopt)
      << "BER's indefinite length";
  EXPECT_EQ(body_der(std::string("\x30\x85\x01\x00\x00\x00\x00", 7)), std::nullopt)
      << "a five-octet length";
}

TEST(DecodeBody, TheContentTransferEncodingDoesNotDecide) {
  const crypto::testing::TestPki pki;
  const auto der = crypto::pkcs7_certs_only({pki.root});
  for (const auto* encoding : {"base64", "BASE64", "binary", "8bit", ""}) {
    for (const auto& body : {der, crypto::base64_encode(der) + std::string(1, '\0')}) {
      auto r = response(200, "application/pkcs7-mime", body);
      if (*encoding != '\0') {
        r.headers.emplace_back("Content-Transfer-Encoding", encoding);
      }
      EXPECT_EQ(decode_body(r, "application/pkcs7-mime", "cacerts"), der) << encoding;
    }
  }
}

TEST(DecodeCertificates, ReadsACertsOnlyPkcs7) {
  const crypto::testing::TestPki pki;
  const auto certs = decode_certificates(
      response(200, "application/pkcs7-mime", pkcs7_body({pki.issuing, pki.root})), "cacerts");
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[0].to_der(), pki.issuing.to_der());
  EXPECT_EQ(certs[1].to_der(), pki.root.to_der());
}

TEST(DecodeCertificates, RefusesWhatIsNotPkcs7) {
  EXPECT_THROW(
      decode_certificates(
          response(200, "application/pkcs7-mime", crypto::base64_encode("not pkcs7")), "x"),
      ClientError);
  const crypto::testing::TestPki pki;
  EXPECT_THROW(
      decode_certificates(response(200, "application/pkcs10", pkcs7_body({pki.root})), "cacerts"),
      ClientError)
      << "the right bytes under the wrong media type";
}

}  // namespace
}  // namespace estfleet::client
