// What is wrong with a policy input, and where in it: a JSON path such as
// "$.Devices[1].IoTDetails.Policies.Jump", so a user can find the entry in a file of hundreds.
#pragma once

#include <stdexcept>
#include <string>

namespace estfleet::policy {

class PolicyError : public std::runtime_error {
 public:
  PolicyError(std::string path, std::string message);
  const std::string& path() const noexcept { return path_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string path_;
  std::string message_;
};

}  // namespace estfleet::policy
