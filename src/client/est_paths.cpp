#include "client/est_paths.hpp"

namespace estfleet::client {

std::string est_path(const std::string& prefix, const std::string& label,
                     std::string_view operation) {
  std::string path = prefix + "/.well-known/est/";
  if (!label.empty()) {
    path += label + "/";
  }
  return path + std::string(operation);
}

}  // namespace estfleet::client
