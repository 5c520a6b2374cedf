#pragma once

#include <chrono>
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

// The server still holds the request for approval (202) and waiting longer than the caller's
// patience would be needed; asking again later with the same key picks it up.
class StillPending : public ClientError {
 public:
  StillPending(std::chrono::seconds retry_after, const std::string& message)
      : ClientError(message), retry_after_(retry_after) {}
  std::chrono::seconds retry_after() const noexcept { return retry_after_; }

 private:
  std::chrono::seconds retry_after_;
};

}  // namespace estfleet::client
