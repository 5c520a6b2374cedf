#include "registry/sqlite/transaction.hpp"

#include <sqlite3.h>

#include "registry/sqlite/connection.hpp"

namespace estfleet::registry::sqlite {

TransactionStatements::TransactionStatements(Connection& owner)
    : connection(owner),
      begin(owner, "BEGIN IMMEDIATE", Access::write),
      commit(owner, "COMMIT", Access::write),
      rollback(owner, "ROLLBACK", Access::write) {}

Transaction::Transaction(TransactionStatements& statements) : statements_(statements) {
  const ResetOnExit reset(statements_.begin);
  statements_.begin.run();
}

Transaction::~Transaction() {
  // SQLite has already rolled back by itself after some errors (disk full, I/O); a second
  // ROLLBACK would only fail, so it is issued only while the transaction is still open.
  if (finished_ || sqlite3_get_autocommit(statements_.connection.handle()) != 0) {
    return;
  }
  try {
    const ResetOnExit reset(statements_.rollback);
    statements_.rollback.run();
  } catch (const std::exception&) {
    // Nothing more can be done here; SQLite rolls back when the connection closes.
  }
}

void Transaction::commit() {
  const ResetOnExit reset(statements_.commit);
  statements_.commit.run();
  finished_ = true;
}

}  // namespace estfleet::registry::sqlite
