#include "policy/policy_error.hpp"

#include <utility>

namespace estfleet::policy {

PolicyError::PolicyError(std::string path, std::string message)
    : std::runtime_error(path + ": " + message),
      path_(std::move(path)),
      message_(std::move(message)) {}

}  // namespace estfleet::policy
