#include "registry/sqlite/migrations.hpp"

#include <array>

#include "registry/sqlite/statement.hpp"

namespace estfleet::registry::sqlite {
namespace {

// Append only: a migration that has shipped is never edited.
constexpr std::array kMigrations{
    R"sql(
CREATE TABLE certificates (
  serial             TEXT PRIMARY KEY,
  thing_name         TEXT NOT NULL,
  subject            TEXT NOT NULL,
  profile            TEXT NOT NULL,
  not_before         INTEGER NOT NULL,
  not_after          INTEGER NOT NULL,
  issued_at          INTEGER NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
  pem                TEXT NOT NULL,
  sha256_fingerprint TEXT NOT NULL UNIQUE,
  replaces           TEXT REFERENCES certificates(serial),
  revoked_at         INTEGER,
  revocation_reason  TEXT NOT NULL DEFAULT ''
);
-- The database, not a check-then-insert, guarantees one active certificate per thing.
CREATE UNIQUE INDEX certificates_one_active_per_thing
  ON certificates(thing_name) WHERE status = 'active';
CREATE INDEX certificates_by_thing ON certificates(thing_name);
CREATE INDEX certificates_by_not_after ON certificates(not_after);

CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  time           INTEGER NOT NULL,
  actor          TEXT NOT NULL,
  source_address TEXT NOT NULL,
  operation      TEXT NOT NULL,
  profile        TEXT NOT NULL,
  thing_name     TEXT NOT NULL,
  serial         TEXT NOT NULL,
  result         TEXT NOT NULL,
  reason         TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log(time);

CREATE TABLE users (
  name          TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);
)sql",
};

}  // namespace

void migrate(sqlite3* db) {
  execute(db,
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
          "applied_at INTEGER NOT NULL)");
  for (std::size_t i = 0; i < kMigrations.size(); ++i) {
    const auto version = static_cast<std::int64_t>(i + 1);
    Transaction transaction(db);
    Statement applied(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
    if (applied.bind(1, version).step()) {
      continue;
    }
    execute(db, kMigrations[i]);
    Statement record(db,
                     "INSERT INTO schema_migrations (version, applied_at) VALUES (?, "
                     "CAST(strftime('%s','now') AS INTEGER))");
    record.bind(1, version).run();
    transaction.commit();
  }
}

}  // namespace estfleet::registry::sqlite
