#include "server/users.hpp"

#include <stdexcept>

#include "crypto/password_hash.hpp"
#include "server/registry_access.hpp"

namespace estfleet::server {

void add_user(const std::filesystem::path& data_dir, const std::string& name,
              const std::string& password, bool replace) {
  if (name.empty() || name.size() > 128 || name.find(':') != std::string::npos) {
    throw std::runtime_error("user name must be 1 to 128 characters without ':'");
  }
  if (password.size() < 8) {
    throw std::runtime_error("the password must have at least 8 characters");
  }
  const auto session = open_admin_session(data_dir);
  const auto audit = operator_audit("user-add", {}, {}, "user " + name);
  try {
    session.store->put_user(registry::User{name, crypto::hash_password(password), audit.time},
                            audit, replace);
  } catch (const registry::ConflictError&) {
    throw std::runtime_error("user '" + name + "' exists already; pass --replace to change it");
  }
}

}  // namespace estfleet::server
