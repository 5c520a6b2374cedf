// One libpq connection with its prepared statements, and the translation of PostgreSQL errors
// into the registry's exceptions. Not thread-safe: the pool hands a connection to one thread at
// a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "registry/store.hpp"

struct pg_conn;
struct pg_result;

namespace estfleet::registry::postgres {

// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

inline Param param(std::string_view text) {
  return std::string(text);
}
inline Param param(const std::string& text) {
  return text;
}
inline Param param(const char* text) {
  return std::string(text);
}
inline Param param(std::int64_t value) {
  return std::to_string(value);
}
inline Param param(const std::optional<std::string>& text) {
  return text;
}
inline Param param(const std::optional<std::int64_t>& value) {
  return value ? Param(std::to_string(*value)) : std::nullopt;
}
// A text[] parameter: the array literal of `texts`, each element quoted.
Param text_array(const std::vector<std::string>& texts);

// The rows a statement returned, text format.
class Result {
 public:
  explicit Result(pg_result* result) noexcept;
  int rows() const noexcept;
  bool is_null(int row, int column) const noexcept;
  std::string text(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  std::optional<std::int64_t> optional_int64(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  // Rows an INSERT, UPDATE or DELETE changed.
  std::int64_t affected() const;

 private:
  struct Clear {
    void operator()(pg_result* result) const noexcept;
  };
  std::unique_ptr<pg_result, Clear> result_;
};

// A statement the server refused, with its SQLSTATE. Integrity violations are ConflictErrors
// (see `throw_postgres_error`); this carries the detail the store needs to word its refusal.
class ConstraintViolation : public ConflictError {
 public:
  ConstraintViolation(const std::string& message, std::string constraint);
  // The name of the constraint, unique index or trigger that refused the row.
  const std::string& constraint() const noexcept { return constraint_; }

 private:
  std::string constraint_;
};

// A serialization failure or deadlock (SQLSTATE 40001, 40P01): the transaction may succeed if it
// is run again from the start.
class RetryableError : public StoreUnavailable {
 public:
  using StoreUnavailable::StoreUnavailable;
};

class Connection {
 public:
  // `conninfo`: a libpq connection URI or key=value string. StoreUnavailable when the server
  // cannot be reached or refuses the login; the message never repeats the password.
  explicit Connection(const std::string& conninfo);

  // Runs SQL text without parameters (schema scripts, BEGIN/COMMIT). `context` starts the error
  // sentence.
  void execute(const std::string& sql, std::string_view context);
  // Runs `sql` as the named prepared statement, preparing it on this connection the first time.
  Result run(const char* name, const char* sql, const Params& params);
  // Runs SQL text once with parameters (migration bookkeeping, tests).
  Result run_once(const std::string& sql, const Params& params, std::string_view context);

  // False once the server closed the connection or the socket failed: the pool drops it.
  bool healthy() const noexcept;
  // True while a transaction is open (or failed and not yet rolled back).
  bool in_transaction() const noexcept;

 private:
  struct Finish {
    void operator()(pg_conn* connection) const noexcept;
  };
  Result check(pg_result* result, std::string_view context);

  std::unique_ptr<pg_conn, Finish> connection_;
  std::unordered_set<std::string> prepared_;
};

// The conninfo with any password replaced by "***", for messages and logs.
std::string redact_conninfo(const std::string& conninfo);

}  // namespace estfleet::registry::postgres
