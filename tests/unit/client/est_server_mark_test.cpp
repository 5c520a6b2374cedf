// est-client against a real TLS server presenting the broker's kind of certificate (this CA,
// serverAuth, the same names, no id-kp-cmcRA): nothing is sent to it unless --no-ra-check.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "client/errors.hpp"
#include "client/est_client.hpp"
#include "http/server.hpp"
#include "support/test_pki.hpp"

namespace estfleet::client {
namespace {

using namespace std::chrono_literals;

class EstServerMarkTest : public ::testing::Test {
 protected:
  // A server that answers every request with an empty cacerts-like 200, counting requests.
  void start(ca::TlsServerRole role) {
    const auto now = std::chrono::system_clock::now();
    const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    std::ofstream(dir_.path() / "server.pem")
        << authority_
               .issue_tls_server(tls_key.get(), {"localhost", "127.0.0.1", "::1"}, now, 1h, role)
               .to_pem()
        << authority_.issuing_certificate().to_pem();
    std::ofstream(dir_.path() / "server.key") << tls_key.to_pem();
    http::ServerOptions options;
    options.listen_port = 0;
    options.threads = 1;
    options.handle_signals = false;
    options.certificate_chain_file = (dir_.path() / "server.pem").string();
    options.private_key_file = (dir_.path() / "server.key").string();
    server_ =
        std::make_unique<http::Server>(options, [this](const http::Request&, const http::TlsPeer&) {
          ++requests_;
          return http::Response{404, {{"Content-Type", "text/plain"}}, "nothing here"};
        });
    runner_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      runner_.join();
    }
  }
  EstClientOptions options(EstServerMark mark) const {
    EstClientOptions o;
    o.server_url = "https://localhost:" + std::to_string(server_->port());
    o.trust_anchors_pem = authority_.root().to_pem();
    o.timeout = 5s;
    o.server_mark = mark;
    return o;
  }
  static std::string error_of(const std::function<void()>& action) {
    try {
      action();
    } catch (const ClientError& e) {
      return e.what();
    }
    return "no error";
  }

  testing::TempDir dir_;
  ca::Authority authority_ = testing::make_authority();
  std::unique_ptr<http::Server> server_;
  std::thread runner_;
  std::atomic<int> requests_{0};
};

TEST_F(EstServerMarkTest, TheBrokersCertificateGetsNoPasswordCsrOrClientCertificate) {
  start(ca::TlsServerRole::other_service);
  const auto device_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto device = authority_.issue(
      ca::IssueRequest{"DeviceA", device_key.get(), {}, {}, std::chrono::system_clock::now()},
      ca::IssuancePolicy{});
  EstClient client(options(EstServerMark::required));

  const auto enroll_error = error_of([&] {
    EnrollRequest request;
    request.common_name = "DeviceA";
    request.credentials = BasicCredentials{"DeviceA", "the fleet-derived password"};
    client.enroll(crypto::PrivateKey::generate(crypto::KeyType::ec_p256), request);
  });
  EXPECT_NE(enroll_error.find("lacks id-kp-cmcRA"), std::string::npos) << enroll_error;
  const auto reenroll_error = error_of([&] {
    client.reenroll(device, device_key, crypto::PrivateKey::generate(crypto::KeyType::ec_p256),
                    ReenrollRequest{});
  });
  EXPECT_NE(reenroll_error.find("lacks id-kp-cmcRA"), std::string::npos) << reenroll_error;
  EXPECT_NE(error_of([&] { client.cacerts(); }).find("lacks id-kp-cmcRA"), std::string::npos);
  EXPECT_NE(error_of([&] {
              EstClient::bootstrap_cacerts(options(EstServerMark::required),
                                           authority_.root().sha256_fingerprint());
            }).find("lacks id-kp-cmcRA"),
            std::string::npos);
  EXPECT_EQ(requests_, 0) << "a request reached a server that is not the EST server";
}

TEST_F(EstServerMarkTest, TheEstServersCertificateAndAnOptOutAreAccepted) {
  start(ca::TlsServerRole::est_server);
  EXPECT_NE(error_of([&] { EstClient(options(EstServerMark::required)).cacerts(); }).find("(404)"),
            std::string::npos);
  EXPECT_EQ(requests_, 1);
  TearDown();
  server_.reset();
  start(ca::TlsServerRole::other_service);
  EXPECT_NE(
      error_of([&] { EstClient(options(EstServerMark::not_required)).cacerts(); }).find("(404)"),
      std::string::npos);
  EXPECT_EQ(requests_, 2) << "--no-ra-check lets another EST server's certificate through";
}

}  // namespace
}  // namespace estfleet::client
