// A bootstrap profile whose trust store includes this CA: only this CA's device certificates that
// may still authenticate get in. Each attack of the security review is one test: a revoked
// certificate whose ECDSA signature was re-encoded (r, n - s), the server's, the broker's and the
// OCSP responder's certificates, a certificate of this CA that was never registered.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>

#include "ca/ocsp_responder.hpp"
#include "crypto/encoding.hpp"
#include "crypto/key.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/pkcs7.hpp"
#include "est/service.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"

namespace estfleet::est {
namespace {

// The length and header size of the DER element at the start of `der`.
std::pair<std::size_t, std::size_t> element(std::string_view der) {
  const auto first = static_cast<unsigned char>(der.at(1));
  if (first < 0x80) {
    return {2, first};
  }
  std::size_t length = 0;
  for (std::size_t i = 0; i < (first & 0x7Fu); ++i) {
    length = (length << 8) | static_cast<unsigned char>(der.at(2 + i));
  }
  return {2 + (first & 0x7Fu), length};
}

// The same certificate with its ECDSA P-256 signature (r, s) replaced by (r, n - s): a different
// DER and fingerprint, the same signed content, and a signature that still verifies. Written from
// X.509's and ECDSA's structure (RFC 5280 §4.1, RFC 3279 §2.2.3), not from the code under test.
std::string high_s_copy(const std::string& cert_der) {
  const auto [outer_header, outer_length] = element(cert_der);
  std::string_view rest = std::string_view(cert_der).substr(outer_header);
  const auto [tbs_header, tbs_length] = element(rest);
  const std::string tbs(rest.substr(0, tbs_header + tbs_length));
  rest.remove_prefix(tbs.size());
  const auto [alg_header, alg_length] = element(rest);
  const std::string algorithm(rest.substr(0, alg_header + alg_length));
  rest.remove_prefix(algorithm.size());
  const auto [bits_header, bits_length] = element(rest);
  const std::string signature(rest.substr(bits_header + 1, bits_length - 1));  // past unused-bits

  const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
  EXPECT_NE(sig, nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM* high_s = BN_new();
  BN_sub(high_s, EC_GROUP_get0_order(group), s);
  ECDSA_SIG* flipped = ECDSA_SIG_new();
  ECDSA_SIG_set0(flipped, BN_dup(r), high_s);
  unsigned char* out = nullptr;
  const int size = i2d_ECDSA_SIG(flipped, &out);
  const std::string new_signature(reinterpret_cast<const char*>(out),
                                  static_cast<std::size_t>(size));
  OPENSSL_free(out);
  ECDSA_SIG_free(flipped);
  ECDSA_SIG_free(sig);
  EC_GROUP_free(group);

  const auto tlv = [](unsigned char tag, const std::string& content) {
    std::string encoded(1, static_cast<char>(tag));
    if (content.size() < 0x80) {
      encoded += static_cast<char>(content.size());
    } else if (content.size() < 0x100) {
      encoded += '\x81';
      encoded += static_cast<char>(content.size());
    } else {
      encoded += '\x82';
      encoded += static_cast<char>(content.size() >> 8);
      encoded += static_cast<char>(content.size() & 0xFF);
    }
    return encoded + content;
  };
  return tlv(0x30, tbs + algorithm + tlv(0x03, std::string(1, '\0') + new_signature));
}

const std::string kUser = "factory";
const std::string kPassword = "correct horse battery";

class BootstrapOwnCertificatesTest : public ::testing::Test {
 protected:
  BootstrapOwnCertificatesTest()
      : now_(std::chrono::system_clock::now()),
        authority_(testing::make_authority(now_)),
        store_(registry::SqliteStore::open((dir_.path() / "registry.db").string())) {
    registry::AuditEvent audit;
    audit.operation = "user-add";
    store_->put_user(registry::User{kUser, crypto::hash_password(kPassword, {10, 8, 1}), 0}, audit,
                     false);
    EnrollmentProfile by_password;
    EnrollmentProfile bootstrap;
    bootstrap.label = "bootstrap";
    bootstrap.auth_methods = {AuthMethod::tls_client};
    bootstrap.bootstrap_trust =
        std::make_shared<const crypto::TrustStore>(std::vector{authority_.root()});
    service_.emplace(authority_, *store_, std::vector{by_password, bootstrap},
                     [this] { return now_; });
    peer_.remote_address = "127.0.0.1";
  }

  crypto::Certificate enroll_with_password(const std::string& cn) {
    http::Request request{
        "POST",
        "/.well-known/est/simpleenroll",
        {{"Content-Type", "application/pkcs10"},
         {"Authorization", "Basic " + crypto::base64_encode(kUser + ":" + kPassword)}},
        crypto::base64_encode(testing::make_csr(cn, key_).to_der())};
    const auto response = service_->handle(request, http::TlsPeer{}).response;
    EXPECT_EQ(response.status, 200) << response.body;
    return crypto::parse_pkcs7_certs_only(*crypto::base64_decode(response.body)).front();
  }

  // A bootstrap enrollment of `cn`, presenting `leaf_der` (and the issuing CA) over TLS.
  http::Response enroll_presenting(const std::string& leaf_der, const std::string& cn) {
    peer_.peer_chain_der = {leaf_der, authority_.issuing_certificate().to_der()};
    const auto other = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    http::Request request{"POST",
                          "/.well-known/est/bootstrap/simpleenroll",
                          {{"Content-Type", "application/pkcs10"}},
                          crypto::base64_encode(testing::make_csr(cn, other).to_der())};
    return service_->handle(request, peer_).response;
  }

  testing::TempDir dir_;
  crypto::TimePoint now_;
  ca::Authority authority_;
  std::unique_ptr<registry::SqliteStore> store_;
  std::optional<EstService> service_;
  http::TlsPeer peer_;
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(BootstrapOwnCertificatesTest, AnActiveRegisteredDeviceCertificateGetsIn) {
  const auto cert = enroll_with_password("DeviceAlpha");
  const auto response = enroll_presenting(cert.to_der(), "LineB");
  EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(BootstrapOwnCertificatesTest, ARevokedCertificateWithAReencodedSignatureIsRefused) {
  const auto cert = enroll_with_password("DeviceAlpha");
  store_->revoke_certificate(cert.serial_hex(), "keyCompromise", 0, registry::AuditEvent{});
  const auto laundered = high_s_copy(cert.to_der());
  const auto copy = crypto::Certificate::from_der(laundered);
  ASSERT_NE(copy.sha256_fingerprint(), cert.sha256_fingerprint()) << "the copy must differ";
  ASSERT_EQ(copy.serial_hex(), cert.serial_hex());
  ASSERT_FALSE(crypto::TrustStore({authority_.root()})
                   .verify(copy, {authority_.issuing_certificate()}, now_))
      << "the re-encoded signature must still verify, or the test shows nothing";

  const auto original = enroll_presenting(cert.to_der(), "Fresh1");
  EXPECT_EQ(original.status, 403) << original.body;
  const auto response = enroll_presenting(laundered, "Fresh2");
  EXPECT_EQ(response.status, 403) << response.body;
  EXPECT_NE(response.body.find("revoked"), std::string::npos) << response.body;
  EXPECT_FALSE(store_->find_thing("Fresh2"));
}

TEST_F(BootstrapOwnCertificatesTest, TheServersBrokersAndRespondersCertificatesAreRefused) {
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto server = authority_.issue_tls_server(
      key.get(), {"localhost"}, now_, std::chrono::hours(1), ca::TlsServerRole::est_server);
  const auto broker = authority_.issue_tls_server(
      key.get(), {"broker.example"}, now_, std::chrono::hours(1), ca::TlsServerRole::other_service);
  const auto responder =
      ca::issue_ocsp_responder(authority_, key.get(), now_, std::chrono::hours(1));
  for (const auto* cert : {&server, &broker, &responder}) {
    const auto response = enroll_presenting(cert->to_der(), "Intruder");
    EXPECT_EQ(response.status, 403) << cert->subject_text() << ": " << response.body;
    EXPECT_NE(response.body.find("no clientAuth"), std::string::npos) << response.body;
  }
  EXPECT_FALSE(store_->find_thing("Intruder"));
}

TEST_F(BootstrapOwnCertificatesTest, ACertificateOfThisCaThatIsNotRegisteredIsRefused) {
  const auto unregistered =
      authority_.issue(ca::IssueRequest{"Ghost", key_.get(), {}, {}, now_}, ca::IssuancePolicy{});
  const auto response = enroll_presenting(unregistered.to_der(), "Ghost2");
  EXPECT_EQ(response.status, 403) << response.body;
  EXPECT_NE(response.body.find("not in the registry"), std::string::npos) << response.body;
}

// Whose a certificate is, is decided by the signature, not by names or key identifiers (which an
// imported CA may lack): a manufacturer CA that happens to carry this CA's very names is judged by
// the bootstrap trust store, while this CA's own revoked certificate is refused beside it.
TEST_F(BootstrapOwnCertificatesTest, TheSignatureDecidesWhoseCertificateItIs) {
  const auto twin = testing::make_authority(now_);  // the same default names, another key
  ASSERT_EQ(twin.issuing_certificate().subject_der(),
            authority_.issuing_certificate().subject_der());
  EnrollmentProfile bootstrap;
  bootstrap.label = "bootstrap";
  bootstrap.auth_methods = {AuthMethod::tls_client};
  bootstrap.bootstrap_trust =
      std::make_shared<const crypto::TrustStore>(std::vector{authority_.root(), twin.root()});
  service_.emplace(authority_, *store_, std::vector{EnrollmentProfile{}, bootstrap},
                   [this] { return now_; });
  const auto supplier =
      twin.issue(ca::IssueRequest{"Twin", key_.get(), {}, {}, now_}, ca::IssuancePolicy{});
  peer_.peer_chain_der = {supplier.to_der(), twin.issuing_certificate().to_der()};
  const auto other = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  http::Request request{"POST",
                        "/.well-known/est/bootstrap/simpleenroll",
                        {{"Content-Type", "application/pkcs10"}},
                        crypto::base64_encode(testing::make_csr("TwinName", other).to_der())};
  const auto response = service_->handle(request, peer_).response;
  EXPECT_EQ(response.status, 200) << response.body;

  const auto own = enroll_with_password("DeviceAlpha");
  store_->revoke_certificate(own.serial_hex(), "keyCompromise", 0, registry::AuditEvent{});
  const auto refused = enroll_presenting(own.to_der(), "Another");
  EXPECT_EQ(refused.status, 403) << refused.body;
}

// A certificate of this CA is matched on its signed content, not only its serial: one whose row
// holds another certificate under that serial is refused.
TEST_F(BootstrapOwnCertificatesTest, ACertificateWhoseRowHoldsOtherSignedContentIsRefused) {
  const auto presented =
      authority_.issue(ca::IssueRequest{"Shadow", key_.get(), {}, {}, now_}, ca::IssuancePolicy{});
  const auto registered =
      authority_.issue(ca::IssueRequest{"Shadow", key_.get(), {}, {}, now_}, ca::IssuancePolicy{});
  registry::CertificateRecord row;
  row.serial = presented.serial_hex();
  row.thing_name = "Shadow";
  row.subject = registered.subject_text();
  row.not_before = 0;
  row.not_after =
      std::chrono::duration_cast<std::chrono::seconds>(registered.not_after().time_since_epoch())
          .count();
  row.pem = registered.to_pem();
  row.sha256_fingerprint = registered.sha256_fingerprint();
  store_->record_enrollment(row, registry::ThingRegistration{}, registry::AuditEvent{});
  const auto response = enroll_presenting(presented.to_der(), "Shadow2");
  EXPECT_EQ(response.status, 403) << response.body;
  EXPECT_NE(response.body.find("is not the one this CA registered under serial " +
                               presented.serial_hex()),
            std::string::npos)
      << response.body;
}

}  // namespace
}  // namespace estfleet::est
