// EstClient against a real TLS server that holds every request for approval (202): a Retry-After
// of "0" or a date in the past must not make it ask again in a loop, and a huge one must not
// outlast the certificate being renewed.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "http/server.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

using namespace std::chrono_literals;

class PendingServer : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto now = std::chrono::system_clock::now();
    const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    std::ofstream(dir_.path() / "server.pem")
        << authority_
               .issue_tls_server(tls_key.get(), {"localhost"}, now, 1h,
                                 ca::TlsServerRole::est_server)
               .to_pem()
        << authority_.issuing_certificate().to_pem();
    std::ofstream(dir_.path() / "server.key") << tls_key.to_pem();
    http::ServerOptions options;
    options.listen_port = 0;
    options.threads = 1;
    options.handle_signals = false;
    options.certificate_chain_file = (dir_.path() / "server.pem").string();
    options.private_key_file = (dir_.path() / "server.key").string();
    server_ = std::make_unique<http::Server>(
        options, [this](const http::Request& request, const http::TlsPeer&) {
          if (request.method == "POST") {
            ++posts_;
          }
          return http::Response{
              202, {{"Content-Type", "text/plain"}, {"Retry-After", retry_after()}}, "held"};
        });
    runner_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    server_->stop();
    runner_.join();
  }
  void set_retry_after(const std::string& value) {
    const std::lock_guard lock(mutex_);
    retry_after_ = value;
  }
  std::string retry_after() {
    const std::lock_guard lock(mutex_);
    return retry_after_;
  }
  EstClientOptions options(std::chrono::seconds patience) const {
    EstClientOptions o;
    o.server_url = "https://localhost:" + std::to_string(server_->port());
    o.trust_anchors_pem = authority_.root().to_pem();
    o.max_pending_wait = patience;
    return o;
  }

  testing::TempDir dir_;
  ca::Authority authority_ = testing::make_authority();
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
  std::atomic<int> posts_{0};
  std::mutex mutex_;
  std::string retry_after_;
};

TEST_F(PendingServer, ARetryAfterOfZeroOrInThePastIsNotAskedAgainAtOnce) {
  for (const std::string value : {"0", "Sun, 06 Nov 1994 08:49:37 GMT"}) {
    set_retry_after(value);
    posts_ = 0;
    EstClient client(options(3s));
    const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    const auto start = std::chrono::steady_clock::now();
    try {
      client.enroll(key, EnrollRequest{"dev-1", std::nullopt, false, {}});
      ADD_FAILURE() << "a 202 came back as a certificate";
    } catch (const StillPending& e) {
      EXPECT_EQ(e.retry_after(), 5s) << value;
    }
    // The floor (5 s) is beyond the patience (3 s): asked once, then reported pending.
    EXPECT_EQ(posts_.load(), 1) << "Retry-After: " << value;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s) << value;
  }
}

TEST_F(PendingServer, AHugeRetryAfterDoesNotOutlastTheCertificateBeingRenewed) {
  set_retry_after("99999999999");
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  ca::IssuancePolicy policy;
  policy.validity = 1h;
  const auto current = authority_.issue(
      ca::IssueRequest{"dev-1", key.get(), {}, {}, std::chrono::system_clock::now()}, policy);
  EstClient client(options(0s));
  try {
    client.reenroll(current, key, key, ReenrollRequest{{}, false, {}});
    ADD_FAILURE() << "a 202 came back as a certificate";
  } catch (const StillPending& e) {
    // Half of the hour the certificate has left, as a failed renewal waits.
    EXPECT_LE(e.retry_after(), 30min);
    EXPECT_GE(e.retry_after(), 29min);
  }
  EXPECT_EQ(posts_.load(), 1);
}

}  // namespace
}  // namespace estfleet::client
