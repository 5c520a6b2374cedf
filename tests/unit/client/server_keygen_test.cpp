// Reading serverkeygen answers on the device: parts in any order, both key forms, refusals.
#include "client/server_keygen.hpp"

#include <gtest/gtest.h>

#include "client/errors.hpp"
#include "common/multipart.hpp"
#include "crypto/cms.hpp"
#include "crypto/encoding.hpp"
#include "crypto/pkcs7.hpp"
#include "crypto/pki_fixture.hpp"
#include "crypto/server_key.hpp"

namespace estfleet::client {
namespace {

using crypto::testing::TestPki;

common::MimePart part(const std::string& type, const std::string& der) {
  return common::MimePart{{{"Content-Type", type}, {"Content-Transfer-Encoding", "base64"}},
                          crypto::base64_encode(der, 64)};
}

http::Response multipart(const std::vector<common::MimePart>& parts) {
  http::Response response;
  response.headers = {{"Content-Type", "multipart/mixed; boundary=\"zz-9\""}};
  response.body = common::build_multipart(parts, "zz-9");
  return response;
}

void expect_refused(const http::Response& response, const std::string& needle) {
  try {
    parse_server_keygen_response(response);
    ADD_FAILURE() << "accepted, expected: " << needle;
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

class ServerKeygenResponseTest : public ::testing::Test {
 protected:
  TestPki pki_;
  std::string certs_ = crypto::pkcs7_certs_only({pki_.leaf});
  std::string pkcs8_ = crypto::pkcs8_der(pki_.device_key);
};

TEST_F(ServerKeygenResponseTest, PartsInEitherOrder) {
  for (const bool key_first : {true, false}) {
    std::vector<common::MimePart> parts{
        part("application/pkcs8", pkcs8_),
        part("application/pkcs7-mime; smime-type=certs-only", certs_)};
    if (!key_first) {
      std::swap(parts[0], parts[1]);
    }
    const auto result = parse_server_keygen_response(multipart(parts));
    ASSERT_TRUE(result.pkcs8_der);
    EXPECT_EQ(*result.pkcs8_der, pkcs8_);
    EXPECT_FALSE(result.enveloped_der);
    ASSERT_EQ(result.certificates.size(), 1u);
    EXPECT_EQ(result.certificates.front().to_der(), pki_.leaf.to_der());
    const auto key = open_generated_key(result, std::nullopt, std::nullopt, {});
    EXPECT_TRUE(pki_.leaf.matches_private_key(key.get()));
  }
}

TEST_F(ServerKeygenResponseTest, TheEnvelopedFormOpensWithTheDecryptionKey) {
  // The server's way: SignedData by the issuing CA of the key package, enveloped bare.
  const auto recipient = pki_.leaf;
  const auto signed_der =
      crypto::cms_sign(crypto::key_package_der(pki_.issuing_key), crypto::kAsymmetricKeyPackageOid,
                       pki_.issuing, pki_.issuing_key.get());
  const auto enveloped = crypto::cms_envelope(crypto::content_info_content(signed_der),
                                              crypto::kSignedDataOid, recipient);
  const auto result = parse_server_keygen_response(
      multipart({part("application/pkcs7-mime; smime-type=certs-only", certs_),
                 part("Application/PKCS7-MIME; smime-type=\"server-generated-key\"", enveloped)}));
  ASSERT_TRUE(result.enveloped_der);
  const auto key =
      open_generated_key(result, crypto::PrivateKey::from_pem(pki_.device_key.to_pem()), recipient,
                         {pki_.issuing, pki_.root});
  EXPECT_EQ(key.to_pem(), pki_.issuing_key.to_pem());

  try {
    open_generated_key(result, std::nullopt, std::nullopt, {pki_.issuing});
    ADD_FAILURE() << "opened without a key";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("no decryption key"), std::string::npos) << e.what();
  }
  try {
    open_generated_key(result, crypto::PrivateKey::from_pem(pki_.device_key.to_pem()), recipient,
                       {pki_.root});
    ADD_FAILURE() << "accepted a signer that is not among the CA certificates";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("not one of the server's CA certificates"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(open_generated_key(result, crypto::PrivateKey::generate(crypto::KeyType::ec_p256),
                                  std::nullopt, {pki_.issuing}),
               ClientError);
}

// With --decrypt-cert/--decrypt-key the key must come encrypted: a plain PKCS#8 answer means
// something on the way (a TLS-terminating proxy) saw the key, which encryption was asked to
// prevent.
TEST_F(ServerKeygenResponseTest, APlainKeyIsRefusedWhenEncryptionWasAskedFor) {
  const auto result = parse_server_keygen_response(
      multipart({part("application/pkcs8", pkcs8_),
                 part("application/pkcs7-mime; smime-type=certs-only", certs_)}));
  try {
    open_generated_key(result, crypto::PrivateKey::from_pem(pki_.device_key.to_pem()), pki_.leaf,
                       {pki_.issuing, pki_.root});
    ADD_FAILURE() << "accepted a plain key although encryption was asked for";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("unencrypted"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--decrypt-key"), std::string::npos) << e.what();
  }
}

// Parts as other servers write them: raw DER, a trailing NUL, CRLF line breaks, no or another
// Content-Transfer-Encoding, upper-case media types with parameters.
TEST_F(ServerKeygenResponseTest, QuirkyPartsAreRead) {
  const auto with = [](const std::string& type, std::string body,
                       const std::optional<std::string>& encoding) {
    common::MimePart p{{{"Content-Type", type}}, std::move(body)};
    if (encoding) {
      p.headers.emplace_back("Content-Transfer-Encoding", *encoding);
    }
    return p;
  };
  std::string crlf;
  const auto flat = crypto::base64_encode(certs_);
  for (std::size_t i = 0; i < flat.size(); i += 64) {
    crlf += flat.substr(i, 64) + "\r\n";
  }
  const std::vector<std::vector<common::MimePart>> answers{
      {with("application/pkcs8", pkcs8_, "binary"),
       with("application/pkcs7-mime; smime-type=certs-only", certs_, "binary")},
      {with("application/pkcs8", pkcs8_, std::nullopt),
       with("application/pkcs7-mime", certs_, std::nullopt)},
      {with("Application/PKCS8; name=key.p8", crypto::base64_encode(pkcs8_) + '\0', "8bit"),
       with("APPLICATION/PKCS7-MIME; SMIME-TYPE=CERTS-ONLY", crlf, "BASE64")},
  };
  for (const auto& parts : answers) {
    const auto result = parse_server_keygen_response(multipart(parts));
    ASSERT_TRUE(result.pkcs8_der);
    EXPECT_EQ(*result.pkcs8_der, pkcs8_);
    ASSERT_EQ(result.certificates.size(), 1u);
    EXPECT_EQ(result.certificates.front().to_der(), pki_.leaf.to_der());
  }
}

TEST_F(ServerKeygenResponseTest, MalformedAnswersAreRefusedSayingWhy) {
  const auto key = part("application/pkcs8", pkcs8_);
  const auto cert = part("application/pkcs7-mime; smime-type=certs-only", certs_);
  expect_refused(multipart({cert}), "no key part");
  expect_refused(multipart({key}), "no certificate part");
  expect_refused(multipart({key, key, cert}), "more than one key part");
  expect_refused(multipart({key, cert, cert}), "more than one certificate part");
  expect_refused(multipart({key, cert, part("text/plain", "hi")}), "unexpected part");
  expect_refused(multipart({key, part("application/pkcs7-mime; smime-type=certs-only",
                                      crypto::pkcs7_certs_only({pki_.leaf, pki_.issuing}))}),
                 "holds 2 certificates");
  auto not_base64 = multipart({key, cert});
  not_base64.body = common::build_multipart(
      {common::MimePart{{{"Content-Type", "application/pkcs8"}}, "***"}, cert}, "zz-9");
  expect_refused(not_base64, "the serverkeygen application/pkcs8 part is neither base64 nor DER");
  auto plain = multipart({key, cert});
  plain.headers = {{"Content-Type", "application/pkcs7-mime"}};
  expect_refused(plain, "expected multipart/mixed");
  plain.headers = {{"Content-Type", "multipart/mixed"}};
  expect_refused(plain, "has no boundary");
  plain.headers = {{"Content-Type", "multipart/mixed; boundary=other"}};
  expect_refused(plain, "no line '--other'");
}

}  // namespace
}  // namespace estfleet::client
