// The EST service as a pure function: requests and TLS facts in, responses out. No sockets.
#include "est/service.hpp"

#include <gtest/gtest.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/encoding.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/pkcs7.hpp"
#include "est/identity_check.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/strict_base64.hpp"
#include "support/test_pki.hpp"

namespace estfleet::est {
namespace {

using std::chrono::hours;

const std::string kUser = "factory";
const std::string kPassword = "correct horse battery";

std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + crypto::base64_encode(user + ":" + password);
}

class EstServiceTest : public ::testing::Test {
 protected:
  EstServiceTest()
      : now_(std::chrono::system_clock::now()),
        authority_(testing::make_authority(now_)),
        manufacturer_(testing::make_authority(now_)),
        store_(registry::SqliteStore::open((dir_.path() / "registry.db").string())) {
    registry::AuditEvent audit;
    audit.operation = "user-add";
    store_->put_user(registry::User{kUser, crypto::hash_password(kPassword, {10, 8, 1}), 0}, audit,
                     false);
    EnrollmentProfile by_password;
    EnrollmentProfile with_pop;
    with_pop.label = "pop";
    with_pop.require_pop = true;
    EnrollmentProfile by_device_cert;
    by_device_cert.label = "idevid";
    by_device_cert.auth_methods = {AuthMethod::tls_client};
    by_device_cert.bootstrap_trust =
        std::make_shared<const crypto::TrustStore>(std::vector{manufacturer_.root()});
    EnrollmentProfile both = by_device_cert;
    both.label = "both";
    both.auth_methods = {AuthMethod::basic, AuthMethod::tls_client};
    both.require_all_methods = true;
    service_.emplace(authority_, *store_, std::vector{by_password, with_pop, by_device_cert, both},
                     [this] { return now_; });
    peer_.remote_address = "127.0.0.1";
    peer_.tls_version = 0x0304;
    peer_.channel_binding = std::string(32, '\x42');
  }

  http::Response call(const std::string& method, const std::string& target,
                      const std::string& body = {}, http::HeaderList headers = {}) {
    http::Request request{method, target, std::move(headers), body};
    return service_->handle(request, peer_).response;
  }

  http::Response enroll(const crypto::CertificateRequest& csr, const std::string& label = "",
                        const std::string& auth = basic(kUser, kPassword)) {
    http::HeaderList headers{{"Content-Type", "application/pkcs10"}};
    if (!auth.empty()) {
      headers.emplace_back("Authorization", auth);
    }
    const std::string prefix =
        label.empty() ? "/.well-known/est/" : "/.well-known/est/" + label + "/";
    return call("POST", prefix + "simpleenroll", crypto::base64_encode(csr.to_der(), 64), headers);
  }

  http::Response reenroll(const crypto::CertificateRequest& csr, const std::string& label = "") {
    const std::string prefix =
        label.empty() ? "/.well-known/est/" : "/.well-known/est/" + label + "/";
    return call("POST", prefix + "simplereenroll", crypto::base64_encode(csr.to_der(), 64),
                {{"Content-Type", "application/pkcs10"}});
  }

  static crypto::Certificate issued(const http::Response& response) {
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("Content-Type"), "application/pkcs7-mime; smime-type=certs-only");
    const auto der = testing::strict_base64_decode(response.body);
    EXPECT_TRUE(der) << "not base64 on one line: " << response.body;
    const auto certs = crypto::parse_pkcs7_certs_only(der.value_or(""));
    EXPECT_EQ(certs.size(), 1u);
    return certs.front();
  }

  // Enrolls `cn` and presents the result as the TLS client certificate of later calls.
  crypto::Certificate enroll_and_present(const std::string& cn, const crypto::PrivateKey& key) {
    auto cert = issued(enroll(testing::make_csr(cn, key)));
    peer_.peer_chain_der = {cert.to_der()};
    return cert;
  }

  std::size_t audit_rows() { return store_->audit_since(0).size(); }

  testing::TempDir dir_;
  crypto::TimePoint now_;
  ca::Authority authority_;
  ca::Authority manufacturer_;
  std::unique_ptr<registry::SqliteStore> store_;
  std::optional<EstService> service_;
  http::TlsPeer peer_;
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(EstServiceTest, CacertsReturnsTheWholeChain) {
  const auto response = call("GET", "/.well-known/est/cacerts");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/pkcs7-mime");
  const auto der = testing::strict_base64_decode(response.body);
  ASSERT_TRUE(der) << "not base64 on one line: " << response.body;
  const auto certs = crypto::parse_pkcs7_certs_only(*der);
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[0].to_der(), authority_.issuing_certificate().to_der());
  EXPECT_EQ(certs[1].to_der(), authority_.root().to_der());
  EXPECT_EQ(call("GET", "/.well-known/est/pop/cacerts").status, 200);
}

TEST_F(EstServiceTest, EnrollIssuesAndRecordsBeforeAnswering) {
  const auto cert = issued(enroll(testing::make_csr("DeviceAlpha", key_)));
  EXPECT_EQ(cert.subject_common_name(), "DeviceAlpha");
  EXPECT_TRUE(cert.matches_private_key(key_.get()));
  const auto record = store_->find_certificate(cert.serial_hex());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->thing_name, "DeviceAlpha");
  EXPECT_EQ(record->status, registry::CertificateStatus::active);
  EXPECT_EQ(record->sha256_fingerprint, cert.sha256_fingerprint());
  const auto audit = store_->audit_since(0);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().result, "ok");
  EXPECT_EQ(audit.back().serial, cert.serial_hex());
  EXPECT_EQ(audit.back().actor, kUser);
}

TEST_F(EstServiceTest, EnrollAcceptsPemArmourAndMediaTypeParameters) {
  const auto csr = testing::make_csr("dev-pem", key_);
  const auto response = call("POST", "/.well-known/est/simpleenroll", csr.to_pem(),
                             {{"Content-Type", "application/PKCS10; charset=binary"},
                              {"Content-Transfer-Encoding", "base64"},
                              {"Authorization", basic(kUser, kPassword)}});
  EXPECT_EQ(issued(response).subject_common_name(), "dev-pem");
}

TEST_F(EstServiceTest, RoutingRefusals) {
  EXPECT_EQ(call("GET", "/nothing").status, 404);
  EXPECT_EQ(call("GET", "/.well-known/est/nolabel/cacerts").status, 404);
  const auto wrong_method = call("GET", "/.well-known/est/simpleenroll");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("Allow"), "POST");
  EXPECT_EQ(call("POST", "/.well-known/est/fullcmc").status, 501);
  EXPECT_EQ(call("POST", "/.well-known/est/cacerts").status, 405);
}

TEST_F(EstServiceTest, AuthenticationRefusals) {
  const auto csr = testing::make_csr("dev", key_);
  const auto none = enroll(csr, "", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("WWW-Authenticate"), R"(Basic realm="est-fleet", charset="UTF-8")");
  EXPECT_EQ(enroll(csr, "", basic(kUser, "wrong password")).status, 401);
  EXPECT_EQ(enroll(csr, "", basic("nobody", kPassword)).status, 401);
  EXPECT_EQ(enroll(csr, "", "Bearer abc").status, 401);
  EXPECT_EQ(enroll(csr, "", "Basic !!!").status, 401);
  EXPECT_TRUE(store_->list_certificates("").empty());
}

TEST_F(EstServiceTest, BodyRefusals) {
  const auto auth = basic(kUser, kPassword);
  const std::string path = "/.well-known/est/simpleenroll";
  const auto csr = testing::make_csr("dev", key_);
  const auto b64 = crypto::base64_encode(csr.to_der());
  EXPECT_EQ(call("POST", path, b64, {{"Authorization", auth}}).status, 415);
  EXPECT_EQ(
      call("POST", path, b64, {{"Authorization", auth}, {"Content-Type", "text/plain"}}).status,
      415);
  const http::HeaderList ok{{"Authorization", auth}, {"Content-Type", "application/pkcs10"}};
  EXPECT_EQ(call("POST", path, "%%% not base64 %%%", ok).status, 400);
  EXPECT_EQ(call("POST", path, crypto::base64_encode("not a CSR"), ok).status, 400);

  std::string tampered = csr.to_der();
  tampered[tampered.size() - 3] = static_cast<char>(tampered[tampered.size() - 3] ^ 0x01);
  const auto bad_signature = call("POST", path, crypto::base64_encode(tampered), ok);
  EXPECT_EQ(bad_signature.status, 400);
  EXPECT_NE(bad_signature.body.find("signature"), std::string::npos);
  EXPECT_TRUE(store_->list_certificates("").empty());
}

TEST_F(EstServiceTest, CsrContentRefusals) {
  EXPECT_EQ(enroll(testing::make_csr("bad/name", key_)).status, 400);
  EXPECT_EQ(enroll(testing::make_csr(std::string(129, 'a'), key_)).status, 400);

  crypto::PkeyPtr rsa1024(EVP_RSA_gen(1024));
  const crypto::PrivateKey weak(std::move(rsa1024));
  const auto weak_response = enroll(testing::make_csr("dev", weak));
  EXPECT_EQ(weak_response.status, 400);
  EXPECT_NE(weak_response.body.find("1024"), std::string::npos);

  crypto::CsrSpec two_cns;
  two_cns.subject_der = crypto::name_der({{"CN", "a"}, {"CN", "b"}});
  EXPECT_EQ(enroll(crypto::build_csr(two_cns, key_)).status, 400);

  crypto::CsrSpec duplicate_ext;
  duplicate_ext.common_name = "dev";
  duplicate_ext.extensions = {{"1.2.3.4", false, "\x05\x00"}, {"1.2.3.4", false, "\x05\x00"}};
  const auto dup = enroll(crypto::build_csr(duplicate_ext, key_));
  EXPECT_EQ(dup.status, 400);
  EXPECT_NE(dup.body.find("more than once"), std::string::npos);

  crypto::CsrSpec huge_ext;
  huge_ext.common_name = "dev";
  huge_ext.extensions = {
      {"1.2.3.4", false, std::string("\x04\x82\x50\x00", 4) + std::string(0x5000, 'x')}};
  const auto huge = enroll(crypto::build_csr(huge_ext, key_));
  EXPECT_EQ(huge.status, 400);
  EXPECT_NE(huge.body.find("extension 1.2.3.4 is 20484 bytes, more than the 16384"),
            std::string::npos)
      << huge.body;

  crypto::CsrSpec many_ext;
  many_ext.common_name = "dev";
  for (int i = 0; i < 33; ++i) {
    many_ext.extensions.push_back(
        {"1.2.3." + std::to_string(i), false, std::string("\x05\x00", 2)});
  }
  const auto many = enroll(crypto::build_csr(many_ext, key_));
  EXPECT_EQ(many.status, 400);
  EXPECT_NE(many.body.find("requests 33 extensions, more than the 32"), std::string::npos)
      << many.body;

  crypto::CsrSpec email_san;
  email_san.common_name = "dev";
  email_san.subject_alt_names = {"email:x@example.com"};
  EXPECT_EQ(enroll(crypto::build_csr(email_san, key_)).status, 400);
  EXPECT_TRUE(store_->list_certificates("").empty());
}

TEST_F(EstServiceTest, AThingWithAnActiveCertificateCannotBeTakenOver) {
  issued(enroll(testing::make_csr("DeviceBeta", key_)));
  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto again = enroll(testing::make_csr("DeviceBeta", other_key));
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("simplereenroll"), std::string::npos);
  EXPECT_EQ(store_->list_certificates("DeviceBeta").size(), 1u);
}

TEST_F(EstServiceTest, ProofOfPossession) {
  const auto pem_binding = crypto::base64_encode(peer_.channel_binding);
  crypto::CsrSpec spec;
  spec.common_name = "pop-dev";
  EXPECT_EQ(enroll(crypto::build_csr(spec, key_), "pop").status, 400) << "required but missing";

  spec.challenge_password = crypto::base64_encode(std::string(32, '\x43'));
  const auto replay = enroll(crypto::build_csr(spec, key_), "pop");
  EXPECT_EQ(replay.status, 403) << "binding of another connection";
  spec.challenge_password = pem_binding.substr(0, pem_binding.size() - 4);
  EXPECT_EQ(enroll(crypto::build_csr(spec, key_), "pop").status, 403) << "truncated";
  // Verified whenever present, even where the profile does not require it.
  spec.challenge_password = crypto::base64_encode(std::string(32, '\x43'));
  EXPECT_EQ(enroll(crypto::build_csr(spec, key_)).status, 403);

  spec.challenge_password = pem_binding;
  EXPECT_EQ(issued(enroll(crypto::build_csr(spec, key_), "pop")).subject_common_name(), "pop-dev");
}

// A TLS 1.2 connection without the extended master secret carries no sound binding: the transport
// leaves it empty and says why, and a PoP profile refuses with that reason.
TEST_F(EstServiceTest, ProofOfPossessionNeedsTheExtendedMasterSecretOnTls12) {
  peer_.tls_version = 0x0303;
  peer_.channel_binding.clear();
  peer_.no_channel_binding_reason =
      "this TLS 1.2 connection did not negotiate the extended master secret (RFC 7627)";
  crypto::CsrSpec spec;
  spec.common_name = "pop-dev";
  spec.challenge_password = crypto::base64_encode(std::string(12, '\x42'));
  const auto response = enroll(crypto::build_csr(spec, key_), "pop");
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("proof of possession cannot be checked: this TLS 1.2 connection "
                               "did not negotiate the extended master secret"),
            std::string::npos)
      << response.body;
  EXPECT_TRUE(store_->list_certificates("").empty());
}

// DER of a self-signed certificate whose subject CN is `cn` (any bytes), as an attacker makes it.
std::string self_signed_with_cn(const std::string& cn, const crypto::PrivateKey& key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_UTF8STRING,
                             reinterpret_cast<const unsigned char*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, const_cast<EVP_PKEY*>(key.get()));
  X509_sign(cert, const_cast<EVP_PKEY*>(key.get()), EVP_sha256());
  unsigned char* out = nullptr;
  const int size = i2d_X509(cert, &out);
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
  OPENSSL_free(out);
  X509_free(cert);
  return der;
}

// A renewal with a self-made certificate whose CN holds line breaks, terminal escapes and 90 KB:
// nothing unverified reaches the audit row, and what does is one bounded line.
TEST_F(EstServiceTest, UnverifiedNamesNeverReachTheAuditLog) {
  const std::string cn = "Device\nFAKE audit line\x1b[2J" + std::string(90'000, 'A');
  peer_.peer_chain_der = {self_signed_with_cn(cn, key_)};
  const auto outcome = service_->handle(
      http::Request{"POST",
                    "/.well-known/est/simplereenroll",
                    {{"Content-Type", "application/pkcs10"}},
                    crypto::base64_encode(testing::make_csr("Device", key_).to_der())},
      peer_);
  EXPECT_EQ(outcome.response.status, 403);
  EXPECT_TRUE(outcome.thing_name.empty()) << "an unverified CN reached the access log";
  EXPECT_TRUE(outcome.principal.empty()) << "an unverified subject reached the access log";
  EXPECT_LT(outcome.response.body.size(), 1024u);
  EXPECT_EQ(outcome.response.body.find('\n'), outcome.response.body.size() - 1);
  const auto audit = store_->audit_since(0);
  ASSERT_FALSE(audit.empty());
  const auto& row = audit.back();
  EXPECT_EQ(row.result, "refused");
  EXPECT_TRUE(row.thing_name.empty()) << row.thing_name.substr(0, 80);
  EXPECT_TRUE(row.actor.empty()) << row.actor.substr(0, 80);
  for (const auto* field : {&row.reason, &row.actor, &row.thing_name}) {
    EXPECT_LE(field->size(), 600u);
    EXPECT_EQ(field->find_first_of("\n\r\x1b"), std::string::npos) << *field;
  }
}

TEST_F(EstServiceTest, CsrattrsAnnouncesChallengePasswordOnlyWhenRequired) {
  const std::string challenge_oid_der("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07", 11);
  const auto plain = call("GET", "/.well-known/est/csrattrs");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("Content-Type"), "application/csrattrs");
  ASSERT_TRUE(testing::strict_base64_decode(plain.body)) << "not one line: " << plain.body;
  EXPECT_EQ(crypto::base64_decode(plain.body)->find(challenge_oid_der), std::string::npos);
  const auto pop = call("GET", "/.well-known/est/pop/csrattrs");
  EXPECT_NE(crypto::base64_decode(pop.body)->find(challenge_oid_der), std::string::npos);
}

TEST_F(EstServiceTest, ReenrollRenewsTheSameIdentityAndSupersedesTheOld) {
  const auto old_cert = enroll_and_present("DeviceAlpha", key_);
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto renewed = issued(reenroll(testing::make_csr("DeviceAlpha", new_key)));
  EXPECT_EQ(renewed.subject_der(), old_cert.subject_der());
  EXPECT_NE(renewed.serial_hex(), old_cert.serial_hex());
  EXPECT_TRUE(renewed.matches_private_key(new_key.get()));
  EXPECT_EQ(store_->find_certificate(old_cert.serial_hex())->status,
            registry::CertificateStatus::superseded);
  const auto record = store_->find_certificate(renewed.serial_hex());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->replaces, old_cert.serial_hex());

  // The superseded certificate cannot renew a second time (asking again with the new key only
  // repeats the answer, below).
  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto again = reenroll(testing::make_csr("DeviceAlpha", other_key));
  EXPECT_EQ(again.status, 403);
  EXPECT_NE(again.body.find("already renewed"), std::string::npos) << again.body;
}

// The device's view of the registry, to show a request changed nothing in it.
std::vector<std::string> certificate_rows(registry::Store& store) {
  std::vector<std::string> rows;
  for (const auto& record : store.list_certificates("")) {
    rows.push_back(record.serial + " " + std::string(registry::to_string(record.status)) + " " +
                   record.replaces.value_or("-") + " " + record.sha256_fingerprint);
  }
  return rows;
}

TEST_F(EstServiceTest, ALostRenewalAnswerIsSentAgainToTheHolderOfTheNewKey) {
  const auto old_cert = enroll_and_present("DeviceAlpha", key_);
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto renewed = issued(reenroll(testing::make_csr("DeviceAlpha", new_key)));
  // The answer is lost: the device still presents the old certificate and asks again with the
  // key it saved before sending.
  const auto rows = certificate_rows(*store_);
  const auto audit = audit_rows();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto again = issued(reenroll(testing::make_csr("DeviceAlpha", new_key)));
    EXPECT_EQ(again.to_der(), renewed.to_der()) << "the identical certificate, not a new one";
  }
  EXPECT_EQ(certificate_rows(*store_), rows) << "nothing issued, nothing changed";
  EXPECT_EQ(store_->find_certificate(old_cert.serial_hex())->status,
            registry::CertificateStatus::superseded);
  const auto events = store_->audit_since(0);
  ASSERT_EQ(events.size(), audit + 2);
  EXPECT_EQ(events.back().result, "repeated");
  EXPECT_EQ(events.back().operation, "simplereenroll");
  EXPECT_EQ(events.back().serial, renewed.serial_hex());
  EXPECT_EQ(events.back().thing_name, "DeviceAlpha");
  EXPECT_NE(events.back().reason.find("nothing was issued"), std::string::npos);
  const http::Request request{
      "POST",
      "/.well-known/est/simplereenroll",
      {{"Content-Type", "application/pkcs10"}},
      crypto::base64_encode(testing::make_csr("DeviceAlpha", new_key).to_der(), 64)};
  const auto outcome = service_->handle(request, peer_);
  EXPECT_TRUE(outcome.repeated) << "told apart from an issuance (metrics)";
  EXPECT_EQ(outcome.serial, renewed.serial_hex());

  // Once the device holds the new certificate, it renews normally.
  peer_.peer_chain_der = {renewed.to_der()};
  const auto third_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto next = issued(reenroll(testing::make_csr("DeviceAlpha", third_key)));
  EXPECT_NE(next.serial_hex(), renewed.serial_hex());
  EXPECT_EQ(store_->find_certificate(next.serial_hex())->replaces, renewed.serial_hex());
}

TEST_F(EstServiceTest, ARepeatedRenewalNeedsTheSameKeyIdentityAndProfile) {
  const auto old_cert = enroll_and_present("DeviceAlpha", key_);
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  issued(reenroll(testing::make_csr("DeviceAlpha", new_key)));
  const auto rows = certificate_rows(*store_);
  const auto audit = audit_rows();

  const auto other_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto other = reenroll(testing::make_csr("DeviceAlpha", other_key));
  EXPECT_EQ(other.status, 403) << "another key";
  EXPECT_NE(other.body.find("was already renewed; use the newer one"), std::string::npos)
      << other.body;
  const auto old_key = reenroll(testing::make_csr("DeviceAlpha", key_));
  EXPECT_EQ(old_key.status, 403) << "the old key";
  crypto::CsrSpec with_san;
  with_san.common_name = "DeviceAlpha";
  with_san.subject_alt_names = {"DNS:alpha.example"};
  EXPECT_EQ(reenroll(crypto::build_csr(with_san, new_key)).status, 400) << "SAN added";
  EXPECT_EQ(reenroll(testing::make_csr("DeviceGamma", new_key)).status, 400) << "other subject";
  const auto elsewhere = reenroll(testing::make_csr("DeviceAlpha", new_key), "pop");
  EXPECT_EQ(elsewhere.status, 403) << "another profile";
  EXPECT_NE(elsewhere.body.find("renews only there"), std::string::npos) << elsewhere.body;

  // Only the old certificate's holder can ask: the new key alone is not enough.
  const auto renewed = store_->active_certificate("DeviceAlpha");
  ASSERT_TRUE(renewed);
  peer_.peer_chain_der.clear();
  EXPECT_EQ(reenroll(testing::make_csr("DeviceAlpha", new_key)).status, 403);
  peer_.peer_chain_der = {old_cert.to_der()};

  EXPECT_EQ(certificate_rows(*store_), rows);
  const auto events = store_->audit_since(0);
  ASSERT_EQ(events.size(), audit + 6);
  for (std::size_t i = audit; i < events.size(); ++i) {
    EXPECT_EQ(events[i].result, "refused") << events[i].reason;
  }
  EXPECT_EQ(issued(reenroll(testing::make_csr("DeviceAlpha", new_key))).serial_hex(),
            renewed->serial);
}

TEST_F(EstServiceTest, ARepeatedRenewalStillNeedsProofOfPossessionWhereRequired) {
  crypto::CsrSpec spec;
  spec.common_name = "DeviceBeta";
  spec.challenge_password = crypto::base64_encode(peer_.channel_binding);
  const auto beta = issued(enroll(crypto::build_csr(spec, key_), "pop"));
  peer_.peer_chain_der = {beta.to_der()};
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto renewed = issued(reenroll(crypto::build_csr(spec, new_key), "pop"));
  EXPECT_EQ(reenroll(testing::make_csr("DeviceBeta", new_key), "pop").status, 400)
      << "no channel binding";
  peer_.channel_binding = std::string(32, '\x43');  // the next connection
  EXPECT_EQ(reenroll(crypto::build_csr(spec, new_key), "pop").status, 403)
      << "another connection's channel binding";
  spec.challenge_password = crypto::base64_encode(peer_.channel_binding);
  EXPECT_EQ(issued(reenroll(crypto::build_csr(spec, new_key), "pop")).to_der(), renewed.to_der());
}

TEST_F(EstServiceTest, ARenewalIsRepeatedOnlyWhileItsCertificateIsTheActiveOne) {
  enroll_and_present("DeviceAlpha", key_);
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto renewed = issued(reenroll(testing::make_csr("DeviceAlpha", new_key)));
  store_->revoke_certificate(renewed.serial_hex(), "keyCompromise", 0, registry::AuditEvent{});
  const auto response = reenroll(testing::make_csr("DeviceAlpha", new_key));
  EXPECT_EQ(response.status, 403) << "revoked successor";
  EXPECT_NE(response.body.find("already renewed"), std::string::npos) << response.body;

  // The successor was renewed in turn: the first certificate is two renewals behind.
  const auto first = enroll_and_present("DeviceBeta", key_);
  const auto second_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto second = issued(reenroll(testing::make_csr("DeviceBeta", second_key)));
  peer_.peer_chain_der = {second.to_der()};
  issued(reenroll(
      testing::make_csr("DeviceBeta", crypto::PrivateKey::generate(crypto::KeyType::ec_p256))));
  peer_.peer_chain_der = {first.to_der()};
  EXPECT_EQ(reenroll(testing::make_csr("DeviceBeta", second_key)).status, 403)
      << "superseded successor";

  // The old certificate revoked by an operator, or the thing disabled.
  const auto gamma = enroll_and_present("DeviceGamma", key_);
  const auto gamma_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  issued(reenroll(testing::make_csr("DeviceGamma", gamma_key)));
  store_->revoke_certificate(gamma.serial_hex(), "keyCompromise", 0, registry::AuditEvent{});
  const auto revoked = reenroll(testing::make_csr("DeviceGamma", gamma_key));
  EXPECT_EQ(revoked.status, 403);
  EXPECT_NE(revoked.body.find("revoked (keyCompromise)"), std::string::npos) << revoked.body;

  enroll_and_present("DeviceDelta", key_);
  const auto delta_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  issued(reenroll(testing::make_csr("DeviceDelta", delta_key)));
  store_->disable_thing("DeviceDelta", "cessationOfOperation", 0, registry::AuditEvent{});
  store_->enable_thing("DeviceDelta", 0, registry::AuditEvent{});
  EXPECT_EQ(reenroll(testing::make_csr("DeviceDelta", delta_key)).status, 403)
      << "disabled (and enabled again): every certificate stays revoked";
}

TEST_F(EstServiceTest, AnUnansweredRenewalIsFoundOnlyWithinItsCertificatesLifetime) {
  const auto old_cert = enroll_and_present("DeviceAlpha", key_);
  const auto renewed = issued(reenroll(
      testing::make_csr("DeviceAlpha", crypto::PrivateKey::generate(crypto::KeyType::ec_p256))));
  const auto old_record = store_->find_certificate(old_cert.serial_hex());
  const auto record = store_->find_certificate(renewed.serial_hex());
  ASSERT_TRUE(old_record && record);
  const auto found = unanswered_renewal(*store_, *old_record, record->not_before);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->serial, renewed.serial_hex());
  EXPECT_TRUE(unanswered_renewal(*store_, *old_record, record->not_after - 1));
  EXPECT_FALSE(unanswered_renewal(*store_, *old_record, record->not_after)) << "expired";
  EXPECT_FALSE(unanswered_renewal(*store_, *old_record, record->not_before - 1)) << "not yet";
  EXPECT_FALSE(unanswered_renewal(*store_, *record, record->not_before)) << "not superseded";
}

TEST_F(EstServiceTest, ReenrollRefusals) {
  const auto csr = testing::make_csr("DeviceAlpha", key_);
  EXPECT_EQ(reenroll(csr).status, 403) << "no client certificate";

  enroll_and_present("DeviceAlpha", key_);
  const auto rows = store_->list_certificates("").size();
  EXPECT_EQ(reenroll(testing::make_csr("DeviceGamma", key_)).status, 400) << "other subject";
  crypto::CsrSpec with_san;
  with_san.common_name = "DeviceAlpha";
  with_san.subject_alt_names = {"DNS:alpha.example"};
  EXPECT_EQ(reenroll(crypto::build_csr(with_san, key_)).status, 400) << "SAN added";

  const auto saved_now = now_;
  now_ = now_ + hours(24 * 400);
  const auto expired = reenroll(csr);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;
  now_ = saved_now;

  const auto stranger_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto foreign = manufacturer_.issue(
      ca::IssueRequest{"DeviceAlpha", stranger_key.get(), {}, {}, now_}, ca::IssuancePolicy{});
  peer_.peer_chain_der = {foreign.to_der()};
  EXPECT_EQ(reenroll(csr).status, 403) << "another CA";

  const auto unrecorded = authority_.issue(
      ca::IssueRequest{"DeviceAlpha", stranger_key.get(), {}, {}, now_}, ca::IssuancePolicy{});
  peer_.peer_chain_der = {unrecorded.to_der()};
  EXPECT_EQ(reenroll(csr).status, 403) << "not in the registry";
  EXPECT_EQ(store_->list_certificates("").size(), rows);
}

TEST_F(EstServiceTest, ReenrollGoesThroughTheProfileThatIssued) {
  const auto old_cert = enroll_and_present("DeviceAlpha", key_);
  const auto rows = store_->list_certificates("").size();
  const auto audit = audit_rows();
  const auto new_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto response = reenroll(testing::make_csr("DeviceAlpha", new_key), "pop");
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("issued under the default profile (no label) and renews only "
                               "there, not under the profile with label 'pop'"),
            std::string::npos)
      << response.body;
  EXPECT_EQ(store_->list_certificates("").size(), rows);
  EXPECT_EQ(store_->find_certificate(old_cert.serial_hex())->status,
            registry::CertificateStatus::active);
  EXPECT_EQ(audit_rows(), audit + 1) << "the refusal is audited";
  issued(reenroll(testing::make_csr("DeviceAlpha", new_key)));

  // And the other way round: a certificate from a labelled profile renews only under its label.
  const auto beta_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::CsrSpec spec;
  spec.common_name = "DeviceBeta";
  spec.challenge_password = crypto::base64_encode(peer_.channel_binding);
  const auto beta = issued(enroll(crypto::build_csr(spec, beta_key), "pop"));
  peer_.peer_chain_der = {beta.to_der()};
  const auto wrong = reenroll(crypto::build_csr(spec, beta_key));
  EXPECT_EQ(wrong.status, 403);
  EXPECT_NE(wrong.body.find("issued under the profile with label 'pop' and renews only there, "
                            "not under the default profile (no label)"),
            std::string::npos)
      << wrong.body;
  issued(reenroll(crypto::build_csr(spec, beta_key), "pop"));
}

TEST_F(EstServiceTest, RevokedCertificateCannotReenroll) {
  const auto cert = enroll_and_present("DeviceAlpha", key_);
  store_->revoke_certificate(cert.serial_hex(), "keyCompromise", 0, registry::AuditEvent{});
  const auto response = reenroll(testing::make_csr("DeviceAlpha", key_));
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("revoked"), std::string::npos);
}

TEST_F(EstServiceTest, ADisabledThingCannotReenrollAndNothingIsSigned) {
  const auto cert = enroll_and_present("DeviceAlpha", key_);
  store_->disable_thing("DeviceAlpha", "cessationOfOperation", 0, registry::AuditEvent{});
  const auto response = reenroll(testing::make_csr("DeviceAlpha", key_));
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("revoked (cessationOfOperation)"), std::string::npos)
      << response.body;
  EXPECT_EQ(store_->list_certificates("DeviceAlpha").size(), 1U);
}

TEST_F(EstServiceTest, ABootstrapStoreThatTrustsThisCaStillRefusesItsRevokedCertificates) {
  EnrollmentProfile own;
  own.label = "own";
  own.auth_methods = {AuthMethod::tls_client};
  own.bootstrap_trust = std::make_shared<const crypto::TrustStore>(std::vector{authority_.root()});
  const EstService service(authority_, *store_, {own}, [this] { return now_; });
  const auto enroll_own = [&](const std::string& cn) {
    http::Request request{"POST",
                          "/.well-known/est/own/simpleenroll",
                          {{"Content-Type", "application/pkcs10"}},
                          crypto::base64_encode(testing::make_csr(cn, key_).to_der(), 64)};
    return service.handle(request, peer_).response;
  };
  const auto cert = enroll_and_present("DeviceAlpha", key_);
  peer_.peer_chain_der = {cert.to_der(), authority_.issuing_certificate().to_der()};
  EXPECT_EQ(enroll_own("DeviceBeta").status, 200) << "a good certificate of this CA is let in";

  store_->revoke_certificate(cert.serial_hex(), "keyCompromise", 0, registry::AuditEvent{});
  const auto refused = enroll_own("DeviceGamma");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("revoked (keyCompromise)"), std::string::npos) << refused.body;
  EXPECT_FALSE(store_->find_thing("DeviceGamma"));
}

TEST_F(EstServiceTest, BootstrapCertificateProfile) {
  const auto csr = testing::make_csr("idev-1", key_);
  EXPECT_EQ(enroll(csr, "idevid", "").status, 403) << "no certificate";
  EXPECT_EQ(enroll(csr, "idevid").status, 403) << "a password is not accepted here";

  const auto idevid_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto idevid = manufacturer_.issue(
      ca::IssueRequest{"idev-1", idevid_key.get(), {}, {}, now_}, ca::IssuancePolicy{});
  const auto not_manufacturer = authority_.issue(
      ca::IssueRequest{"idev-1", idevid_key.get(), {}, {}, now_}, ca::IssuancePolicy{});
  peer_.peer_chain_der = {not_manufacturer.to_der()};
  EXPECT_EQ(enroll(csr, "idevid", "").status, 403) << "not from the bootstrap trust store";

  peer_.peer_chain_der = {idevid.to_der(), manufacturer_.issuing_certificate().to_der()};
  EXPECT_EQ(issued(enroll(csr, "idevid", "")).subject_common_name(), "idev-1");
}

TEST_F(EstServiceTest, AuthModeAllNeedsEveryMethod) {
  const auto csr = testing::make_csr("both-1", key_);
  EXPECT_EQ(enroll(csr, "both").status, 403) << "password without the bootstrap certificate";
  const auto idevid_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto idevid = manufacturer_.issue(
      ca::IssueRequest{"both-1", idevid_key.get(), {}, {}, now_}, ca::IssuancePolicy{});
  peer_.peer_chain_der = {idevid.to_der(), manufacturer_.issuing_certificate().to_der()};
  EXPECT_EQ(enroll(csr, "both", "").status, 401) << "certificate without the password";
  EXPECT_EQ(enroll(csr, "both", basic(kUser, "wrong")).status, 401);
  EXPECT_EQ(issued(enroll(csr, "both")).subject_common_name(), "both-1");
}

TEST_F(EstServiceTest, ARememberedPasswordStillHasToBeTheRightOne) {
  issued(enroll(testing::make_csr("cached-1", key_)));  // verified once, now remembered
  EXPECT_EQ(enroll(testing::make_csr("cached-2", key_), "", basic(kUser, "wrong")).status, 401);
  registry::AuditEvent audit;
  store_->put_user(registry::User{kUser, crypto::hash_password("a new password", {10, 8, 1}), 0},
                   audit, true);
  EXPECT_EQ(enroll(testing::make_csr("cached-3", key_)).status, 401)
      << "the old password must stop working as soon as it is changed";
  EXPECT_EQ(issued(enroll(testing::make_csr("cached-4", key_), "", basic(kUser, "a new password")))
                .subject_common_name(),
            "cached-4");
}

TEST_F(EstServiceTest, RefusalsAreAudited) {
  const auto before = audit_rows();
  enroll(testing::make_csr("dev", key_), "", basic(kUser, "nope"));
  const auto audit = store_->audit_since(0);
  ASSERT_EQ(audit.size(), before + 1);
  EXPECT_EQ(audit.back().result, "refused");
  EXPECT_EQ(audit.back().operation, "simpleenroll");
  EXPECT_FALSE(audit.back().reason.empty());
}

TEST(EstServiceConstruction, RefusesDuplicateLabelsAndTrustlessCertificateProfiles) {
  testing::TempDir dir;
  const auto authority = testing::make_authority();
  auto store = registry::SqliteStore::open((dir.path() / "r.db").string());
  const Clock clock = [] { return std::chrono::system_clock::now(); };
  EXPECT_THROW(EstService(authority, *store, {EnrollmentProfile{}, EnrollmentProfile{}}, clock),
               std::invalid_argument);
  EnrollmentProfile certs_only;
  certs_only.auth_methods = {AuthMethod::tls_client};
  EXPECT_THROW(EstService(authority, *store, {certs_only}, clock), std::invalid_argument);
}

}  // namespace
}  // namespace estfleet::est
