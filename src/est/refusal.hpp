#pragma once

#include <stdexcept>
#include <string>

#include "http/message.hpp"

namespace estfleet::est {

// A request the service will not honour: the HTTP status and one sentence for the client.
// Thrown by the checks and turned into exactly one error response (and audit row) by the service.
class Refusal : public std::runtime_error {
 public:
  Refusal(int status, const std::string& sentence, http::HeaderList headers = {})
      : std::runtime_error(sentence), status_(status), headers_(std::move(headers)) {}

  int status() const noexcept { return status_; }
  const http::HeaderList& headers() const noexcept { return headers_; }

 private:
  int status_;
  http::HeaderList headers_;
};

}  // namespace estfleet::est
