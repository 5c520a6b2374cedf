// Group commit: the writes of many threads made durable by one COMMIT, so one fsync serves a
// whole batch of enrollments instead of each paying its own. No caller returns before the commit
// that holds its write; a write that fails is rolled back alone and its caller gets its error.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "registry/sqlite/statement.hpp"
#include "registry/sqlite/transaction.hpp"

namespace estfleet::registry::sqlite {

class GroupCommit {
 public:
  // `connection_mutex` guards the connection of `statements`; a batch holds it from BEGIN to
  // COMMIT, like any other transaction of the store.
  GroupCommit(std::mutex& connection_mutex, TransactionStatements& statements);

  // Runs `write` inside the next batch's transaction, in a savepoint of its own, and returns once
  // that transaction has committed. The first caller that finds no batch in progress leads: it
  // takes every write queued so far (its own included), runs them in order, commits once, wakes
  // the callers of that batch only, and hands the lead to the oldest caller queued meanwhile, whose
  // batch is everything queued by then. Rethrows what `write` threw (its changes rolled back, the
  // batch's others kept), or what BEGIN/COMMIT threw (then nothing of the batch was written).
  void submit(const std::function<void()>& write);

  struct Counts {
    std::uint64_t batches = 0;
    std::uint64_t writes = 0;
  };
  Counts counts() const;

 private:
  // Lives on its caller's stack; the fields below `write` change only under queue_mutex_.
  struct Entry {
    const std::function<void()>* write = nullptr;
    std::exception_ptr error;
    bool done = false;
    bool leads = false;
    // One per caller, so that a commit wakes the callers it served and the next leader, not every
    // thread waiting for a later batch.
    std::condition_variable wake;
  };
  void lead(std::unique_lock<std::mutex>& lock);
  void run_batch(const std::vector<Entry*>& batch);

  std::mutex& connection_mutex_;
  TransactionStatements& transaction_;
  Statement savepoint_;
  Statement release_;
  Statement rollback_to_;

  mutable std::mutex queue_mutex_;
  std::vector<Entry*> queue_;
  bool leading_ = false;
  Counts counts_;
};

}  // namespace estfleet::registry::sqlite
