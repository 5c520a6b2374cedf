// The real TLS transport on loopback: channel binding agreement, peer certificates, limits,
// keep-alive and graceful stop.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fstream>
#include <thread>

#include "crypto/encoding.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "support/test_pki.hpp"

namespace estfleet::http {
namespace {

using namespace std::chrono_literals;

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto now = std::chrono::system_clock::now();
    const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    const auto tls_cert = authority_.issue_tls_server(tls_key.get(), {"localhost", "127.0.0.1"},
                                                      now, std::chrono::hours(1));
    std::ofstream(dir_.path() / "server.pem")
        << tls_cert.to_pem() << authority_.issuing_certificate().to_pem();
    std::ofstream(dir_.path() / "server.key") << tls_key.to_pem();
    client_key_.emplace(crypto::PrivateKey::generate(crypto::KeyType::ec_p256));
    client_cert_.emplace(authority_.issue(
        ca::IssueRequest{"client-1", client_key_->get(), {}, {}, now}, ca::IssuancePolicy{}));
  }

  void start(ServerOptions options = {}) {
    options.listen_port = 0;
    options.threads = 2;
    options.handle_signals = false;
    options.certificate_chain_file = (dir_.path() / "server.pem").string();
    options.private_key_file = (dir_.path() / "server.key").string();
    server_ =
        std::make_unique<Server>(options, [this](const Request& request, const TlsPeer& peer) {
          if (request.target == "/slow") {
            std::this_thread::sleep_for(300ms);
          }
          last_peer_ = peer;
          Response response;
          response.headers = {{"Content-Type", "text/plain"}};
          response.body = request.method + " " + request.target + " " + request.body;
          return response;
        });
    runner_ = std::thread([this] { server_->run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
      runner_.join();
    }
  }

  ClientOptions client_options() const {
    ClientOptions options;
    options.host = "localhost";
    options.port = server_->port();
    options.trust_anchors_pem = authority_.root().to_pem();
    options.timeout = 5s;
    return options;
  }

  testing::TempDir dir_;
  ca::Authority authority_ = testing::make_authority();
  std::optional<crypto::PrivateKey> client_key_;
  std::optional<crypto::Certificate> client_cert_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  TlsPeer last_peer_;
};

TEST_F(TransportTest, RoundTripAndKeepAlive) {
  start();
  auto connection = Connection::open(client_options());
  for (int i = 0; i < 3; ++i) {
    const auto response = connection.send({"POST", "/echo", {}, "body" + std::to_string(i)});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "POST /echo body" + std::to_string(i));
    EXPECT_EQ(response.header("Content-Length"), std::to_string(response.body.size()));
  }
}

TEST_F(TransportTest, ChannelBindingAgreesOnTls13AndTls12) {
  start();
  for (const auto version : {std::optional<int>{}, std::optional<int>{TLS1_2_VERSION}}) {
    auto options = client_options();
    options.max_tls_version = version;
    auto connection = Connection::open(options);
    connection.send({"GET", "/", {}, {}});
    EXPECT_EQ(last_peer_.tls_version, version.value_or(TLS1_3_VERSION));
    EXPECT_FALSE(connection.channel_binding().empty());
    EXPECT_EQ(connection.channel_binding(), last_peer_.channel_binding);
    const auto first = last_peer_.channel_binding;
    auto other = Connection::open(options);
    other.send({"GET", "/", {}, {}});
    EXPECT_NE(last_peer_.channel_binding, first) << "bindings are per connection";
  }
}

TEST_F(TransportTest, ClientCertificateReachesTheHandlerUnjudged) {
  start();
  auto options = client_options();
  Connection::open(options).send({"GET", "/", {}, {}});
  EXPECT_TRUE(last_peer_.peer_chain_der.empty());
  options.client_certificate_pem = client_cert_->to_pem();
  options.client_private_key_pem = client_key_->to_pem();
  Connection::open(options).send({"GET", "/", {}, {}});
  ASSERT_EQ(last_peer_.peer_chain_der.size(), 1u);
  EXPECT_EQ(last_peer_.peer_chain_der.front(), client_cert_->to_der());
  EXPECT_EQ(last_peer_.remote_address, "127.0.0.1");
}

TEST_F(TransportTest, LimitsAnswerWithTheirOwnStatus) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 1024;
  start(options);
  const auto big_body =
      Connection::open(client_options()).send({"POST", "/", {}, std::string(4096, 'x')});
  EXPECT_EQ(big_body.status, 413);
  EXPECT_EQ(big_body.header("Content-Type"), "text/plain; charset=utf-8");
  const auto big_header = Connection::open(client_options())
                              .send({"GET", "/", {{"X-Big", std::string(4096, 'h')}}, {}});
  EXPECT_EQ(big_header.status, 431);
}

TEST_F(TransportTest, RefusesServersItCannotVerify) {
  start();
  auto wrong_anchor = client_options();
  wrong_anchor.trust_anchors_pem = testing::make_authority().root().to_pem();
  try {
    Connection::open(wrong_anchor);
    FAIL() << "connected to an unverified server";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("verify"), std::string::npos) << e.what();
  }
  auto wrong_name = client_options();
  wrong_name.host = "127.0.0.2";  // loopback, but not a name in the certificate
  EXPECT_THROW(Connection::open(wrong_name), TransportError);
}

TEST_F(TransportTest, IdleAndSilentConnectionsAreClosed) {
  ServerOptions options;
  options.handshake_timeout = 300ms;
  options.idle_timeout = 300ms;
  start(options);
  auto connection = Connection::open(client_options());
  connection.send({"GET", "/", {}, {}});
  std::this_thread::sleep_for(700ms);
  EXPECT_THROW(connection.send({"GET", "/", {}, {}}), TransportError) << "idle connection kept";
}

TEST_F(TransportTest, StopLetsTheRequestInFlightFinish) {
  start();
  std::thread stopper([this] {
    std::this_thread::sleep_for(100ms);
    server_->stop();
  });
  const auto response = Connection::open(client_options()).send({"GET", "/slow", {}, {}});
  stopper.join();
  EXPECT_EQ(response.status, 200);
  runner_.join();
  server_.reset();
}

TEST(Url, ParsesAndRefuses) {
  const auto url = parse_url("https://est.example:9443/pki/");
  EXPECT_EQ(url.host, "est.example");
  EXPECT_EQ(url.port, 9443);
  EXPECT_EQ(url.path_prefix, "/pki");
  EXPECT_EQ(parse_url("https://[::1]").host, "::1");
  EXPECT_EQ(parse_url("https://[::1]").port, 443);
  for (const char* bad : {"http://x", "https://", "https://x:0", "https://x:99999", "https://[::1",
                          "https://x/?q", "https://user@x"}) {
    EXPECT_THROW(parse_url(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace estfleet::http
