// BEGIN IMMEDIATE ... COMMIT with rollback on every other way out of the scope, so a store
// method either commits everything it wrote or leaves the database as it was.
#pragma once

#include "registry/sqlite/statement.hpp"

namespace estfleet::registry::sqlite {

// The transaction control statements, prepared once per connection.
struct TransactionStatements {
  explicit TransactionStatements(Connection& connection);

  Connection& connection;
  // IMMEDIATE takes the write lock up front, so a transaction never fails half-way because
  // another process started writing after it had read.
  Statement begin;
  Statement commit;
  Statement rollback;
};

class Transaction {
 public:
  explicit Transaction(TransactionStatements& statements);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  TransactionStatements& statements_;
  bool finished_ = false;
};

}  // namespace estfleet::registry::sqlite
