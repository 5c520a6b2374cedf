// What only the PostgreSQL store has: many servers migrating one database at once, the bounded
// pool, and errors of the server itself.
#include "registry/postgres/postgres_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <latch>
#include <thread>
#include <vector>

#include "registry/postgres/connection.hpp"
#include "registry/postgres/migrations.hpp"
#include "registry/store_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::HasSubstr;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("EST_TEST_POSTGRES_URL");
    ASSERT_TRUE(url != nullptr && *url != '\0')
        << "EST_TEST_POSTGRES_URL is not set; run under tests/support/postgres_cluster.sh";
    server_url_ = url;
    database_ = "est_pg_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : database_) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    postgres::Connection admin(server_url_);
    admin.execute("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)", "test setup");
    admin.execute("CREATE DATABASE " + database_, "test setup");
    const auto slash = server_url_.rfind('/');
    url_ = server_url_.substr(0, slash) + "/" + database_;
  }
  void TearDown() override {
    postgres::Connection admin(server_url_);
    admin.execute("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)", "test cleanup");
  }

  std::string server_url_;
  std::string database_;
  std::string url_;
};

TEST_F(PostgresStoreTest, ServersStartingTogetherApplyEachMigrationOnce) {
  constexpr int server_count = 6;
  std::latch start(server_count);
  std::atomic<int> failures{0};
  std::vector<std::thread> servers;
  servers.reserve(server_count);
  for (int s = 0; s < server_count; ++s) {
    servers.emplace_back([&] {
      start.arrive_and_wait();
      try {
        PostgresStore::open(url_)->ping();
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
        ++failures;
      }
    });
  }
  for (auto& server : servers) {
    server.join();
  }
  EXPECT_EQ(failures.load(), 0);
  postgres::Connection check(url_);
  const auto rows =
      check.run_once("SELECT count(*), max(version) FROM schema_migrations", {}, "test check");
  EXPECT_EQ(rows.int64(0, 0), postgres::latest_schema_version());
  EXPECT_EQ(rows.int64(0, 1), postgres::latest_schema_version());
}

TEST_F(PostgresStoreTest, ANewerSchemaIsRefused) {
  PostgresStore::open(url_).reset();
  postgres::Connection connection(url_);
  connection.run_once("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)",
                      {postgres::param(std::int64_t{postgres::latest_schema_version() + 1})},
                      "test insert");
  try {
    PostgresStore::open(url_);
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_THAT(error.what(), HasSubstr("newer than the"));
  }
}

TEST_F(PostgresStoreTest, AReadOnlyOpenNeedsTheCurrentSchemaAndWritesNothing) {
  PostgresOptions read_only;
  read_only.read_only = true;
  EXPECT_THROW(PostgresStore::open(url_, read_only), StoreUnavailable);  // nothing migrated yet
  PostgresStore::open(url_).reset();
  const auto store = PostgresStore::open(url_, read_only);
  EXPECT_NO_THROW(store->ping());
  EXPECT_THROW(store->append_audit(make_audit("test", "sensor-1", "")), StoreUnavailable);
  EXPECT_TRUE(store->audit_since(0).empty());
}

// One connection for sixteen threads: each call waits its turn, none fails.
TEST_F(PostgresStoreTest, ThePoolBoundsConnectionsAndCallsWaitForOne) {
  PostgresOptions options;
  options.pool_size = 1;
  const auto store = PostgresStore::open(url_, options);
  constexpr int thread_count = 16;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string thing = "t" + std::to_string(t) + "-" + std::to_string(i);
        try {
          store->record_enrollment(make_cert("S" + thing, thing), make_registration(),
                                   make_audit("simpleenroll", thing, "S" + thing));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  postgres::Connection check(url_);
  // This connection and the store's one, no more.
  const auto rows = check.run_once(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()", {}, "test check");
  EXPECT_EQ(rows.int64(0, 0), 2);
  EXPECT_EQ(store->list_certificates("").size(), static_cast<std::size_t>(thread_count * 10));
}

// The server closed every connection (a restart, a failover): the next call opens a fresh one.
TEST_F(PostgresStoreTest, ACallAfterTheServerDroppedTheConnectionsSucceeds) {
  const auto store = PostgresStore::open(url_);
  store->ping();
  postgres::Connection admin(server_url_);
  admin.run_once(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = $1 AND pid <> pg_backend_pid()",
      {postgres::param(database_)}, "test terminate");
  EXPECT_NO_THROW(store->ping());
  EXPECT_NO_THROW(store->record_enrollment(make_cert("01", "sensor-1"), make_registration(),
                                           make_audit("simpleenroll", "sensor-1", "01")));
}

}  // namespace
}  // namespace estfleet::registry::testing
