#include "server/registry_access.hpp"

#include <chrono>
#include <ctime>

#include "registry/open_store.hpp"

namespace estfleet::server {

std::unique_ptr<registry::Store> open_registry(const Config& config, bool read_only) {
  registry::StoreOptions options;
  options.pool_size = config.database_pool_size;
  options.read_only = read_only;
  return registry::open_store(config.database_url, options);
}

AdminSession open_admin_session(const std::filesystem::path& data_dir) {
  auto config = load_config(data_dir);
  auto store = open_registry(config);
  return AdminSession{std::move(config), std::move(store)};
}

registry::UnixSeconds unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

registry::AuditEvent operator_audit(std::string operation, std::string thing_name,
                                    std::string serial, std::string reason) {
  registry::AuditEvent audit;
  audit.time = unix_now();
  audit.actor = "operator";
  audit.source_address = "cli";
  audit.operation = std::move(operation);
  audit.thing_name = std::move(thing_name);
  audit.serial = std::move(serial);
  audit.result = "ok";
  audit.reason = std::move(reason);
  return audit;
}

std::string iso_time(registry::UnixSeconds time) {
  const auto seconds = static_cast<std::time_t>(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const auto size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, size);
}

}  // namespace estfleet::server
