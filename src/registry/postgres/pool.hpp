// A bounded pool of PostgreSQL connections, and the transaction runner every store call goes
// through: one transaction per call, run again from the start after a serialization failure or a
// deadlock, a bounded number of times.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "registry/postgres/connection.hpp"

namespace estfleet::registry::postgres {

enum class Access {
  statement,  // one read statement, no BEGIN/COMMIT round trips (autocommit)
  read,       // REPEATABLE READ READ ONLY: every statement of the call sees one snapshot
  write,      // READ COMMITTED: writers lock the rows they depend on (see postgres_store.cpp)
};

class Pool {
 public:
  // Opens connections on demand, at most `size`; a caller waits up to `wait` for a free one and
  // then gets StoreUnavailable. `read_only` makes every session read-only.
  Pool(std::string conninfo, std::size_t size, std::chrono::milliseconds wait, bool read_only);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `body` inside one transaction and commits it. A serialization failure or deadlock
  // (SQLSTATE 40001, 40P01), or a connection found broken before COMMIT was sent, runs the whole
  // body again on a fresh transaction, at most `max_attempts` times in all; then StoreUnavailable.
  // Anything else `body` throws rolls back and reaches the caller unchanged.
  void transact(Access access, const std::function<void(Connection&)>& body);

  // A connection outside any transaction, for the migrations' advisory lock.
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> connection);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }
    // Closes the connection instead of returning it (it is broken, or in an unknown state).
    void discard() noexcept { connection_.reset(); }

   private:
    Pool& pool_;
    std::unique_ptr<Connection> connection_;
  };
  Lease acquire();

  static constexpr int max_attempts = 5;
  const std::string& redacted_conninfo() const noexcept { return redacted_; }

 private:
  void release(std::unique_ptr<Connection> connection) noexcept;

  std::string conninfo_;
  std::string redacted_;
  std::size_t size_;
  std::chrono::milliseconds wait_;
  bool read_only_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle and leased
};

}  // namespace estfleet::registry::postgres
