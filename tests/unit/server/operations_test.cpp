#include "server/operations.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "registry/sqlite/sqlite_store.hpp"
#include "server/config.hpp"
#include "support/test_pki.hpp"

namespace estfleet::server {
namespace {

using namespace std::chrono_literals;

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

class OperationsTest : public ::testing::Test {
 protected:
  OperationsTest()
      : now_(std::chrono::system_clock::now()),
        authority_(testing::make_authority(now_)),
        store_(registry::SqliteStore::open((dir_.path() / "registry.db").string())),
        metrics_(
            *store_, {"", "factory"}, [this] { return now_; }, 0s) {}

  void answer(const std::string& method, const std::string& target, int status,
              const std::string& auth_failure = {}) {
    est::Outcome outcome;
    outcome.response.status = status;
    outcome.auth_failure = auth_failure;
    metrics_.observe(http::Request{method, target, {}, {}}, outcome, 3ms);
  }

  void enroll(const std::string& serial, const std::string& thing, std::chrono::hours lifetime) {
    registry::CertificateRecord cert;
    cert.serial = serial;
    cert.thing_name = thing;
    cert.subject = "CN=" + thing;
    cert.issued_at =
        std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
    cert.not_before = cert.issued_at;
    cert.not_after = cert.issued_at + std::chrono::seconds(lifetime).count();
    cert.pem = "pem";
    cert.sha256_fingerprint = "fp" + serial;
    registry::ThingRegistration registration;
    registry::AuditEvent audit;
    audit.operation = "simpleenroll";
    store_->record_enrollment(cert, registration, audit);
  }

  testing::TempDir dir_;
  std::chrono::system_clock::time_point now_;
  ca::Authority authority_;
  std::unique_ptr<registry::SqliteStore> store_;
  ServiceMetrics metrics_;
};

TEST_F(OperationsTest, CountsEnrollmentsByProfileOperationAndResult) {
  answer("POST", "/.well-known/est/simpleenroll", 200);
  answer("POST", "/.well-known/est/simpleenroll", 200);
  answer("POST", "/.well-known/est/factory/simpleenroll", 202);
  answer("POST", "/.well-known/est/factory/simplereenroll", 403, "tls-client");
  answer("POST", "/.well-known/est/simpleenroll", 401, "basic");
  answer("POST", "/.well-known/est/unknown/simpleenroll", 404);  // not a configured profile
  answer("GET", "/.well-known/est/cacerts", 200);                // not an enrollment
  answer("GET", "/crl", 200);
  answer("GET", "/metrics", 404);
  est::Outcome repeated;  // a lost renewal answer sent again: a 200 that issued nothing
  repeated.response.status = 200;
  repeated.repeated = true;
  metrics_.observe(http::Request{"POST", "/.well-known/est/simplereenroll", {}, {}}, repeated, 3ms);
  const auto text = metrics_.render();
  EXPECT_TRUE(has_line(
      text,
      R"(est_enrollments_total{profile="default",operation="simpleenroll",result="issued"} 2)"))
      << text;
  EXPECT_TRUE(has_line(
      text,
      R"(est_enrollments_total{profile="factory",operation="simpleenroll",result="pending"} 1)"));
  EXPECT_TRUE(has_line(
      text,
      R"(est_enrollments_total{profile="factory",operation="simplereenroll",result="403"} 1)"));
  EXPECT_TRUE(has_line(
      text, R"(est_enrollments_total{profile="default",operation="simpleenroll",result="401"} 1)"));
  EXPECT_TRUE(has_line(
      text,
      R"(est_enrollments_total{profile="default",operation="simplereenroll",result="repeated"} 1)"));
  EXPECT_EQ(text.find(R"(operation="simplereenroll",result="issued")"), std::string::npos);
  EXPECT_EQ(text.find("unknown"), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, R"(est_auth_failures_total{profile="default",method="basic"} 1)"));
  EXPECT_TRUE(
      has_line(text, R"(est_auth_failures_total{profile="factory",method="tls-client"} 1)"));
  EXPECT_TRUE(has_line(text, R"(est_request_duration_seconds_count{operation="simpleenroll"} 5)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(est_request_duration_seconds_count{operation="cacerts"} 1)"));
  EXPECT_TRUE(has_line(text, R"(est_request_duration_seconds_count{operation="crl"} 1)"));
  EXPECT_TRUE(has_line(text, R"(est_request_duration_seconds_count{operation="other"} 1)"));
  EXPECT_TRUE(
      has_line(text, R"(est_request_duration_seconds_bucket{operation="crl",le="0.0025"} 0)"));
  EXPECT_TRUE(
      has_line(text, R"(est_request_duration_seconds_bucket{operation="crl",le="0.005"} 1)"));
}

TEST_F(OperationsTest, ReadsRegistryGaugesHandshakeFailuresAndFixedSeries) {
  enroll("01", "soon", 48h);
  enroll("02", "later", 24h * 20);
  enroll("03", "much-later", 24h * 365);
  std::uint64_t failures = 4;
  metrics_.count_handshake_failures_with([&failures] { return failures; });
  auto text = metrics_.render();
  EXPECT_TRUE(has_line(text, "est_registry_things 3")) << text;
  EXPECT_TRUE(has_line(text, R"(est_registry_certificates{status="active"} 3)"));
  EXPECT_TRUE(has_line(text, R"(est_registry_certificates{status="revoked"} 0)"));
  EXPECT_TRUE(has_line(text, R"(est_registry_certificates{status="superseded"} 0)"));
  EXPECT_TRUE(has_line(text, R"(est_certificates_expiring{within="7d"} 1)"));
  EXPECT_TRUE(has_line(text, R"(est_certificates_expiring{within="30d"} 2)"));
  EXPECT_TRUE(has_line(text, "est_tls_handshake_failures_total 4"));
  EXPECT_TRUE(has_line(text, "est_broker_sync_backlog 0"));
  EXPECT_TRUE(has_line(text, "# TYPE process_start_time_seconds gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE est_tls_handshake_failures_total counter"));
  failures = 6;
  enroll("04", "another", 24h);
  text = metrics_.render();  // a TTL of 0: read again
  EXPECT_TRUE(has_line(text, "est_tls_handshake_failures_total 6"));
  EXPECT_TRUE(has_line(text, "est_registry_things 4"));
}

TEST_F(OperationsTest, RegistryCountsAreCachedForTheirTtl) {
  ServiceMetrics cached(
      *store_, {""}, [this] { return now_; }, 1h);
  EXPECT_TRUE(has_line(cached.render(), "est_registry_things 0"));
  enroll("01", "new", 24h);
  EXPECT_TRUE(has_line(cached.render(), "est_registry_things 0"));
}

TEST_F(OperationsTest, ProbesAnswerAndRefuseOtherPathsAndMethods) {
  const auto handler = operations_handler(metrics_, *store_, authority_);
  const http::TlsPeer peer;
  const auto metrics = handler({"GET", "/metrics", {}, {}}, peer);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("# TYPE est_enrollments_total counter"), std::string::npos);
  const auto health = handler({"GET", "/healthz", {}, {}}, peer);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  const auto ready = handler({"GET", "/readyz?verbose", {}, {}}, peer);
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(handler({"GET", "/", {}, {}}, peer).status, 404);
  EXPECT_EQ(handler({"GET", "/.well-known/est/cacerts", {}, {}}, peer).status, 404);
  const auto post = handler({"POST", "/metrics", {}, {}}, peer);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("Allow"), "GET");
}

TEST_F(OperationsTest, ReadinessNamesTheFailedCheck) {
  EXPECT_TRUE(readiness_problems(*store_, authority_).empty());
  // The registry's file is gone (the CA key cannot be made unusable here: Authority refuses a key
  // that does not match its certificate when it loads).
  std::filesystem::remove_all(dir_.path());
  const auto problems = readiness_problems(*store_, authority_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(problems[0].starts_with("registry: ")) << problems[0];
  EXPECT_EQ(problems[0].find('\n'), std::string::npos);
  const auto handler = operations_handler(metrics_, *store_, authority_);
  const auto ready = handler({"GET", "/readyz", {}, {}}, http::TlsPeer{});
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, problems[0] + "\n");
  EXPECT_EQ(handler({"GET", "/healthz", {}, {}}, http::TlsPeer{}).status, 200);
}

// The default config with its commented [metrics] listen line replaced by `line`.
std::string with_metrics_line(const std::string& line) {
  std::string text = default_config_text();
  const std::string commented = "# listen = \"127.0.0.1:9443\"";
  const auto at = text.find(commented);
  EXPECT_NE(at, std::string::npos) << "the default config lost its [metrics] example";
  return at == std::string::npos ? text : text.replace(at, commented.size(), line);
}

TEST(MetricsConfig, ListenIsOffByDefaultAndReadFromTheTable) {
  testing::TempDir dir;
  std::ofstream(dir.path() / kConfigFileName) << default_config_text();
  EXPECT_FALSE(load_config(dir.path()).metrics.enabled);
  std::ofstream(dir.path() / kConfigFileName) << with_metrics_line("listen = \"127.0.0.1:9443\"");
  const auto config = load_config(dir.path());
  EXPECT_TRUE(config.metrics.enabled);
  EXPECT_EQ(config.metrics.listen_host, "127.0.0.1");
  EXPECT_EQ(config.metrics.listen_port, 9443);
  for (const std::string bad : {"listen = \"9443\"", "listen = 9443", "port = 9443"}) {
    std::ofstream(dir.path() / kConfigFileName) << with_metrics_line(bad);
    try {
      load_config(dir.path());
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("metrics"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace estfleet::server
