// The real TLS transport on loopback: round trips, channel binding agreement, peer certificates,
// limits and deadlines, framing refusals, verification on the client side, graceful stop.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/files.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "raw_client.hpp"
#include "support/test_pki.hpp"

namespace estfleet::http {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;

constexpr const char* kByName = "server.pem";  // SAN: localhost, 127.0.0.1
constexpr const char* kByIp = "server-ip-only.pem";

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto now = std::chrono::system_clock::now();
    const auto tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    const auto issuing = authority_.issuing_certificate().to_pem();
    std::ofstream(dir_.path() / kByName)
        << authority_
               .issue_tls_server(tls_key.get(), {"localhost", "127.0.0.1"}, now, 1h,
                                 ca::TlsServerRole::est_server)
               .to_pem()
        << issuing;
    std::ofstream(dir_.path() / kByIp) << authority_
                                              .issue_tls_server(tls_key.get(), {"127.0.0.1"}, now,
                                                                1h, ca::TlsServerRole::est_server)
                                              .to_pem()
                                       << issuing;
    std::ofstream(dir_.path() / "server.key") << tls_key.to_pem();
    client_key_.emplace(crypto::PrivateKey::generate(crypto::KeyType::ec_p256));
    client_cert_.emplace(authority_.issue(
        ca::IssueRequest{"client-1", client_key_->get(), {}, {}, now}, ca::IssuancePolicy{}));
  }

  ServerOptions server_options(const char* chain = kByName) const {
    ServerOptions options;
    options.listen_port = 0;
    options.threads = 2;
    options.handle_signals = false;
    options.certificate_chain_file = (dir_.path() / chain).string();
    options.private_key_file = (dir_.path() / "server.key").string();
    return options;
  }

  // An echo server: the body names the method, target and request body; the peer facts are kept.
  void start(const ServerOptions& options) {
    server_ =
        std::make_unique<Server>(options, [this](const Request& request, const TlsPeer& peer) {
          if (request.target == "/slow") {
            std::this_thread::sleep_for(300ms);
          }
          if (request.target == "/throw") {
            throw std::runtime_error("handler failed");
          }
          if (request.target == "/headers") {
            std::string names;
            for (const auto& [name, value] : request.headers) {
              names += name + ";";
            }
            return Response{200, {{"Content-Type", "text/plain"}}, names + " " + request.body};
          }
          {
            std::lock_guard lock(peer_mutex_);
            last_peer_ = peer;
          }
          return Response{200,
                          {{"Content-Type", "text/plain"}},
                          request.method + " " + request.target + " " + request.body};
        });
    runner_ = std::thread([this] { server_->run(); });
  }
  void start() { start(server_options()); }

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

  TlsPeer last_peer() {
    std::lock_guard lock(peer_mutex_);
    return last_peer_;
  }

  // One request over a raw TLS connection, bytes as given; returns what came back until close.
  std::string raw_exchange(std::string_view request) {
    RawConnection raw(server_->port());
    raw.start_tls();
    raw.send(request);
    const auto received = raw.read_until_closed(3s);
    EXPECT_TRUE(received.closed) << "the server kept the connection after refusing";
    return received.bytes;
  }

  ::estfleet::testing::TempDir dir_;
  ca::Authority authority_ = ::estfleet::testing::make_authority();
  std::optional<crypto::PrivateKey> client_key_;
  std::optional<crypto::Certificate> client_cert_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::mutex peer_mutex_;
  TlsPeer last_peer_;
};

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0;
}

// The HTTP/1.1 response at the start of `raw`'s input, body read in full by Content-Length.
std::string read_response(RawConnection& raw) {
  auto head = raw.read_until("\r\n\r\n", 5s).bytes;
  const auto end = head.find("\r\n\r\n");
  const auto field = head.find("Content-Length: ");
  if (end == std::string::npos || field == std::string::npos) {
    ADD_FAILURE() << "no complete response head: " << head;
    return head;
  }
  const auto length = std::stoul(head.substr(field + 16));
  const auto have = head.size() - (end + 4);
  if (have < length) {
    head += raw.read_bytes(length - have, 5s).bytes;
  }
  return head.substr(end + 4);
}

TEST_F(TransportTest, GetAndPostRoundTrip) {
  start();
  auto connection = Connection::open(client_options());
  const auto got = connection.send({"GET", "/.well-known/est/cacerts?x=1", {}, {}});
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "GET /.well-known/est/cacerts?x=1 ");
  EXPECT_EQ(got.header("Content-Type"), "text/plain");
  EXPECT_EQ(got.header("Content-Length"), std::to_string(got.body.size()));
  EXPECT_FALSE(got.header("Transfer-Encoding"));
  const auto posted = connection.send({"POST", "/echo", {{"Content-Type", "a/b"}}, "payload"});
  EXPECT_EQ(posted.body, "POST /echo payload");
  const auto peer = last_peer();
  EXPECT_EQ(peer.remote_address, "127.0.0.1");
  EXPECT_NE(peer.remote_port, 0);
  EXPECT_EQ(peer.tls_version, TLS1_3_VERSION);
  EXPECT_EQ(connection.tls_version(), TLS1_3_VERSION);
  EXPECT_EQ(connection.server_chain_der().size(), 2u) << "leaf and issuing CA";

  auto by_ip = client_options();
  by_ip.host = "127.0.0.1";
  EXPECT_EQ(Connection::open(by_ip).send({"GET", "/", {}, {}}).status, 200);
}

TEST_F(TransportTest, KeepAliveCarriesSeveralRequestsOnOneConnection) {
  start();
  auto connection = Connection::open(client_options());
  std::uint16_t port = 0;
  for (int i = 0; i < 3; ++i) {
    const auto response = connection.send({"POST", "/echo", {}, "body" + std::to_string(i)});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "POST /echo body" + std::to_string(i));
    EXPECT_FALSE(response.header("Connection"));
    const auto seen = last_peer().remote_port;
    EXPECT_TRUE(port == 0 || port == seen) << "a new connection was opened";
    port = seen;
  }
}

TEST_F(TransportTest, AReloadedIdentityServesNewConnectionsAndOpenOnesKeepTheirs) {
  start();
  auto before = Connection::open(client_options());
  ASSERT_EQ(before.send({"GET", "/", {}, {}}).status, 200);
  const auto old_leaf = before.server_chain_der().front();

  // A renewal writes a new certificate over the chain file (same key), then reloads.
  const auto key = crypto::PrivateKey::from_pem(common::read_file(dir_.path() / "server.key"));
  const auto renewed = authority_.reissue_tls_server(
      crypto::Certificate::from_der(old_leaf), key.get(), std::chrono::system_clock::now(), 1h);
  std::ofstream(dir_.path() / kByName, std::ios::trunc)
      << renewed.to_pem() << authority_.issuing_certificate().to_pem();
  server_->reload_tls_identity();

  auto after = Connection::open(client_options());
  EXPECT_EQ(after.send({"GET", "/", {}, {}}).status, 200);
  EXPECT_EQ(after.server_chain_der().front(), renewed.to_der());
  EXPECT_EQ(before.send({"GET", "/again", {}, {}}).status, 200)
      << "a connection open before the reload goes on with the identity it began with";

  // A chain file that cannot be loaded leaves the identity in use.
  std::ofstream(dir_.path() / kByName, std::ios::trunc) << "not a certificate";
  EXPECT_THROW(server_->reload_tls_identity(), std::runtime_error);
  auto still = Connection::open(client_options());
  EXPECT_EQ(still.send({"GET", "/", {}, {}}).status, 200);
  EXPECT_EQ(still.server_chain_der().front(), renewed.to_der());
}

TEST_F(TransportTest, ChannelBindingAgreesOnTls13AndTls12) {
  start();
  for (const auto version : {std::optional<int>{}, std::optional<int>{TLS1_2_VERSION}}) {
    auto options = client_options();
    options.max_tls_version = version;
    auto connection = Connection::open(options);
    connection.send({"GET", "/", {}, {}});
    const auto peer = last_peer();
    EXPECT_EQ(peer.tls_version, version.value_or(TLS1_3_VERSION));
    EXPECT_EQ(connection.tls_version(), peer.tls_version);
    EXPECT_FALSE(connection.channel_binding().empty());
    EXPECT_EQ(connection.channel_binding(), peer.channel_binding);
    EXPECT_TRUE(peer.no_channel_binding_reason.empty()) << "OpenSSL offers EMS on TLS 1.2";
    auto other = Connection::open(options);
    other.send({"GET", "/", {}, {}});
    EXPECT_NE(last_peer().channel_binding, peer.channel_binding) << "bindings are per connection";
  }
}

// RFC 7627 / RFC 9266: tls-unique without the extended master secret can be made equal on two
// connections by a man in the middle, so such a connection offers no channel binding, and says why.
TEST_F(TransportTest, Tls12WithoutExtendedMasterSecretHasNoChannelBinding) {
  start();
  RawConnection raw(server_->port());
  raw.start_tls12_without_ems();
  raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(raw), "GET / ");
  const auto peer = last_peer();
  EXPECT_EQ(peer.tls_version, TLS1_2_VERSION);
  EXPECT_TRUE(peer.channel_binding.empty());
  EXPECT_NE(peer.no_channel_binding_reason.find("extended master secret"), std::string::npos);
}

TEST_F(TransportTest, ClientCertificateReachesTheHandlerUnjudged) {
  start();
  auto options = client_options();
  Connection::open(options).send({"GET", "/", {}, {}});
  EXPECT_TRUE(last_peer().peer_chain_der.empty());
  // Issued by a CA the server has never heard of: still accepted, still passed on.
  auto stranger = ::estfleet::testing::make_authority();
  const auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  const auto cert = stranger.issue(
      ca::IssueRequest{"client-2", key.get(), {}, {}, std::chrono::system_clock::now()},
      ca::IssuancePolicy{});
  options.client_certificate_pem = cert.to_pem() + stranger.issuing_certificate().to_pem();
  options.client_private_key_pem = key.to_pem();
  Connection::open(options).send({"GET", "/", {}, {}});
  const auto chain = last_peer().peer_chain_der;
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], cert.to_der());
  EXPECT_EQ(chain[1], stranger.issuing_certificate().to_der());

  options.client_certificate_pem = client_cert_->to_pem();
  options.client_private_key_pem = client_key_->to_pem();
  Connection::open(options).send({"GET", "/", {}, {}});
  ASSERT_EQ(last_peer().peer_chain_der.size(), 1u);
  EXPECT_EQ(last_peer().peer_chain_der.front(), client_cert_->to_der());
}

TEST_F(TransportTest, LimitsAnswerWithTheirOwnStatusAndClose) {
  auto options = server_options();
  options.max_body_bytes = 1024;
  options.max_header_bytes = 1024;
  start(options);
  auto connection = Connection::open(client_options());
  const auto big_body = connection.send({"POST", "/", {}, std::string(4096, 'x')});
  EXPECT_EQ(big_body.status, 413);
  EXPECT_EQ(big_body.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(big_body.header("Connection"), "close");
  EXPECT_FALSE(big_body.body.empty());
  EXPECT_THROW(connection.send({"GET", "/", {}, {}}), TransportError) << "closed after 413";

  const auto big_header = Connection::open(client_options())
                              .send({"GET", "/", {{"X-Big", std::string(4096, 'h')}}, {}});
  EXPECT_EQ(big_header.status, 431);
  EXPECT_EQ(big_header.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(big_header.header("Connection"), "close");
}

TEST_F(TransportTest, AmbiguousOrMalformedFramingIsRefused) {
  start();
  const auto smuggled = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  EXPECT_TRUE(starts_with(smuggled, "HTTP/1.1 400")) << smuggled;
  EXPECT_NE(smuggled.find("Connection: close"), std::string::npos) << smuggled;
  const auto reversed = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_TRUE(starts_with(reversed, "HTTP/1.1 400")) << reversed;
  const auto gzip = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(starts_with(gzip, "HTTP/1.1 501")) << gzip;
  const auto gzip_chunked = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(starts_with(gzip_chunked, "HTTP/1.1 501")) << gzip_chunked;
  const auto twice = raw_exchange(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
      "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(starts_with(twice, "HTTP/1.1 400") || starts_with(twice, "HTTP/1.1 501")) << twice;
  const auto http10 = raw_exchange(
      "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(starts_with(http10, "HTTP/1.1 400")) << http10;
  const auto garbage = raw_exchange("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_TRUE(starts_with(garbage, "HTTP/1.1 400")) << garbage;
  EXPECT_NE(garbage.find("Content-Type: text/plain"), std::string::npos) << garbage;
}

// Go's HTTP client (and so a widely used Go EST client) sends bodies of unknown length chunked.
TEST_F(TransportTest, ChunkedBodiesAreDecodedAndTheirTrailersDropped) {
  start();
  RawConnection raw(server_->port());
  raw.start_tls();
  raw.send(
      "POST /one HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "b\r\nhello world\r\n0\r\n\r\n");
  EXPECT_EQ(read_response(raw), "POST /one hello world");
  std::string many = "POST /headers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n";
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    const std::string piece = "piece" + std::to_string(i) + ",";
    expected += piece;
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    many += std::string(size) + (i % 7 == 0 ? ";ext=\"x\"" : "") + "\r\n" + piece + "\r\n";
  }
  many += "0\r\nAuthorization: Basic c3B5OnNweQ==\r\nX-Trailer: 1\r\n\r\n";
  raw.send_in_records(many, 100);
  const auto answer = read_response(raw);
  EXPECT_EQ(answer, "Host;Transfer-Encoding; " + expected) << "trailer fields reached the handler";
  raw.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(raw), "GET /after ") << "the connection is still in step";
}

TEST_F(TransportTest, ChunkedBodiesMeetTheSameLimitsAndDeadlines) {
  auto options = server_options();
  options.max_body_bytes = 1024;
  options.body_timeout = 400ms;
  start(options);
  std::string big = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) {
    big += "100\r\n" + std::string(256, 'c') + "\r\n";
  }
  big += "0\r\n\r\n";
  const auto too_big = raw_exchange(big);
  EXPECT_TRUE(starts_with(too_big, "HTTP/1.1 413")) << too_big;
  const auto long_extension =
      raw_exchange("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;" +
                   std::string(16000, 'e') + "\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(starts_with(long_extension, "HTTP/1.1 400")) << long_extension.substr(0, 100);

  RawConnection stalled(server_->port());
  stalled.start_tls();
  stalled.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  const auto received = stalled.read_until_closed(3s);
  EXPECT_TRUE(received.closed);
  EXPECT_TRUE(received.bytes.empty()) << received.bytes;
  EXPECT_LT(received.after, 1500ms) << "the body deadline did not apply";
}

// Every accepted connection has Nagle off: with it on, each answer on a new connection waits
// ~40 ms for the client's delayed ACK. The server runs in this process, so its end of the
// connection is one of this process's descriptors: found by the client's port, and asked.
TEST_F(TransportTest, AcceptedConnectionsHaveNagleOff) {
  start();
  RawConnection raw(server_->port());
  raw.start_tls();
  raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(raw), "GET / ");
  const auto client_port = raw.local_port();
  int checked = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in local{};
    sockaddr_in remote{};
    socklen_t length = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != server_->port()) {
      continue;
    }
    length = sizeof remote;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &length) != 0 ||
        ntohs(remote.sin_port) != client_port) {
      continue;
    }
    int no_delay = 0;
    length = sizeof no_delay;
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &no_delay, &length), 0);
    EXPECT_NE(no_delay, 0) << "TCP_NODELAY is off on the accepted connection";
    ++checked;
  }
  EXPECT_EQ(checked, 1) << "the server's end of the connection was not found";
}

TEST_F(TransportTest, ExpectContinueGetsAnInterimResponse) {
  start();
  RawConnection raw(server_->port());
  raw.start_tls();
  raw.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  const auto interim = raw.read_until("\r\n\r\n", 3s);
  EXPECT_TRUE(starts_with(interim.bytes, "HTTP/1.1 100 Continue\r\n")) << interim.bytes;
  raw.send("hello");
  const auto final_response = raw.read_until("POST /e hello", 3s);
  EXPECT_TRUE(starts_with(final_response.bytes, "HTTP/1.1 200")) << final_response.bytes;
}

TEST_F(TransportTest, HandlerExceptionBecomes500) {
  start();
  auto connection = Connection::open(client_options());
  const auto response = connection.send({"GET", "/throw", {}, {}});
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, "internal error\n");
  EXPECT_EQ(connection.send({"GET", "/", {}, {}}).status, 200) << "the connection survives";
}

TEST_F(TransportTest, SlowHeadersAreCutOffAtTheHeaderDeadline) {
  auto options = server_options();
  options.header_timeout = 300ms;
  start(options);
  RawConnection raw(server_->port());
  raw.start_tls();
  raw.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  const auto received = raw.read_until_closed(3s);
  EXPECT_TRUE(received.closed);
  EXPECT_TRUE(received.bytes.empty()) << received.bytes;
  EXPECT_GE(received.after, 200ms);
  EXPECT_LT(received.after, 1500ms);
}

TEST_F(TransportTest, SilentTcpClientsAreDroppedAtTheHandshakeDeadline) {
  auto options = server_options();
  options.handshake_timeout = 300ms;
  start(options);
  RawConnection raw(server_->port());
  const auto received = raw.read_until_closed(3s);
  EXPECT_TRUE(received.closed);
  EXPECT_GE(received.after, 200ms);
  EXPECT_LT(received.after, 1500ms);
}

TEST_F(TransportTest, FailedHandshakesAreCountedAndGoodOnesAreNot) {
  start();
  auto good = Connection::open(client_options());
  EXPECT_EQ(good.send({"GET", "/", {}, {}}).status, 200);
  EXPECT_EQ(server_->handshake_failures(), 0U);
  {
    RawConnection raw(server_->port());
    raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // plain HTTP on the TLS port
    EXPECT_TRUE(raw.read_until_closed(3s).closed);
  }
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (server_->handshake_failures() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->handshake_failures(), 1U);
}

TEST_F(TransportTest, IdleKeepAliveConnectionsAreClosed) {
  auto options = server_options();
  options.idle_timeout = 300ms;
  start(options);
  auto connection = Connection::open(client_options());
  connection.send({"GET", "/", {}, {}});
  std::this_thread::sleep_for(700ms);
  EXPECT_THROW(connection.send({"GET", "/", {}, {}}), TransportError) << "idle connection kept";
}

TEST_F(TransportTest, TinyRecordsInOneRequestAndAResponseOverManyRecords) {
  auto options = server_options();
  options.max_body_bytes = std::size_t{1} << 20;
  start(options);
  RawConnection raw(server_->port());
  raw.start_tls();
  std::string body(50'000, 'b');
  for (std::size_t i = 0; i < body.size(); i += 997) {
    body[i] = static_cast<char>('a' + i % 26);
  }
  raw.send_in_records("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body,
                      3);
  EXPECT_EQ(read_response(raw), "POST /big " + body);
  EXPECT_GE(raw.take_received_records(), 4U) << "50 KB cannot fit in fewer 16 KiB records";

  // Header and a small body leave as one record, and the connection is still usable.
  raw.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(raw), "GET /small ");
  EXPECT_EQ(raw.take_received_records(), 1U) << "header and body in separate records";
}

// One ticket per handshake (OpenSSL sends two by default): a device that reconnects soon resumes
// with it and is sent a fresh one each time; most come back only after days, when it has expired.
TEST_F(TransportTest, OneSessionTicketPerConnectionAndItResumes) {
  start();
  RawConnection first(server_->port());
  first.start_tls();
  first.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(first), "GET /first ");
  EXPECT_EQ(first.tickets_received(), 1U);
  ASSERT_NE(first.session(), nullptr);

  RawConnection second(server_->port());
  second.start_tls(first.session());
  EXPECT_TRUE(second.resumed());
  second.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(second), "GET /second ");
  EXPECT_EQ(second.tickets_received(), 1U);
}

TEST_F(TransportTest, ClientKeyUpdateIsAnsweredAndTheConnectionGoesOn) {
  start();
  RawConnection raw(server_->port());
  raw.start_tls();
  raw.send("GET /before HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(raw), "GET /before ");
  for (int i = 0; i < 3; ++i) {
    raw.request_key_update();  // the server must update its own sending keys as well
    const auto target = "/after-" + std::to_string(i);
    raw.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(read_response(raw), "GET " + target + " ");
  }
}

TEST_F(TransportTest, CloseNotifyMidRequestClosesWithoutAnAnswer) {
  start();
  RawConnection raw(server_->port());
  raw.start_tls();
  raw.send("POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part");
  raw.send_close_notify();
  const auto received = raw.read_until_closed(3s);
  EXPECT_TRUE(received.closed);
  EXPECT_TRUE(received.bytes.empty()) << received.bytes;
  EXPECT_LT(received.after, 1500ms) << "the server waited for a deadline, not for the close";
}

TEST_F(TransportTest, AClientThatStopsReadingIsCutOffAtTheWriteDeadline) {
  auto options = server_options();
  options.max_body_bytes = std::size_t{32} << 20;
  options.write_timeout = 400ms;
  start(options);
  RawConnection raw(server_->port());
  raw.start_tls();
  const std::string body(std::size_t{16} << 20, 'w');
  raw.send("POST /huge HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
  std::this_thread::sleep_for(1500ms);  // the socket buffers fill, the server's write waits
  const auto received = raw.read_until_closed(10s);
  EXPECT_TRUE(received.closed);
  EXPECT_LT(received.bytes.size(), body.size()) << "the whole response went out";
}

TEST_F(TransportTest, ConnectionsBeyondTheLimitAreClosed) {
  auto options = server_options();
  options.max_connections = 1;
  start(options);
  auto first = Connection::open(client_options());
  first.send({"GET", "/", {}, {}});
  EXPECT_THROW(Connection::open(client_options()), TransportError);
  EXPECT_EQ(first.send({"GET", "/", {}, {}}).status, 200);
}

TEST_F(TransportTest, ClientRefusesServersItCannotVerify) {
  start();
  auto wrong_anchor = client_options();
  wrong_anchor.trust_anchors_pem = ::estfleet::testing::make_authority().root().to_pem();
  try {
    Connection::open(wrong_anchor);
    FAIL() << "connected to an unverified server";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos)
        << e.what();
  }
  auto wrong_ip = client_options();
  wrong_ip.host = "127.0.0.2";  // loopback, but not an address in the certificate
  EXPECT_THROW(Connection::open(wrong_ip), TransportError);
  auto unverified = wrong_anchor;
  unverified.verify_server = false;  // bootstrap: the caller pins the CA itself
  EXPECT_EQ(Connection::open(unverified).send({"GET", "/", {}, {}}).status, 200);
}

TEST_F(TransportTest, ClientRefusesAWrongHostName) {
  start(server_options(kByIp));
  try {
    Connection::open(client_options());  // "localhost" is not in this certificate
    FAIL() << "accepted a certificate for another name";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("hostname mismatch"), std::string::npos) << e.what();
  }
}

TEST_F(TransportTest, StopLetsTheRequestInFlightFinishAndRunReturns) {
  start();
  const auto port = server_->port();
  auto idle = Connection::open(client_options());
  idle.send({"GET", "/", {}, {}});
  std::thread stopper([this] {
    std::this_thread::sleep_for(100ms);
    server_->stop();
  });
  const auto response = Connection::open(client_options()).send({"GET", "/slow", {}, {}});
  stopper.join();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Connection"), "close");
  const auto stopped = std::chrono::steady_clock::now();
  runner_.join();  // the idle keep-alive connection must not hold run() for its idle timeout
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 3s);
  EXPECT_EQ(server_->port(), port);
  EXPECT_THROW(idle.send({"GET", "/", {}, {}}), TransportError);
  server_.reset();
}

TEST_F(TransportTest, SigtermStopsTheServer) {
  auto options = server_options();
  options.handle_signals = true;
  start(options);
  // A completed request proves run() is serving, so its signal handler is installed.
  EXPECT_EQ(Connection::open(client_options()).send({"GET", "/", {}, {}}).status, 200);
  std::raise(SIGTERM);
  runner_.join();
  server_.reset();
}

TEST_F(TransportTest, ConstructorNamesWhatFailed) {
  start();
  auto taken = server_options();
  taken.listen_port = server_->port();
  const auto where = "cannot listen on 127.0.0.1:" + std::to_string(server_->port());
  try {
    const Server second(taken, {});
    FAIL() << "bound a port that is in use";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(starts_with(e.what(), where)) << e.what();
  }
  auto no_chain = server_options();
  no_chain.certificate_chain_file = (dir_.path() / "missing.pem").string();
  EXPECT_THROW(Server(no_chain, {}), std::runtime_error);
}

TEST(Url, ParsesAndRefuses) {
  const auto url = parse_url("https://est.example:9443/pki/");
  EXPECT_EQ(url.host, "est.example");
  EXPECT_EQ(url.port, 9443);
  EXPECT_EQ(url.path_prefix, "/pki");
  const auto bare = parse_url("https://est.example");
  EXPECT_EQ(bare.port, 443);
  EXPECT_EQ(bare.path_prefix, "");
  const auto v6 = parse_url("https://[::1]:8443/a/b");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 8443);
  EXPECT_EQ(v6.path_prefix, "/a/b");
  EXPECT_EQ(parse_url("https://[::1]").port, 443);
  for (const char* bad : {"http://x", "https://", "https://x:0", "https://x:99999", "https://[::1",
                          "https://[::1]x", "https://x/?q", "https://user@x", "https://x:"}) {
    EXPECT_THROW(parse_url(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace estfleet::http
