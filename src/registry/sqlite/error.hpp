// Turns SQLite result codes into the registry's exceptions, so callers above the store see
// StoreUnavailable (try again later / check the disk) or ConflictError (the data says no).
#pragma once

#include <string>
#include <string_view>

#include "registry/store.hpp"

namespace estfleet::registry::sqlite {

// A UNIQUE, CHECK, NOT NULL or FOREIGN KEY constraint refused a write. Carries SQLite's own
// description ("UNIQUE constraint failed: certificates.thing_name") so the store can tell the
// caller, in its own words, which rule was broken.
class ConstraintViolation : public ConflictError {
 public:
  ConstraintViolation(const std::string& message, std::string detail);
  // True when the violated constraint involves `table_column`, e.g. "certificates.serial".
  bool concerns(std::string_view table_column) const;

 private:
  std::string detail_;
};

// Throws for a failed SQLite call. `context` starts the sentence ("registry write failed"),
// `detail` is sqlite3_errmsg() of the connection.
[[noreturn]] void throw_sqlite_error(int code, std::string_view context, std::string_view detail);

}  // namespace estfleet::registry::sqlite
