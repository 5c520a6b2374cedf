#include "registry/sqlite/statement.hpp"

#include <sqlite3.h>

#include <limits>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/error.hpp"

namespace estfleet::registry::sqlite {

namespace {

constexpr std::string_view read_failed = "registry read failed";
constexpr std::string_view write_failed = "registry write failed";

std::string_view context_for(Access access) {
  return access == Access::read ? read_failed : write_failed;
}

}  // namespace

void Statement::Finalizer::operator()(sqlite3_stmt* statement) const noexcept {
  sqlite3_finalize(statement);
}

Statement::Statement(Connection& connection, std::string_view sql)
    : connection_(connection), failure_context_(write_failed) {
  sqlite3_stmt* prepared = nullptr;
  const int code = sqlite3_prepare_v3(connection.handle(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &prepared, nullptr);
  statement_.reset(prepared);
  if (code != SQLITE_OK) {
    throw_sqlite_error(code, "registry statement cannot be prepared", connection.last_error());
  }
  failure_context_ =
      context_for(sqlite3_stmt_readonly(prepared) != 0 ? Access::read : Access::write);
}

Statement::Statement(Connection& connection, std::string_view sql, Access access)
    : Statement(connection, sql) {
  failure_context_ = context_for(access);
}

void Statement::bind_text(int index, std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error("registry value of " + std::to_string(text.size()) +
                            " bytes is too long to store");
  }
  const int code = sqlite3_bind_text(statement_.get(), index, text.data(),
                                     static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (code != SQLITE_OK) {
    throw_sqlite_error(code, failure_context_, connection_.last_error());
  }
}

void Statement::bind_int64(int index, std::int64_t value) {
  const int code = sqlite3_bind_int64(statement_.get(), index, value);
  if (code != SQLITE_OK) {
    throw_sqlite_error(code, failure_context_, connection_.last_error());
  }
}

void Statement::bind_null(int index) {
  const int code = sqlite3_bind_null(statement_.get(), index);
  if (code != SQLITE_OK) {
    throw_sqlite_error(code, failure_context_, connection_.last_error());
  }
}

void Statement::bind_optional_text(int index, const std::optional<std::string>& text) {
  if (text) {
    bind_text(index, *text);
  } else {
    bind_null(index);
  }
}

void Statement::bind_optional_int64(int index, std::optional<std::int64_t> value) {
  if (value) {
    bind_int64(index, *value);
  } else {
    bind_null(index);
  }
}

bool Statement::step() {
  const int code = sqlite3_step(statement_.get());
  if (code == SQLITE_ROW) {
    return true;
  }
  if (code == SQLITE_DONE) {
    return false;
  }
  throw_sqlite_error(code, failure_context_, connection_.last_error());
}

void Statement::run() {
  while (step()) {
  }
}

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(statement_.get(), column);
  if (text == nullptr) {
    return {};
  }
  // sqlite3_column_bytes must follow sqlite3_column_text: the conversion may change the size.
  const int size = sqlite3_column_bytes(statement_.get(), column);
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(statement_.get(), column);
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(statement_.get(), column) == SQLITE_NULL;
}

void Statement::reset() noexcept {
  sqlite3_reset(statement_.get());
  sqlite3_clear_bindings(statement_.get());
}

}  // namespace estfleet::registry::sqlite
