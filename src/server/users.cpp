#include "server/users.hpp"

#include <chrono>
#include <stdexcept>

#include "crypto/password_hash.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "server/config.hpp"

namespace estfleet::server {

void add_user(const std::filesystem::path& data_dir, const std::string& name,
              const std::string& password, bool replace) {
  if (name.empty() || name.size() > 128 || name.find(':') != std::string::npos) {
    throw std::runtime_error("user name must be 1 to 128 characters without ':'");
  }
  if (password.size() < 8) {
    throw std::runtime_error("the password must have at least 8 characters");
  }
  const auto config = load_config(data_dir);
  auto store = registry::SqliteStore::open(config.database_path.string());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  registry::AuditEvent audit;
  audit.time = now;
  audit.actor = "operator";
  audit.source_address = "cli";
  audit.operation = "user-add";
  audit.result = "ok";
  audit.reason = "user " + name;
  try {
    store->put_user(registry::User{name, crypto::hash_password(password), now}, audit, replace);
  } catch (const registry::ConflictError&) {
    throw std::runtime_error("user '" + name + "' exists already; pass --replace to change it");
  }
}

}  // namespace estfleet::server
