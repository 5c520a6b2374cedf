// A fresh registry file in its own temporary folder per test, and records to fill it with.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/test_records.hpp"

namespace estfleet::registry::testing {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "est-registry-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "registry.db").string();
    store_ = SqliteStore::open(path_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void reopen(sqlite::OpenMode mode = sqlite::OpenMode::read_write) {
    store_.reset();
    store_ = SqliteStore::open(path_, mode);
  }

  // Every store transaction appends its audit row last, so making that insert fail shows whether
  // everything written before it was rolled back. The store's cached statements notice the
  // schema change and prepare themselves again.
  void fail_audit_writes() {
    sqlite::Connection connection(path_, sqlite::OpenMode::read_write);
    connection.execute(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END",
        "test setup");
  }

  // Through a connection of its own, so the count does not depend on the store being right.
  std::int64_t count_rows(const std::string& table) {
    sqlite::Connection connection(path_, sqlite::OpenMode::read_only);
    sqlite::Statement count(connection, "SELECT count(*) FROM " + table);
    count.step();
    return count.column_int64(0);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

}  // namespace estfleet::registry::testing
