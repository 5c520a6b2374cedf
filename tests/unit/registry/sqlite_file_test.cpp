#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/migrations.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/sqlite_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(SqliteStoreTest, FileIsReadableByItsOwnerOnly) {
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndAppliesNoMigrationTwice) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  store_->put_user({"alice", "hash", 1}, make_audit("user-add", "", ""), false);
  reopen();
  reopen();
  EXPECT_EQ(store_->active_certificate("sensor-1")->serial, "0A01");
  EXPECT_TRUE(store_->find_user("alice"));
  EXPECT_EQ(store_->audit_since(0).size(), 2U);
  store_.reset();
  EXPECT_EQ(count_rows("schema_migrations"), sqlite::latest_schema_version());
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerProgramIsRefused) {
  store_.reset();
  {
    sqlite::Connection connection(path_, sqlite::OpenMode::read_write);
    connection.execute("INSERT INTO schema_migrations VALUES (999, 0)", "test setup");
  }
  try {
    reopen();
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_THAT(error.what(), HasSubstr("schema version 999"));
  }
}

TEST_F(SqliteStoreTest, ReadOnlyStoreReadsButRefusesWrites) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  reopen(sqlite::OpenMode::read_only);
  EXPECT_EQ(store_->active_certificate("sensor-1")->serial, "0A01");
  try {
    store_->record_enrollment(make_cert("0A02", "sensor-2"), make_registration(),
                              make_audit("simpleenroll", "sensor-2", "0A02"));
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_THAT(error.what(), HasSubstr("registry write failed"));
    EXPECT_THAT(error.what(), HasSubstr("readonly"));
  }
  EXPECT_THROW(store_->append_audit(make_audit("revoke", "", "")), StoreUnavailable);
  EXPECT_THROW(store_->put_user({"bob", "hash", 1}, make_audit("user-add", "", ""), false),
               StoreUnavailable);
  EXPECT_FALSE(store_->find_certificate("0A02"));
}

TEST_F(SqliteStoreTest, ReadOnlyOpenOfAMissingFileIsUnavailable) {
  EXPECT_THROW(SqliteStore::open((dir_ / "missing.db").string(), sqlite::OpenMode::read_only),
               StoreUnavailable);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing.db"));
}

TEST_F(SqliteStoreTest, AFolderInsteadOfAFileIsUnavailable) {
  EXPECT_THROW(SqliteStore::open(dir_.string()), StoreUnavailable);
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsUnavailable) {
  store_.reset();
  std::filesystem::remove(path_);
  {
    std::FILE* file = std::fopen(path_.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("this is not an SQLite database, it is plain text long enough to matter\n", file);
    std::fclose(file);
  }
  EXPECT_THROW(reopen(), StoreUnavailable);
}

TEST_F(SqliteStoreTest, AFullDiskIsUnavailableWithASentence) {
  // max_page_count caps the file as a full disk would; SQLite reports SQLITE_FULL either way.
  sqlite::Connection connection(path_, sqlite::OpenMode::read_write);
  connection.execute("PRAGMA max_page_count = 8", "test setup");
  sqlite::Statement insert(connection, "INSERT INTO users VALUES (?1, ?2, 0)");
  try {
    for (int i = 0; i < 10'000; ++i) {
      insert.bind_text(1, "user-" + std::to_string(i));
      insert.bind_text(2, std::string(512, 'x'));
      insert.run();
      insert.reset();
    }
    FAIL() << "expected StoreUnavailable";
  } catch (const StoreUnavailable& error) {
    EXPECT_STREQ(error.what(), "registry write failed: database or disk is full");
  }
}

}  // namespace
}  // namespace estfleet::registry::testing
