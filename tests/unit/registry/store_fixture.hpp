// The registry conformance fixture: every test written against it runs, unchanged, on each Store
// implementation a test binary lists in conformance_backends() — SQLite in est_registry_tests,
// PostgreSQL in est_registry_conformance_tests (tests/registry_conformance/). Each test gets a
// fresh, empty registry: a new SQLite file, or a new PostgreSQL database.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry/store.hpp"
#include "registry/test_records.hpp"

namespace estfleet::registry::testing {

// One fresh registry and raw access to its database, for what the Store interface cannot do.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // A store on this registry; several may be open at once (they stand for several servers).
  virtual std::unique_ptr<Store> open(bool read_only) = 0;
  // Runs SQL through a connection of its own, outside any store; a constraint the statement
  // breaks is a ConflictError, as in the stores.
  virtual void execute(const std::string& sql, std::string_view context) = 0;
  virtual std::int64_t count_rows(const std::string& table) = 0;
  // Makes every later audit insert fail (by a trigger), to show each write rolls back whole.
  virtual void fail_audit_writes() = 0;
  // Takes the database away under the open stores (file deleted, database dropped).
  virtual void make_unreachable() = 0;
};

// "sqlite" or "postgres"; throws when the backend cannot be set up (PostgreSQL: no
// EST_TEST_POSTGRES_URL), which fails the test rather than skipping it.
std::unique_ptr<StoreBackend> make_backend(const std::string& kind);
// The backends this binary runs the conformance tests on.
std::vector<std::string> conformance_backends();

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = make_backend(GetParam());
    store_ = backend_->open(false);
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }

  std::unique_ptr<Store> open_second_store() { return backend_->open(false); }
  void reopen() {
    store_.reset();
    store_ = backend_->open(false);
  }
  void reopen_read_only() {
    store_.reset();
    store_ = backend_->open(true);
  }
  void fail_audit_writes() { backend_->fail_audit_writes(); }
  // Through a connection of its own, so the count does not depend on the store being right.
  std::int64_t count_rows(const std::string& table) { return backend_->count_rows(table); }

  // Statements the database itself must refuse, whatever the store does.
  struct RawSql {
    StoreBackend& backend;
    void execute(const std::string& sql, std::string_view context) {
      backend.execute(sql, context);
    }
  };
  RawSql raw_sql() { return RawSql{*backend_}; }

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

// Test names end in the backend: …/sqlite, …/postgres.
inline std::string backend_name(const ::testing::TestParamInfo<std::string>& param_info) {
  return param_info.param;
}

// Runs every test of `fixture` on each backend of this binary.
#define EST_STORE_CONFORMANCE(fixture)                                                            \
  INSTANTIATE_TEST_SUITE_P(                                                                       \
      Store, fixture, ::testing::ValuesIn(::estfleet::registry::testing::conformance_backends()), \
      ::estfleet::registry::testing::backend_name)

}  // namespace estfleet::registry::testing
