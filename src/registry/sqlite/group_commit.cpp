#include "registry/sqlite/group_commit.hpp"

#include <sqlite3.h>

#include "registry/sqlite/connection.hpp"
#include "registry/store.hpp"

namespace estfleet::registry::sqlite {
namespace {

bool in_transaction(const Connection& connection) {
  return sqlite3_get_autocommit(connection.handle()) == 0;
}

}  // namespace

GroupCommit::GroupCommit(std::mutex& connection_mutex, TransactionStatements& statements)
    : connection_mutex_(connection_mutex),
      transaction_(statements),
      savepoint_(statements.connection, "SAVEPOINT one_write", Access::write),
      release_(statements.connection, "RELEASE one_write", Access::write),
      rollback_to_(statements.connection, "ROLLBACK TO one_write", Access::write) {}

void GroupCommit::submit(const std::function<void()>& write) {
  Entry mine;
  mine.write = &write;
  std::unique_lock lock(queue_mutex_);
  queue_.push_back(&mine);
  if (leading_) {
    mine.wake.wait(lock, [&] { return mine.done || mine.leads; });
  } else {
    leading_ = true;
  }
  if (!mine.done) {
    lead(lock);
  }
  if (mine.error) {
    std::rethrow_exception(mine.error);
  }
}

void GroupCommit::lead(std::unique_lock<std::mutex>& lock) {
  std::vector<Entry*> batch;
  batch.swap(queue_);
  lock.unlock();
  run_batch(batch);
  lock.lock();
  ++counts_.batches;
  counts_.writes += batch.size();
  // Notified under the lock: a caller that sees `done` returns and its Entry is gone.
  for (auto* entry : batch) {
    entry->done = true;
    entry->wake.notify_one();
  }
  if (queue_.empty()) {
    leading_ = false;
  } else {
    queue_.front()->leads = true;
    queue_.front()->wake.notify_one();
  }
}

GroupCommit::Counts GroupCommit::counts() const {
  const std::lock_guard lock(queue_mutex_);
  return counts_;
}

void GroupCommit::run_batch(const std::vector<Entry*>& batch) {
  const std::lock_guard connection_lock(connection_mutex_);
  try {
    Transaction transaction(transaction_);
    for (auto* entry : batch) {
      {
        const ResetOnExit reset(savepoint_);
        savepoint_.run();
      }
      try {
        (*entry->write)();
        const ResetOnExit reset(release_);
        release_.run();
      } catch (...) {
        entry->error = std::current_exception();
        // Some errors (I/O, disk full) make SQLite roll the whole transaction back by itself:
        // then the writes before this one are gone too, and the batch fails as a whole.
        if (!in_transaction(transaction_.connection)) {
          throw StoreUnavailable(
              "the registry rolled back a batch of writes after an error; nothing of it was "
              "stored");
        }
        const ResetOnExit reset_rollback(rollback_to_);
        rollback_to_.run();
        const ResetOnExit reset_release(release_);
        release_.run();
      }
    }
    transaction.commit();
  } catch (...) {
    const auto error = std::current_exception();
    for (auto* entry : batch) {
      if (!entry->error) {
        entry->error = error;
      }
    }
  }
}

}  // namespace estfleet::registry::sqlite
