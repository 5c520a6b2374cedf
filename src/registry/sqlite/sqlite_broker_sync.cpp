// SqliteStore's broker sync state (migration 5): triggers bump `desired` inside every write that
// changes what the broker must enforce, so these methods only read it and record what the broker
// confirmed. The worker polls them about once a second, so reads go through the read-only
// connection and never wait for a batch of enrollments to commit.
#include "registry/sqlite/sqlite_store.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/sqlite/transaction.hpp"

namespace estfleet::registry {

using sqlite::Statement;
using sqlite::Transaction;

std::vector<BrokerSyncState> SqliteStore::broker_sync_states(bool pending_only, std::size_t limit) {
  const std::lock_guard lock(reader_mutex_);
  Statement query(*reader_, pending_only ? "SELECT thing_name, desired, applied FROM broker_sync "
                                           "WHERE desired > applied ORDER BY thing_name LIMIT ?1"
                                         : "SELECT thing_name, desired, applied FROM broker_sync "
                                           "ORDER BY thing_name LIMIT ?1");
  query.bind_int64(1, limit == 0 ? -1 : static_cast<std::int64_t>(limit));
  std::vector<BrokerSyncState> states;
  while (query.step()) {
    states.push_back(
        BrokerSyncState{query.column_text(0), query.column_int64(1), query.column_int64(2)});
  }
  return states;
}

std::int64_t SqliteStore::broker_pending_count() {
  const std::lock_guard lock(reader_mutex_);
  Statement query(*reader_, "SELECT count(*) FROM broker_sync WHERE desired > applied");
  query.step();
  return query.column_int64(0);
}

void SqliteStore::mark_broker_applied(const std::string& thing_name, std::int64_t generation) {
  const std::lock_guard lock(mutex_);
  sqlite::TransactionStatements statements(connection_);
  Transaction transaction(statements);
  Statement current(connection_, "SELECT desired FROM broker_sync WHERE thing_name = ?1");
  current.bind_text(1, thing_name);
  if (!current.step()) {
    throw NotFoundError("no thing named " + thing_name + " in the broker sync state");
  }
  const std::int64_t desired = current.column_int64(0);
  current.reset();
  if (generation < 1 || generation > desired) {
    throw std::invalid_argument("broker generation " + std::to_string(generation) + " of thing " +
                                thing_name + " was never handed out (desired is " +
                                std::to_string(desired) + ")");
  }
  Statement update(connection_,
                   "UPDATE broker_sync SET applied = max(applied, ?2) WHERE thing_name = ?1");
  update.bind_text(1, thing_name);
  update.bind_int64(2, generation);
  update.run();
  transaction.commit();
}

}  // namespace estfleet::registry
