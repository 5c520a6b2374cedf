// The PostgreSQL registry's schema: the SQLite migrations translated one for one (same version
// numbers, same tables, same invariants), applied under an advisory lock so that many servers
// starting at once apply each exactly once.
#pragma once

#include "registry/postgres/connection.hpp"

namespace estfleet::registry::postgres {

int latest_schema_version();

// Read-write: takes the advisory lock, applies every missing migration (each in its own
// transaction, recorded in schema_migrations), releases the lock. Read-only: checks that the
// schema is current. StoreUnavailable when the schema is newer than this program knows, or older
// on a read-only open.
void migrate(Connection& connection, bool read_only, const std::string& label);

}  // namespace estfleet::registry::postgres
