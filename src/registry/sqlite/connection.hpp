// One SQLite connection, closed on destruction. Not thread-safe: its owner serializes use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;

namespace estfleet::registry::sqlite {

enum class OpenMode {
  read_write,  // creates the file (mode 0600) when missing
  read_only,   // for inspection; every write fails with StoreUnavailable
};

class Connection {
 public:
  // Throws StoreUnavailable when the file cannot be created or opened.
  Connection(const std::string& path, OpenMode mode);

  sqlite3* handle() const noexcept { return db_.get(); }
  const std::string& path() const noexcept { return path_; }
  OpenMode mode() const noexcept { return mode_; }

  // Runs SQL text that returns no rows needed (schema scripts). Not for hot paths: it prepares
  // the text on every call. `context` starts the error sentence.
  void execute(const std::string& sql, std::string_view context);

  // Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  std::int64_t changes() const noexcept;

  // The last error SQLite reported on this connection, for error sentences.
  std::string_view last_error() const noexcept;

 private:
  struct Closer {
    void operator()(sqlite3* db) const noexcept;
  };

  std::string path_;
  OpenMode mode_;
  std::unique_ptr<sqlite3, Closer> db_;
};

}  // namespace estfleet::registry::sqlite
