// Opens the registry a database URL names: `sqlite:///<path>` (the embedded store, one file) or
// `postgresql://…` / `postgres://…` (the shared store, a libpq connection URI).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "registry/store.hpp"

namespace estfleet::registry {

struct StoreOptions {
  // PostgreSQL: connections at most per process. SQLite ignores it (one writer, one reader).
  std::size_t pool_size = 8;
  // Inspection tools: nothing is migrated and every write fails.
  bool read_only = false;
};

// `sqlite:///registry.db` is a relative path, `sqlite:////var/lib/est/registry.db` an absolute
// one. std::invalid_argument (one sentence) for any other scheme or an empty path;
// StoreUnavailable when the database cannot be opened.
std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& options = {});

// True for a URL open_store hands to PostgreSQL.
bool is_postgres_url(const std::string& url);

// The URL with any password replaced by "***", for messages and logs.
std::string redact_url(const std::string& url);

}  // namespace estfleet::registry
