// What every admin command needs: the data folder's registry, opened beside a running `serve`
// (SQLite WAL lets both write), an audit row saying an operator acted, and times people can read.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "registry/store.hpp"
#include "server/config.hpp"

namespace estfleet::server {

struct AdminSession {
  Config config;
  std::unique_ptr<registry::Store> store;
};

// The registry `config` names (database.url: the SQLite file or a PostgreSQL server), migrated to
// the current schema unless `read_only`. StoreUnavailable when it cannot be opened.
std::unique_ptr<registry::Store> open_registry(const Config& config, bool read_only = false);

// Loads <data_dir>/est-server.toml and opens its registry. Throws std::runtime_error.
AdminSession open_admin_session(const std::filesystem::path& data_dir);

registry::UnixSeconds unix_now();

// An audit row for a command-line action: actor "operator", source "cli", result "ok".
registry::AuditEvent operator_audit(std::string operation, std::string thing_name,
                                    std::string serial, std::string reason);

// "2025-06-01T12:00:00Z".
std::string iso_time(registry::UnixSeconds time);

}  // namespace estfleet::server
