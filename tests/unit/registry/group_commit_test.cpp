// GroupCommit on its own: which writes share a commit, and what a failing write takes with it.
#include "registry/sqlite/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <stdexcept>
#include <thread>
#include <vector>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/sqlite/transaction.hpp"
#include "registry/store.hpp"

namespace estfleet::registry::sqlite {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "est-group-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "group.db").string();
    connection_ = std::make_unique<Connection>(path_, OpenMode::read_write);
    connection_->execute("PRAGMA journal_mode = WAL", "test setup");
    connection_->execute("CREATE TABLE rows (name TEXT PRIMARY KEY NOT NULL)", "test setup");
    statements_ = std::make_unique<TransactionStatements>(*connection_);
    insert_ = std::make_unique<Statement>(*connection_, "INSERT INTO rows (name) VALUES (?1)");
    group_ = std::make_unique<GroupCommit>(mutex_, *statements_);
  }
  void TearDown() override {
    group_.reset();
    insert_.reset();
    statements_.reset();
    connection_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs under the batch's transaction, on the leader's thread.
  void insert(const std::string& name) {
    const ResetOnExit reset(*insert_);
    insert_->bind_text(1, name);
    insert_->run();
  }

  // Through a connection of its own: only committed rows count.
  std::vector<std::string> committed_rows() {
    Connection reader(path_, OpenMode::read_only);
    Statement query(reader, "SELECT name FROM rows ORDER BY name");
    std::vector<std::string> names;
    while (query.step()) {
      names.push_back(query.column_text(0));
    }
    return names;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<TransactionStatements> statements_;
  std::unique_ptr<Statement> insert_;
  std::unique_ptr<GroupCommit> group_;
};

TEST_F(GroupCommitTest, AWriteIsCommittedBeforeSubmitReturns) {
  group_->submit([&] { insert("alone"); });
  EXPECT_EQ(committed_rows(), std::vector<std::string>{"alone"});
  EXPECT_EQ(group_->counts().batches, 1U);
  EXPECT_EQ(group_->counts().writes, 1U);
}

// The first write holds its batch open until three more callers are queued behind it; those
// three then share the next batch, where the middle one fails: it alone is rolled back.
TEST_F(GroupCommitTest, WritesQueuedDuringABatchShareTheNextCommitAndFailAlone) {
  std::latch first_running(1);
  std::latch others_queued(1);
  std::thread first([&] {
    group_->submit([&] {
      first_running.count_down();
      others_queued.wait();
      insert("a-first");
    });
  });
  first_running.wait();
  std::exception_ptr failure;
  std::vector<std::thread> others;
  others.emplace_back([&] { group_->submit([&] { insert("b-kept"); }); });
  others.emplace_back([&] {
    try {
      group_->submit([&] {
        insert("c-rolled-back");
        throw ConflictError("the third write is refused");
      });
    } catch (...) {
      failure = std::current_exception();
    }
  });
  others.emplace_back([&] { group_->submit([&] { insert("d-kept"); }); });
  // The queue is not observable from outside; give the three threads time to enqueue.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  others_queued.count_down();
  first.join();
  for (auto& thread : others) {
    thread.join();
  }
  ASSERT_TRUE(failure);
  EXPECT_THROW(std::rethrow_exception(failure), ConflictError);
  EXPECT_EQ(committed_rows(), (std::vector<std::string>{"a-first", "b-kept", "d-kept"}));
  EXPECT_EQ(group_->counts().batches, 2U);
  EXPECT_EQ(group_->counts().writes, 4U);
}

// Many callers at once, as the server's request threads: every caller returns, only after its
// own write is committed, and the lead passes from batch to batch without a caller left waiting.
TEST_F(GroupCommitTest, ManyConcurrentCallersEachReturnOnceTheirWriteIsCommitted) {
  constexpr int kThreads = 16;
  constexpr int kWritesPerThread = 25;
  std::atomic<int> not_visible{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Connection reader(path_, OpenMode::read_only);
      Statement find(reader, "SELECT count(*) FROM rows WHERE name = ?1");
      for (int i = 0; i < kWritesPerThread; ++i) {
        const std::string name = std::to_string(t) + "-" + std::to_string(i);
        group_->submit([&] { insert(name); });
        const ResetOnExit reset(find);
        find.bind_text(1, name);
        find.step();
        if (find.column_int64(0) != 1) {
          ++not_visible;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(not_visible, 0);
  EXPECT_EQ(committed_rows().size(), static_cast<std::size_t>(kThreads * kWritesPerThread));
  const auto counts = group_->counts();
  EXPECT_EQ(counts.writes, static_cast<std::uint64_t>(kThreads * kWritesPerThread));
  EXPECT_GE(counts.batches, 1U);
  EXPECT_LE(counts.batches, counts.writes);
}

TEST_F(GroupCommitTest, AConstraintViolationRollsBackOnlyThatWrite) {
  group_->submit([&] { insert("taken"); });
  EXPECT_THROW(group_->submit([&] {
    insert("new-in-the-failing-write");
    insert("taken");
  }),
               ConflictError);
  EXPECT_EQ(committed_rows(), std::vector<std::string>{"taken"});
  group_->submit([&] { insert("after"); });
  EXPECT_EQ(committed_rows(), (std::vector<std::string>{"after", "taken"}));
}

TEST_F(GroupCommitTest, AFailedCommitFailsEveryWriteOfTheBatch) {
  // A deferred foreign key is checked at COMMIT: the batch's COMMIT fails, nothing is stored.
  connection_->execute("PRAGMA foreign_keys = ON", "test setup");
  connection_->execute(
      "CREATE TABLE children (parent TEXT REFERENCES rows (name) DEFERRABLE INITIALLY DEFERRED)",
      "test setup");
  Statement orphan(*connection_, "INSERT INTO children (parent) VALUES ('nobody')");
  EXPECT_ANY_THROW(group_->submit([&] {
    insert("with-an-orphan");
    const ResetOnExit reset(orphan);
    orphan.run();
  }));
  EXPECT_TRUE(committed_rows().empty());
  group_->submit([&] { insert("next"); });
  EXPECT_EQ(committed_rows(), std::vector<std::string>{"next"});
}

}  // namespace
}  // namespace estfleet::registry::sqlite
