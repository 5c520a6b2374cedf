// Opening a listening socket, shared by the TLS and the plain listener. Header-only on purpose:
// both users are already Asio translation units, and a .cpp of its own would be one more.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace estfleet::http::detail {

// Opens, binds and listens on host:port (port 0: an ephemeral one) and returns the bound port.
// Throws std::runtime_error("cannot listen on HOST:PORT: <reason>").
inline std::uint16_t listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                               std::uint16_t port) {
  namespace net = boost::asio;
  const std::string where = host + ":" + std::to_string(port);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + where + ": not an IP address");
  }
  const net::ip::tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  std::uint16_t bound = 0;
  if (!ec) {
    bound = acceptor.local_endpoint(ec).port();
  }
  if (ec) {
    throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  }
  return bound;
}

// Every accepted connection: no Nagle. A response is written as several TLS records (and a
// handshake flight as several segments); with Nagle on, the last one waits for the client's
// delayed ACK, ~40 ms on Linux, and a device that sends one request per connection pays that on
// every answer. Best effort: a socket that refuses the option still works, only slower.
inline void configure_accepted(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

}  // namespace estfleet::http::detail
