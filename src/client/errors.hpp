#pragma once

#include <stdexcept>
#include <string>

namespace estfleet::client {

// Anything that stops an EST operation on the device side; what() is one sentence.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server answered with an error status; what() carries its one-sentence reason.
class ServerRefused : public ClientError {
 public:
  ServerRefused(int status, const std::string& message) : ClientError(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace estfleet::client
