#include "server/admin_policy.hpp"

#include <algorithm>
#include <stdexcept>

#include "server/registry_access.hpp"

namespace estfleet::server {

std::string show_policy(const std::filesystem::path& data_dir, const std::string& name,
                        std::optional<int> version) {
  const auto session = open_admin_session(data_dir);
  const auto versions = session.store->policy_versions(name);
  if (versions.empty()) {
    throw std::runtime_error("no policy named " + name + " is stored");
  }
  if (!version) {
    return versions.back().document + "\n";
  }
  const auto found = std::find_if(versions.begin(), versions.end(),
                                  [&](const auto& stored) { return stored.version == *version; });
  if (found == versions.end()) {
    throw std::runtime_error("policy " + name + " has no version " + std::to_string(*version) +
                             " (it has 1 to " + std::to_string(versions.back().version) + ")");
  }
  return found->document + "\n";
}

}  // namespace estfleet::server
