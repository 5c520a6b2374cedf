#include "http/plain_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "http/raw_client.hpp"

namespace estfleet::http {
namespace {

using testing::RawConnection;
using namespace std::chrono_literals;

Response echo(const Request& request, const TlsPeer& peer) {
  if (request.target == "/throw") {
    throw std::runtime_error("handler failed");
  }
  return Response{200,
                  {{"Content-Type", "text/plain; version=0.0.4"}},
                  request.method + " " + request.target + " from " + peer.remote_address + "\n"};
}

TEST(PlainServer, AnswersOneRequestPerConnectionWithContentLength) {
  PlainServer server(PlainServerOptions{}, echo);
  server.start();
  ASSERT_NE(server.port(), 0);
  RawConnection connection(server.port());
  connection.send("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const auto received = connection.read_until_closed(5s);
  EXPECT_TRUE(received.closed);
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 200 OK\r\n")) << received.bytes;
  EXPECT_NE(received.bytes.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
  EXPECT_NE(received.bytes.find("Content-Length: 28\r\n"), std::string::npos) << received.bytes;
  EXPECT_NE(received.bytes.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(received.bytes.ends_with("\r\n\r\nGET /metrics from 127.0.0.1\n")) << received.bytes;
}

TEST(PlainServer, RefusesOversizedHeadersAndBodies) {
  PlainServerOptions options;
  options.max_header_bytes = 256;
  options.max_body_bytes = 8;
  PlainServer server(options, echo);
  server.start();
  {
    RawConnection connection(server.port());
    connection.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n");
    EXPECT_TRUE(connection.read_until_closed(5s).bytes.starts_with("HTTP/1.1 431 "));
  }
  {
    RawConnection connection(server.port());
    connection.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n01234567890123456789");
    EXPECT_TRUE(connection.read_until_closed(5s).bytes.starts_with("HTTP/1.1 413 "));
  }
}

TEST(PlainServer, AHandlerThatThrowsGives500) {
  PlainServer server(PlainServerOptions{}, echo);
  server.start();
  RawConnection connection(server.port());
  connection.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto received = connection.read_until_closed(5s);
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 500 ")) << received.bytes;
}

TEST(PlainServer, ASilentClientIsDisconnectedAtTheReadDeadline) {
  PlainServerOptions options;
  options.read_timeout = 200ms;
  PlainServer server(options, echo);
  server.start();
  RawConnection connection(server.port());
  const auto received = connection.read_until_closed(5s);
  EXPECT_TRUE(received.closed);
  EXPECT_TRUE(received.bytes.empty());
  EXPECT_LT(received.after, 3s);
}

TEST(PlainServer, StopsWithAnIdleConnectionOpenAndFreesThePort) {
  auto server = std::make_unique<PlainServer>(PlainServerOptions{}, echo);
  server->start();
  const auto port = server->port();
  RawConnection idle(port);
  server->stop();
  server->stop();  // idempotent
  server.reset();
  EXPECT_THROW(RawConnection{port}, std::runtime_error);
}

TEST(PlainServer, NamesTheAddressItCannotListenOn) {
  PlainServerOptions options;
  options.listen_host = "not-an-ip";
  try {
    PlainServer server(options, echo);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot listen on not-an-ip:0: not an IP address");
  }
  PlainServer first(PlainServerOptions{}, echo);
  options.listen_host = "127.0.0.1";
  options.listen_port = first.port();
  EXPECT_THROW(PlainServer(options, echo), std::runtime_error);
}

}  // namespace
}  // namespace estfleet::http
