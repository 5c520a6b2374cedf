#include "registry/sqlite/error.hpp"

#include <sqlite3.h>

namespace estfleet::registry::sqlite {

ConstraintViolation::ConstraintViolation(const std::string& message, std::string detail)
    : ConflictError(message), detail_(std::move(detail)) {}

bool ConstraintViolation::concerns(std::string_view table_column) const {
  return detail_.find(table_column) != std::string::npos;
}

namespace {

// Conditions of the database file or its environment rather than of the data: the caller can
// only report them and retry later.
bool means_store_unavailable(int primary_code) {
  switch (primary_code) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

}  // namespace

void throw_sqlite_error(int code, std::string_view context, std::string_view detail) {
  std::string message{context};
  message += ": ";
  message += detail;
  const int primary_code = code & 0xff;
  if (primary_code == SQLITE_CONSTRAINT) {
    throw ConstraintViolation(message, std::string{detail});
  }
  if (means_store_unavailable(primary_code)) {
    throw StoreUnavailable(message);
  }
  throw std::runtime_error(message);
}

}  // namespace estfleet::registry::sqlite
