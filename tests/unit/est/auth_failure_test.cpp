// Outcome::auth_failure: which authentication method a refusal was about, for the metrics.
#include <gtest/gtest.h>

#include <vector>

#include "crypto/encoding.hpp"
#include "crypto/password_hash.hpp"
#include "crypto/pkcs7.hpp"
#include "est/service.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"

namespace estfleet::est {
namespace {

class AuthFailureTest : public ::testing::Test {
 protected:
  AuthFailureTest()
      : now_(std::chrono::system_clock::now()),
        authority_(testing::make_authority(now_)),
        manufacturer_(testing::make_authority(now_)),
        store_(registry::SqliteStore::open((dir_.path() / "registry.db").string())) {
    registry::AuditEvent audit;
    audit.operation = "user-add";
    store_->put_user(registry::User{"factory", crypto::hash_password("pw", {10, 8, 1}), 0}, audit,
                     false);
    EnrollmentProfile by_password;
    EnrollmentProfile by_device_cert;
    by_device_cert.label = "idevid";
    by_device_cert.auth_methods = {AuthMethod::tls_client};
    by_device_cert.bootstrap_trust =
        std::make_shared<const crypto::TrustStore>(std::vector{manufacturer_.root()});
    service_.emplace(authority_, *store_, std::vector{by_password, by_device_cert},
                     [this] { return now_; });
    peer_.remote_address = "127.0.0.1";
  }

  Outcome post(const std::string& target, const std::string& password,
               const std::string& cn = "Device1") {
    http::HeaderList headers{{"Content-Type", "application/pkcs10"}};
    if (!password.empty()) {
      headers.emplace_back("Authorization",
                           "Basic " + crypto::base64_encode("factory:" + password));
    }
    const auto csr = testing::make_csr(cn, key_);
    return service_->handle(
        http::Request{"POST", target, headers, crypto::base64_encode(csr.to_der(), 64)}, peer_);
  }

  testing::TempDir dir_;
  crypto::TimePoint now_;
  ca::Authority authority_;
  ca::Authority manufacturer_;
  std::unique_ptr<registry::SqliteStore> store_;
  std::optional<EstService> service_;
  http::TlsPeer peer_;
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(AuthFailureTest, AWrongOrMissingPasswordIsABasicFailure) {
  EXPECT_EQ(post("/.well-known/est/simpleenroll", "wrong").auth_failure, "basic");
  const auto missing = post("/.well-known/est/simpleenroll", "");
  EXPECT_EQ(missing.response.status, 401);
  EXPECT_EQ(missing.auth_failure, "basic");
}

TEST_F(AuthFailureTest, AMissingBootstrapCertificateIsATlsClientFailure) {
  const auto outcome = post("/.well-known/est/idevid/simpleenroll", "");
  EXPECT_EQ(outcome.response.status, 403);
  EXPECT_EQ(outcome.auth_failure, "tls-client");
}

TEST_F(AuthFailureTest, RefusalsAfterAuthenticationAndSuccessesAreNotAuthFailures) {
  const auto issued = post("/.well-known/est/simpleenroll", "pw");
  EXPECT_EQ(issued.response.status, 200) << issued.response.body;
  EXPECT_EQ(issued.auth_failure, "");
  key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto taken = post("/.well-known/est/simpleenroll", "pw");  // another key: already taken
  EXPECT_EQ(taken.response.status, 409);
  EXPECT_EQ(taken.auth_failure, "");
  const auto bad_name = post("/.well-known/est/simpleenroll", "pw", "bad name!");
  EXPECT_EQ(bad_name.response.status / 100, 4);
  EXPECT_EQ(bad_name.auth_failure, "");
}

TEST_F(AuthFailureTest, ReenrollWithoutOrWithAForeignCertificateIsATlsClientFailure) {
  const auto none = post("/.well-known/est/simplereenroll", "");
  EXPECT_EQ(none.response.status, 403);
  EXPECT_EQ(none.auth_failure, "tls-client");
  const auto foreign_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto foreign = manufacturer_.issue(
      ca::IssueRequest{"Device1", foreign_key.get(), {}, {}, now_}, ca::IssuancePolicy{});
  peer_.peer_chain_der = {foreign.to_der()};
  const auto outcome = post("/.well-known/est/simplereenroll", "");
  EXPECT_EQ(outcome.response.status, 403);
  EXPECT_EQ(outcome.auth_failure, "tls-client");
}

// The failed-login limiter holds a token only until authentication is decided: the service says
// so once per enrollment, refused or not, and not at all where nothing was authenticated.
TEST_F(AuthFailureTest, TheLimiterIsToldOnceWhenAuthenticationIsDecided) {
  const auto count = [&](const std::string& target, const std::string& password) {
    std::vector<bool> told;
    const auto csr = testing::make_csr("Decided1", key_);
    http::HeaderList headers{{"Content-Type", "application/pkcs10"}};
    if (!password.empty()) {
      headers.emplace_back("Authorization",
                           "Basic " + crypto::base64_encode("factory:" + password));
    }
    service_->handle(http::Request{"POST", target, headers, crypto::base64_encode(csr.to_der())},
                     peer_, [&told](bool refused) { told.push_back(refused); });
    return told;
  };
  EXPECT_EQ(count("/.well-known/est/simpleenroll", "pw"), std::vector<bool>{false});
  EXPECT_EQ(count("/.well-known/est/simpleenroll", "wrong"), std::vector<bool>{true});
  EXPECT_EQ(count("/.well-known/est/idevid/simpleenroll", ""), std::vector<bool>{true});
  EXPECT_TRUE(count("/.well-known/est/nowhere/simpleenroll", "pw").empty());
  key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  // Authenticated, then refused for another reason (the name is taken): still not a failure.
  EXPECT_EQ(count("/.well-known/est/simpleenroll", "pw"), std::vector<bool>{false});
}

}  // namespace
}  // namespace estfleet::est
