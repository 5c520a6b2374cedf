#include "registry/open_store.hpp"

#include <stdexcept>
#include <string_view>

#include "registry/postgres/postgres_store.hpp"
#include "registry/sqlite/sqlite_store.hpp"

namespace estfleet::registry {

namespace {

constexpr std::string_view kSqlite = "sqlite:///";

}  // namespace

bool is_postgres_url(const std::string& url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::string redact_url(const std::string& url) {
  return postgres::redact_conninfo(url);
}

std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& options) {
  if (url.starts_with(kSqlite)) {
    const std::string path = url.substr(kSqlite.size());
    if (path.empty()) {
      throw std::invalid_argument("database URL " + url + " names no file after sqlite:///");
    }
    return SqliteStore::open(
        path, options.read_only ? sqlite::OpenMode::read_only : sqlite::OpenMode::read_write);
  }
  if (is_postgres_url(url)) {
    if (options.pool_size == 0) {
      throw std::invalid_argument("the PostgreSQL registry's pool size must be at least 1");
    }
    PostgresOptions postgres_options;
    postgres_options.pool_size = options.pool_size;
    postgres_options.read_only = options.read_only;
    return PostgresStore::open(url, postgres_options);
  }
  throw std::invalid_argument("database URL " + redact_url(url) +
                              " has an unknown scheme; use sqlite:///<path> or postgresql://…");
}

}  // namespace estfleet::registry
