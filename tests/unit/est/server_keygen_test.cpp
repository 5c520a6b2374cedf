// serverkeygen through the EST service: the simpleenroll gates, the key type, both key forms.
#include "est/server_keygen.hpp"

#include <gtest/gtest.h>

#include "common/multipart.hpp"
#include "crypto/cms.hpp"
#include "crypto/encoding.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/pkcs7.hpp"
#include "crypto/server_key.hpp"
#include "est/media.hpp"
#include "est/service.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/strict_base64.hpp"
#include "support/test_pki.hpp"

namespace estfleet::est {
namespace {

constexpr const char* kUser = "factory";
constexpr const char* kPassword = "correct horse battery";

struct Answer {
  std::string key_type;  // the key part's Content-Type
  std::string key_der;
  crypto::Certificate certificate;
};

class ServerKeygenTest : public ::testing::Test {
 protected:
  ServerKeygenTest()
      : now_(std::chrono::system_clock::now()),
        authority_(testing::make_authority(now_)),
        store_(registry::SqliteStore::open((dir_.path() / "registry.db").string())) {
    registry::AuditEvent audit;
    audit.operation = "user-add";
    store_->put_user(registry::User{kUser, crypto::hash_password(kPassword, {10, 8, 1}), 0}, audit,
                     false);
    EnrollmentProfile by_password;
    EnrollmentProfile fixed;
    fixed.label = "fixed";
    fixed.serverkeygen_key_type = crypto::KeyType::ec_p384;
    EnrollmentProfile off;
    off.label = "off";
    off.serverkeygen = false;
    service_.emplace(authority_, *store_, std::vector{by_password, fixed, off},
                     [this] { return now_; });
    peer_.remote_address = "127.0.0.1";
  }

  http::Response post(const crypto::CertificateRequest& csr, const std::string& label = "") {
    const std::string prefix =
        label.empty() ? "/.well-known/est/" : "/.well-known/est/" + label + "/";
    http::Request request{
        "POST",
        prefix + "serverkeygen",
        {{"Content-Type", "application/pkcs10"},
         {"Authorization", "Basic " + crypto::base64_encode(std::string(kUser) + ":" + kPassword)}},
        crypto::base64_encode(csr.to_der(), 64)};
    return service_->handle(request, peer_).response;
  }

  static Answer parts_of(const http::Response& response) {
    EXPECT_EQ(response.status, 200) << response.body;
    const auto type = std::string(response.header("Content-Type").value_or(""));
    EXPECT_TRUE(type.starts_with("multipart/mixed; boundary=")) << type;
    const auto parts = common::parse_multipart(response.body, *common::boundary_parameter(type));
    EXPECT_EQ(parts.size(), 2u);
    for (const auto& part : parts) {
      EXPECT_EQ(part.header("Content-Transfer-Encoding"), "base64");
      EXPECT_TRUE(testing::strict_base64_decode(part.body)) << "not one line: " << part.body;
    }
    EXPECT_EQ(parts.at(1).header("Content-Type"), kCertsOnly);
    const auto certs = crypto::parse_pkcs7_certs_only(*crypto::base64_decode(parts.at(1).body));
    EXPECT_EQ(certs.size(), 1u);
    return {*parts.at(0).header("Content-Type"), *crypto::base64_decode(parts.at(0).body),
            certs.front()};
  }

  testing::TempDir dir_;
  crypto::TimePoint now_;
  ca::Authority authority_;
  std::unique_ptr<registry::SqliteStore> store_;
  std::optional<EstService> service_;
  http::TlsPeer peer_;
  crypto::PrivateKey csr_key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(ServerKeygenTest, AnswersThePkcs8KeyFirstAndRecordsTheCertificate) {
  const auto answer = parts_of(post(testing::make_csr("DeviceAlpha", csr_key_)));
  EXPECT_EQ(answer.key_type, kPkcs8);
  const auto key = crypto::private_key_from_pkcs8(answer.key_der);
  EXPECT_TRUE(answer.certificate.matches_private_key(key.get()));
  EXPECT_FALSE(answer.certificate.matches_private_key(csr_key_.get()))
      << "the CSR's key only signs the request";
  EXPECT_EQ(answer.certificate.subject_common_name(), "DeviceAlpha");
  EXPECT_FALSE(authority_.verify_issued(answer.certificate, now_));
  const auto record = store_->find_certificate(answer.certificate.serial_hex());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->thing_name, "DeviceAlpha");
  EXPECT_EQ(record->pem.find("PRIVATE KEY"), std::string::npos);
  const auto audit = store_->audit_since(0);
  EXPECT_EQ(audit.back().operation, "serverkeygen");
  EXPECT_EQ(audit.back().result, "ok");
}

TEST_F(ServerKeygenTest, TheKeyTypeFollowsTheCsrUnlessTheProfileFixesIt) {
  const auto rsa = crypto::PrivateKey::generate(crypto::KeyType::rsa_2048);
  auto answer = parts_of(post(testing::make_csr("HintRsa", rsa)));
  EXPECT_EQ(crypto::describe_key(answer.certificate.public_key()).to_string(), "RSA 2048");
  answer = parts_of(post(testing::make_csr("Fixed384", rsa), "fixed"));
  EXPECT_EQ(crypto::describe_key(answer.certificate.public_key()).to_string(), "EC P-384");
}

TEST_F(ServerKeygenTest, EnvelopedToTheTlsClientCertificateNamedByItsKeyIdentifier) {
  // A first device's certificate (it has a subjectKeyIdentifier) is the TLS client certificate.
  const auto first = parts_of(post(testing::make_csr("Recipient", csr_key_)));
  const auto recipient_key = crypto::private_key_from_pkcs8(first.key_der);
  peer_.peer_chain_der = {first.certificate.to_der()};

  auto csr = testing::make_csr("Enveloped", csr_key_);
  crypto::add_key_identifier_attribute(csr, crypto::kAsymmetricDecryptKeyIdentifierOid,
                                       *crypto::subject_key_identifier(first.certificate),
                                       csr_key_);
  const auto answer = parts_of(post(csr));
  EXPECT_EQ(answer.key_type, kServerGeneratedKey);
  const auto opened = crypto::cms_decrypt(answer.key_der, recipient_key, &first.certificate);
  EXPECT_EQ(opened.content_type_oid, crypto::kSignedDataOid);
  const auto signed_key =
      crypto::cms_verify(crypto::content_info(crypto::kSignedDataOid, opened.content));
  EXPECT_EQ(signed_key.content_type_oid, crypto::kAsymmetricKeyPackageOid);
  EXPECT_EQ(signed_key.signer.to_der(), authority_.issuing_certificate().to_der());
  const auto key = crypto::private_key_from_key_package(signed_key.content);
  EXPECT_TRUE(answer.certificate.matches_private_key(key.get()));
}

TEST_F(ServerKeygenTest, KeyDeliveryRefusalsIssueNothing) {
  auto symmetric = testing::make_csr("Symmetric", csr_key_);
  crypto::add_key_identifier_attribute(symmetric, crypto::kDecryptKeyIdentifierOid, "kek-1",
                                       csr_key_);
  auto response = post(symmetric);
  EXPECT_EQ(response.status, 501);
  EXPECT_NE(response.body.find("DecryptKeyIdentifier"), std::string::npos) << response.body;
  EXPECT_FALSE(store_->active_certificate("Symmetric"));

  auto asymmetric = testing::make_csr("Asymmetric", csr_key_);
  crypto::add_key_identifier_attribute(asymmetric, crypto::kAsymmetricDecryptKeyIdentifierOid,
                                       std::string(20, '\x01'), csr_key_);
  response = post(asymmetric);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("presented none"), std::string::npos) << response.body;

  peer_.peer_chain_der = {
      parts_of(post(testing::make_csr("Other", csr_key_))).certificate.to_der()};
  response = post(asymmetric);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("is not the subjectKeyIdentifier"), std::string::npos)
      << response.body;
  EXPECT_FALSE(store_->active_certificate("Asymmetric"));
}

TEST_F(ServerKeygenTest, TheSimpleenrollGatesApply) {
  parts_of(post(testing::make_csr("Taken", csr_key_)));
  EXPECT_EQ(post(testing::make_csr("Taken", csr_key_)).status, 409);
  EXPECT_EQ(post(testing::make_csr("bad name!", csr_key_)).status, 400);
  http::Request unauthenticated{
      "POST",
      "/.well-known/est/serverkeygen",
      {{"Content-Type", "application/pkcs10"}},
      crypto::base64_encode(testing::make_csr("NoAuth", csr_key_).to_der(), 64)};
  EXPECT_EQ(service_->handle(unauthenticated, peer_).response.status, 401);
  const auto off = post(testing::make_csr("Off", csr_key_), "off");
  EXPECT_EQ(off.status, 501);
  EXPECT_NE(off.body.find("'off'"), std::string::npos) << off.body;
}

}  // namespace
}  // namespace estfleet::est
