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
  Entry mine{&write, nullptr, false};
  std::unique_lock lock(queue_mutex_);
  queue_.push_back(&mine);
  while (!mine.done) {
    if (leading_) {
      batch_done_.wait(lock);
      continue;
    }
    leading_ = true;
    std::vector<Entry*> batch;
    batch.swap(queue_);
    lock.unlock();
    run_batch(batch);
    lock.lock();
    for (auto* entry : batch) {
      entry->done = true;
    }
    ++counts_.batches;
    counts_.writes += batch.size();
    leading_ = false;
    batch_done_.notify_all();
  }
  if (mine.error) {
    std::rethrow_exception(mine.error);
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
