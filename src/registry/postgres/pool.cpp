#include "registry/postgres/pool.hpp"

#include <random>
#include <thread>

namespace estfleet::registry::postgres {

Pool::Lease::Lease(Pool& pool, std::unique_ptr<Connection> connection)
    : pool_(pool), connection_(std::move(connection)) {}

Pool::Lease::~Lease() {
  pool_.release(std::move(connection_));
}

Pool::Pool(std::string conninfo, std::size_t size, std::chrono::milliseconds wait, bool read_only)
    : conninfo_(std::move(conninfo)),
      redacted_(redact_conninfo(conninfo_)),
      size_(size),
      wait_(wait),
      read_only_(read_only) {
  if (size_ == 0) {
    throw std::invalid_argument(
        "the PostgreSQL registry's connection pool needs at least one "
        "connection");
  }
}

Pool::~Pool() = default;

Pool::Lease Pool::acquire() {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; })) {
    throw StoreUnavailable("all " + std::to_string(size_) +
                           " connections to the PostgreSQL registry stayed busy for " +
                           std::to_string(wait_.count()) + " ms");
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  try {
    auto connection = std::make_unique<Connection>(conninfo_);
    if (read_only_) {
      connection->execute("SET default_transaction_read_only = on",
                          "registry connection setup failed");
    }
    return Lease(*this, std::move(connection));
  } catch (...) {
    release(nullptr);
    throw;
  }
}

void Pool::release(std::unique_ptr<Connection> connection) noexcept {
  {
    const std::lock_guard lock(mutex_);
    if (connection && connection->healthy() && !connection->in_transaction()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  available_.notify_one();
}

namespace {

void roll_back(Connection& connection) noexcept {
  try {
    if (connection.healthy() && connection.in_transaction()) {
      connection.execute("ROLLBACK", "registry rollback failed");
    }
  } catch (const std::exception&) {
    // The lease drops a connection still in a transaction.
  }
}

// Waits a little before trying again, longer each time and randomised, so that transactions
// that deadlocked each other do not meet again at once.
void back_off(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_int_distribution<int> jitter(1, 10 * attempt);
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(random)));
}

}  // namespace

void Pool::transact(Access access, const std::function<void(Connection&)>& body) {
  const char* begin = access == Access::read ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                             : "BEGIN ISOLATION LEVEL READ COMMITTED";
  const bool transaction = access != Access::statement;
  for (int attempt = 1;; ++attempt) {
    auto lease = acquire();
    bool committing = false;
    try {
      if (transaction) {
        lease->execute(begin, "registry transaction cannot begin");
      }
      body(*lease);
      if (transaction) {
        committing = true;
        lease->execute("COMMIT", "registry transaction cannot commit");
      }
      return;
    } catch (const RetryableError& error) {
      roll_back(*lease);
      if (attempt >= max_attempts) {
        throw StoreUnavailable(std::string(error.what()) + " (gave up after " +
                               std::to_string(attempt) + " attempts)");
      }
    } catch (const StoreUnavailable&) {
      // A connection that broke before COMMIT was sent took its transaction with it: nothing was
      // written, so the call may run again on a fresh connection. After COMMIT was sent the
      // outcome is unknown and the caller hears of it.
      const bool broken = !lease->healthy();
      roll_back(*lease);
      if (broken) {
        lease.discard();
      }
      if (!broken || committing || attempt >= max_attempts) {
        throw;
      }
    } catch (...) {
      roll_back(*lease);
      throw;
    }
    back_off(attempt);
  }
}

}  // namespace estfleet::registry::postgres
