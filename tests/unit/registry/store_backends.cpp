// The conformance fixture's backends: a SQLite file in a temporary folder, or a database of its
// own on the PostgreSQL server EST_TEST_POSTGRES_URL names (tests/support/postgres_cluster.sh
// starts one and sets it).
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "registry/postgres/connection.hpp"
#include "registry/postgres/postgres_store.hpp"
#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {

namespace {

class SqliteBackend final : public StoreBackend {
 public:
  SqliteBackend() {
    std::string pattern = (std::filesystem::temp_directory_path() / "est-registry-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary folder for the SQLite registry");
    }
    dir_ = pattern;
    path_ = (dir_ / "registry.db").string();
  }
  ~SqliteBackend() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  SqliteBackend(const SqliteBackend&) = delete;
  SqliteBackend& operator=(const SqliteBackend&) = delete;

  std::unique_ptr<Store> open(bool read_only) override {
    return SqliteStore::open(
        path_, read_only ? sqlite::OpenMode::read_only : sqlite::OpenMode::read_write);
  }
  void execute(const std::string& sql, std::string_view context) override {
    sqlite::Connection connection(path_, sqlite::OpenMode::read_write);
    connection.execute(sql, context);
  }
  std::int64_t count_rows(const std::string& table) override {
    sqlite::Connection connection(path_, sqlite::OpenMode::read_only);
    sqlite::Statement count(connection, "SELECT count(*) FROM " + table);
    count.step();
    return count.column_int64(0);
  }
  // The store's cached statements notice the schema change and prepare themselves again.
  void fail_audit_writes() override {
    execute(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END",
        "test setup");
  }
  void make_unreachable() override { std::filesystem::remove_all(dir_); }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

// The server URL with another database name in its path (query parameters kept).
std::string with_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    throw std::runtime_error("EST_TEST_POSTGRES_URL must be a postgresql:// URI");
  }
  const auto query = url.find('?', scheme + 3);
  const std::string base = url.substr(0, query);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  const auto slash = base.find('/', scheme + 3);
  return base.substr(0, slash) + "/" + database + rest;
}

class PostgresBackend final : public StoreBackend {
 public:
  PostgresBackend() {
    const char* url = std::getenv("EST_TEST_POSTGRES_URL");
    if (url == nullptr || *url == '\0') {
      throw std::runtime_error(
          "EST_TEST_POSTGRES_URL is not set, so the PostgreSQL store cannot be tested; run this "
          "binary under tests/support/postgres_cluster.sh (ctest -R registry.postgres_conformance "
          "does)");
    }
    server_url_ = url;
    static std::atomic<int> counter{0};
    database_ = "est_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    postgres::Connection admin(server_url_);
    admin.execute("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)", "test setup");
    admin.execute("CREATE DATABASE " + database_, "test setup");
    url_ = with_database(server_url_, database_);
  }
  ~PostgresBackend() override {
    try {
      postgres::Connection admin(server_url_);
      admin.execute("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)", "test cleanup");
    } catch (const std::exception&) {
      // The cluster is temporary; a database left behind goes with it.
    }
  }
  PostgresBackend(const PostgresBackend&) = delete;
  PostgresBackend& operator=(const PostgresBackend&) = delete;

  std::unique_ptr<Store> open(bool read_only) override {
    PostgresOptions options;
    options.read_only = read_only;
    return PostgresStore::open(url_, options);
  }
  void execute(const std::string& sql, std::string_view context) override {
    postgres::Connection connection(url_);
    connection.execute(sql, context);
  }
  std::int64_t count_rows(const std::string& table) override {
    postgres::Connection connection(url_);
    return connection.run_once("SELECT count(*) FROM " + table, {}, "test count").int64(0, 0);
  }
  // Raised as an integrity violation, as SQLite's RAISE(ABORT) is a constraint failure.
  void fail_audit_writes() override {
    execute(
        "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'injected audit failure' USING ERRCODE = "
        "'integrity_constraint_violation'; "
        "END $$; "
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION fail_audit()",
        "test setup");
  }
  void make_unreachable() override {
    postgres::Connection admin(server_url_);
    admin.execute("DROP DATABASE " + database_ + " WITH (FORCE)", "test setup");
  }

 private:
  std::string server_url_;
  std::string database_;
  std::string url_;
};

}  // namespace

// The tests of StoreTest itself live in several files; the suite is instantiated once, here.
EST_STORE_CONFORMANCE(StoreTest);

std::unique_ptr<StoreBackend> make_backend(const std::string& kind) {
  if (kind == "sqlite") {
    return std::make_unique<SqliteBackend>();
  }
  if (kind == "postgres") {
    return std::make_unique<PostgresBackend>();
  }
  throw std::invalid_argument("no store backend named " + kind);
}

}  // namespace estfleet::registry::testing
