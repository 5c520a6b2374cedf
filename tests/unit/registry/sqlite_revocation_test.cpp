// SQLite only: the revocation reads of OCSP and GET /crl go through the reader connection, so they
// never queue behind a write (a group commit holds the writer through its fsync).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "registry/sqlite_fixture.hpp"

namespace estfleet::registry::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST_F(SqliteStoreTest, RevocationReadsDoNotWaitForAWriteInProgress) {
  store_->record_enrollment(make_cert("0A01", "sensor-1"), make_registration(),
                            make_audit("simpleenroll", "sensor-1", "0A01"));
  store_->publish_crl(PublishedCrl{store_->prepare_crl(0).number, 10, 20, "pem-1"});

  // Another process holds the write lock, so the store's next write holds the store's writer
  // while it waits (up to its 5 s busy timeout), as a batch does through its fsync.
  sqlite::Connection other(path_, sqlite::OpenMode::read_write);
  other.execute("BEGIN IMMEDIATE", "test setup");
  std::atomic<bool> write_done{false};
  std::thread writer([&] {
    try {
      store_->revoke_certificate("0A01", "keyCompromise", 1'700'000'200,
                                 make_audit("revoke", "sensor-1", "0A01"));
    } catch (const StoreUnavailable&) {
      // Only if the reads below held the write lock's holder up past the busy timeout.
    }
    write_done = true;
  });
  std::this_thread::sleep_for(milliseconds(200));  // the writer is now waiting, holding the store
  ASSERT_FALSE(write_done);

  const auto started = steady_clock::now();
  const auto found = store_->revocation_entries_for({"0A01"});
  const auto number = store_->published_crl_number();
  const auto published = store_->published_crl();
  const auto took = steady_clock::now() - started;
  EXPECT_FALSE(write_done);
  other.execute("COMMIT", "test cleanup");
  writer.join();

  EXPECT_LT(took, milliseconds(1000));
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].entry.status, CertificateStatus::active);  // the revocation was not yet in
  EXPECT_EQ(number, 1);
  ASSERT_TRUE(published);
  EXPECT_EQ(published->pem, "pem-1");
  EXPECT_EQ(store_->revocation_entries_for({"0A01"})[0].entry.status, CertificateStatus::revoked);
}

}  // namespace
}  // namespace estfleet::registry::testing
