// The server's revocation side: the [crl]/[ocsp]/superseded_grace keys, GET /crl and the OCSP
// endpoints through RevocationService, the CRL files, and admin revocations refreshing them.
#include "ca/revocation.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/files.hpp"
#include "crypto/crl.hpp"
#include "crypto/encoding.hpp"
#include "crypto/ocsp.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "server/admin_certs.hpp"
#include "server/config.hpp"
#include "server/data_folder.hpp"
#include "server/fleet_secret_file.hpp"
#include "server/revocation_files.hpp"
#include "server/revocation_service.hpp"
#include "support/counting_store.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

class RevocationConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { create_fleet_secret(dir_.path() / kDefaultFleetSecretFile); }
  Config load(const std::string& text) {
    std::ofstream(dir_.path() / kConfigFileName) << text;
    return load_config(dir_.path());
  }
  void expect_refusal(const std::string& text, const std::string& needle) {
    try {
      load(text);
      ADD_FAILURE() << "accepted a config with " << needle;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  testing::TempDir dir_;
};

TEST_F(RevocationConfigTest, DefaultsAndGoodValues) {
  auto config = load(default_config_text());
  EXPECT_EQ(config.revocation.crl_validity, hours(24));
  EXPECT_EQ(config.revocation.ocsp_validity, hours(1));
  EXPECT_FALSE(config.revocation.crl_distribution_point);
  EXPECT_FALSE(config.revocation.ocsp_url);
  EXPECT_EQ(find_profile(config, "").superseded_grace, seconds(0));
  EXPECT_FALSE(build_profiles(config).front().issuance.crl_distribution_point);

  std::string text = replaced(default_config_text(), "validity = \"1d\"", "validity = \"30s\"");
  text = replaced(text, "# distribution_point = \"https://est.example.com:8443/crl\"",
                  "distribution_point = \"http://crl.example.com/est.crl\"");
  text = replaced(text, "# url = \"https://est.example.com:8443/ocsp\"",
                  "url = \"https://est.example.com:8443/ocsp\"");
  text = replaced(text, "superseded_grace = \"0s\"", "superseded_grace = \"5s\"");
  config = load(text);
  EXPECT_EQ(config.revocation.crl_validity, seconds(30));
  EXPECT_EQ(config.revocation.crl_distribution_point, "http://crl.example.com/est.crl");
  EXPECT_EQ(config.revocation.ocsp_url, "https://est.example.com:8443/ocsp");
  EXPECT_EQ(find_profile(config, "").superseded_grace, seconds(5));
  const auto profiles = build_profiles(config);
  EXPECT_EQ(profiles.front().issuance.crl_distribution_point, "http://crl.example.com/est.crl");
  EXPECT_EQ(profiles.front().issuance.ocsp_url, "https://est.example.com:8443/ocsp");
  EXPECT_EQ(revocation_policy(config).grace_for(""), seconds(5));
  // Certificate lifetimes in seconds, so tests can run a whole life quickly.
  EXPECT_EQ(parse_duration("5s"), seconds(5));
}

TEST_F(RevocationConfigTest, BadValuesAreRefusedNamingTheKey) {
  const std::string base = default_config_text();
  const std::string dp = "# distribution_point = \"https://est.example.com:8443/crl\"";
  expect_refusal(replaced(base, dp, "distribution_point = \"ftp://x/crl\""),
                 "'crl.distribution_point' must be an http:// or https:// URL");
  expect_refusal(replaced(base, dp, "distribution_point = \"http://a,b/crl\""),
                 "'crl.distribution_point' holds 'http://a,b/crl'");
  expect_refusal(replaced(base, dp, "distribution_point = \"https://\""),
                 "'crl.distribution_point' holds");
  expect_refusal(replaced(base, "# url = \"https://est.example.com:8443/ocsp\"",
                          "url = \"https://est example/ocsp\""),
                 "'ocsp.url' holds");
  expect_refusal(replaced(base, "validity = \"1d\"", "validity = \"1s\""),
                 "'crl.validity' must be at least 2s");
  expect_refusal(replaced(base, "validity = \"1h\"", "validity = \"soon\""), "'ocsp.validity'");
  expect_refusal(replaced(base, "validity = \"1d\"", "validity = \"1d\"\nnext_update = \"2d\""),
                 "unknown key 'next_update' in [crl]");
  expect_refusal(replaced(base, "superseded_grace = \"0s\"", "superseded_grace = \"-1s\""),
                 "'profiles.default'");
}

TEST(OcspGetPath, DecodesPercentEncodingAndBothAlphabets) {
  const std::string der("\xfb\xff\xfe\x01\x02", 5);  // base64 "+//+AQI=", base64url "-__-AQI"
  EXPECT_EQ(decode_ocsp_get_path("%2B%2F%2F%2BAQI%3D"), der);
  EXPECT_EQ(decode_ocsp_get_path("+//+AQI="), der);
  EXPECT_EQ(decode_ocsp_get_path("-__-AQI"), der);
  EXPECT_EQ(decode_ocsp_get_path(""), std::nullopt);
  EXPECT_EQ(decode_ocsp_get_path("%2"), std::nullopt);
  EXPECT_EQ(decode_ocsp_get_path("%zz"), std::nullopt);
  EXPECT_EQ(decode_ocsp_get_path("AQ%20I"), std::nullopt);
  EXPECT_EQ(decode_ocsp_get_path("!!!!"), std::nullopt);
}

class RevocationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.data_dir = dir_.path();
    initialize_data_folder(init);
    config_ = load_config(dir_.path());
    authority_.emplace(ca::Authority::load(config_.ca_key, config_.ca_chain));
    store_ = registry::SqliteStore::open(config_.database_path.string());
  }

  crypto::Certificate enroll(const std::string& thing) {
    const auto cert = authority_->issue(ca::IssueRequest{thing, key_.get(), {}, {}, now_},
                                        build_profiles(config_).front().issuance);
    registry::CertificateRecord record;
    record.serial = cert.serial_hex();
    record.thing_name = thing;
    record.subject = cert.subject_text();
    record.not_before = ca::to_unix_seconds(cert.not_before());
    record.not_after = ca::to_unix_seconds(cert.not_after());
    record.issued_at = ca::to_unix_seconds(now_);
    record.pem = cert.to_pem();
    record.sha256_fingerprint = cert.sha256_fingerprint();
    store_->record_enrollment(record, registry::ThingRegistration{}, registry::AuditEvent{});
    return cert;
  }

  http::Response call(const std::string& method, const std::string& target, std::string body = {},
                      http::HeaderList headers = {}) {
    return service_->handle(http::Request{method, target, std::move(headers), std::move(body)});
  }

  crypto::Crl served_crl() {
    const auto response = call("GET", "/crl");
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("Content-Type"), "application/pkix-crl");
    return crypto::Crl::from_der(response.body);
  }

  testing::TempDir dir_;
  crypto::TimePoint now_ = std::chrono::system_clock::now();
  Config config_;
  std::optional<ca::Authority> authority_;
  std::unique_ptr<registry::SqliteStore> store_;
  std::optional<RevocationService> service_;
  crypto::PrivateKey key_ = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
};

TEST_F(RevocationServiceTest, InitWritesTheResponderAndAFirstCrl) {
  EXPECT_EQ(testing::file_mode(dir_.path() / kOcspKeyFile), 0600U);
  const auto crl = crypto::Crl::from_der(common::read_file(dir_.path() / kCrlDerFile));
  EXPECT_EQ(crl.number(), 1);
  EXPECT_EQ(crypto::Crl::from_pem(common::read_file(dir_.path() / kCrlPemFile)).to_der(),
            crl.to_der());
  // Loading again keeps the responder; a damaged one is replaced.
  EXPECT_FALSE(ensure_ocsp_responder(dir_.path(), *authority_, now_).created);
  std::ofstream(dir_.path() / kOcspCertificateFile) << "damaged";
  EXPECT_TRUE(ensure_ocsp_responder(dir_.path(), *authority_, now_).created);
  EXPECT_TRUE(ensure_ocsp_responder(dir_.path(), *authority_, now_ + hours(24 * 61)).created);
}

TEST_F(RevocationServiceTest, ServesTheCrlAndAnswersOcspFromTheRegistryWithTheInjectedClock) {
  const auto cert = enroll("dev-1");
  const auto clock_time = now_ + hours(2);
  service_.emplace(config_, *authority_, *store_, [&] { return clock_time; });
  auto crl = served_crl();
  EXPECT_EQ(crl.number(), 2);  // init made 1; the service publishes on start
  EXPECT_EQ(crl.this_update(), ca::to_time_point(ca::to_unix_seconds(clock_time)));
  EXPECT_FALSE(crl.find(cert.serial_hex()));

  const auto request =
      crypto::build_ocsp_request(cert, authority_->issuing_certificate(), std::string("n"));
  auto response = call("POST", "/ocsp", request, {{"Content-Type", "application/ocsp-request"}});
  EXPECT_EQ(response.header("Content-Type"), "application/ocsp-response");
  auto singles = crypto::OcspResponse::from_der(response.body).responses();
  ASSERT_EQ(singles.size(), 1U);
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::good);

  store_->revoke_certificate(cert.serial_hex(), "keyCompromise", ca::to_unix_seconds(now_),
                             registry::AuditEvent{});
  // OCSP answers from the registry at once, by GET as well.
  response = call("GET", "/ocsp/" + crypto::base64_encode(request));
  singles = crypto::OcspResponse::from_der(response.body).responses();
  ASSERT_EQ(singles.size(), 1U);
  EXPECT_EQ(singles[0].status.state, crypto::OcspCertState::revoked);
  // The CRL once the schedule (here called directly) publishes again.
  service_->publish_crl();
  crl = served_crl();
  ASSERT_TRUE(crl.find(cert.serial_hex()));
  EXPECT_EQ(crl.find(cert.serial_hex())->reason, crypto::CrlReason::keyCompromise);
  EXPECT_EQ(common::read_file(dir_.path() / kCrlDerFile), crl.to_der());
}

TEST_F(RevocationServiceTest, TheCrlIsServedFromMemoryAndReadAgainOnlyWhenItsNumberGrows) {
  testing::CountingStore counting(*store_);
  service_.emplace(config_, *authority_, counting, [this] { return now_; });
  const auto first = served_crl().number();
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(served_crl().number(), first);
  }
  // Each request reads one integer; the CRL itself, published by this process, never.
  EXPECT_EQ(counting.published_crl_number_calls, 10);
  EXPECT_EQ(counting.published_crl_calls, 0);

  // Another process on the same registry (the admin CLI, another server) publishes a newer CRL:
  // the next request serves it, and it is read from the registry once.
  const auto other = registry::SqliteStore::open(config_.database_path.string());
  const auto newer = ca::issue_crl(*authority_, *other, crl_settings(config_), now_);
  ASSERT_GT(newer.published.number, first);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(served_crl().number(), newer.published.number);
  }
  EXPECT_EQ(counting.published_crl_number_calls, 13);
  EXPECT_EQ(counting.published_crl_calls, 1);
}

TEST_F(RevocationServiceTest, RefusalsOnTheRevocationPaths) {
  service_.emplace(config_, *authority_, *store_, [this] { return now_; });
  EXPECT_TRUE(RevocationService::serves("/crl"));
  EXPECT_TRUE(RevocationService::serves("/ocsp"));
  EXPECT_TRUE(RevocationService::serves("/ocsp/MEIw?x=1"));
  EXPECT_FALSE(RevocationService::serves("/crlx"));
  EXPECT_FALSE(RevocationService::serves("/.well-known/est/cacerts"));

  auto response = call("POST", "/crl", "x");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET");
  response = call("DELETE", "/ocsp");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET, POST");
  response = call("POST", "/ocsp", "x", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(response.status, 415);
  EXPECT_NE(response.body.find("application/ocsp-request"), std::string::npos);
  for (const auto& [method, target, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"POST", "/ocsp", "junk"},
                                                                      {"GET", "/ocsp", ""},
                                                                      {"GET", "/ocsp/%%%", ""},
                                                                      {"GET", "/ocsp/AAAA", ""}}) {
    response = call(method, target, body, {{"Content-Type", "application/ocsp-request"}});
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(crypto::OcspResponse::from_der(response.body).status(),
              crypto::OcspResponseStatus::malformed_request)
        << method << " " << target;
  }
}

TEST_F(RevocationServiceTest, AdminRevokeRefreshesTheCrlFilesWithoutAServer) {
  const auto cert = enroll("dev-1");
  store_.reset();
  const auto output = revoke_certificate(dir_.path(), cert.serial_hex(), "keyCompromise", false);
  EXPECT_NE(output.find("CRL 2 published"), std::string::npos) << output;
  const auto crl = crypto::Crl::from_der(common::read_file(dir_.path() / kCrlDerFile));
  EXPECT_EQ(crl.number(), 2);
  ASSERT_TRUE(crl.find(cert.serial_hex()));
  EXPECT_EQ(crl.find(cert.serial_hex())->reason, crypto::CrlReason::keyCompromise);
  // Revoking again changes nothing and issues no CRL.
  EXPECT_NE(revoke_certificate(dir_.path(), cert.serial_hex(), "keyCompromise", false)
                .find("already revoked"),
            std::string::npos);
  EXPECT_EQ(crypto::Crl::from_der(common::read_file(dir_.path() / kCrlDerFile)).number(), 2);
}

}  // namespace
}  // namespace estfleet::server
