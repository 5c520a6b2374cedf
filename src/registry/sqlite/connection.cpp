#include "registry/sqlite/connection.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "registry/sqlite/error.hpp"

namespace estfleet::registry::sqlite {

namespace {

// SQLite would create the file with the umask's permissions; the registry holds password
// hashes, so it is created owner-only first. SQLite gives its -wal and -shm files the same mode.
void create_owner_only_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw StoreUnavailable("cannot create registry " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
}

}  // namespace

void Connection::Closer::operator()(sqlite3* db) const noexcept {
  sqlite3_close_v2(db);
}

Connection::Connection(const std::string& path, OpenMode mode) : path_(path), mode_(mode) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (mode == OpenMode::read_write) {
    create_owner_only_file(path);
    flags |= SQLITE_OPEN_READWRITE;
  } else {
    flags |= SQLITE_OPEN_READONLY;
  }
  sqlite3* db = nullptr;
  const int code = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  db_.reset(db);  // sqlite3_open_v2 may allocate a handle even when it fails
  if (code != SQLITE_OK) {
    const std::string_view detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    throw_sqlite_error(code, "cannot open registry " + path, detail);
  }
}

void Connection::execute(const std::string& sql, std::string_view context) {
  const int code = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) {
    throw_sqlite_error(code, context, last_error());
  }
}

std::int64_t Connection::changes() const noexcept {
  return sqlite3_changes64(db_.get());
}

std::string_view Connection::last_error() const noexcept {
  return sqlite3_errmsg(db_.get());
}

}  // namespace estfleet::registry::sqlite
