// A prepared statement, prepared once and reused: bind, step, read columns, reset. Parameter
// indexes are 1-based and column indexes 0-based, as in SQLite.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3_stmt;

namespace estfleet::registry::sqlite {

class Connection;

// Names the failure in error sentences: "registry read failed" or "registry write failed".
enum class Access { read, write };

class Statement {
 public:
  // Access is taken from the SQL itself (SQLite knows whether it writes).
  Statement(Connection& connection, std::string_view sql);
  // For statements SQLite counts as read-only that still belong to a write (BEGIN, COMMIT).
  Statement(Connection& connection, std::string_view sql, Access access);

  void bind_text(int index, std::string_view text);
  void bind_int64(int index, std::int64_t value);
  void bind_null(int index);
  void bind_optional_text(int index, const std::optional<std::string>& text);
  void bind_optional_int64(int index, std::optional<std::int64_t> value);

  // True when a row is ready to read, false when the statement has finished.
  bool step();
  // Steps to the end, for statements whose rows are not needed.
  void run();

  std::string column_text(int column) const;
  std::int64_t column_int64(int column) const;
  bool column_is_null(int column) const;

  // Rewinds and clears the bindings so the statement can be used again.
  void reset() noexcept;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* statement) const noexcept;
  };

  Connection& connection_;
  std::unique_ptr<sqlite3_stmt, Finalizer> statement_;
  std::string_view failure_context_;
};

// Resets a cached statement when the scope ends, whether its use finished or threw, so the next
// user finds it clean and no read transaction stays open.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) noexcept : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

}  // namespace estfleet::registry::sqlite
