// The registry schema as numbered SQL scripts. Each runs once, in order, in its own transaction,
// and is recorded in schema_migrations; a database is never changed by a script it already has.
#pragma once

namespace estfleet::registry::sqlite {

class Connection;
struct TransactionStatements;

// The version a fully migrated database has.
int latest_schema_version();

// Read-write: applies the scripts the database lacks. Read-only: checks it lacks none.
// StoreUnavailable when the database is newer than this program, or (read-only) older.
void migrate(Connection& connection, TransactionStatements& transactions);

}  // namespace estfleet::registry::sqlite
