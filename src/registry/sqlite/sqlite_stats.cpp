// SqliteStore's operations queries: the counts the metrics endpoint reports and the readiness
// probe's trivial read. They run once per scrape (which the server caches) or probe, never per
// enrollment, so each opens its own read-only connection: in WAL mode it reads a snapshot without
// taking the store's mutex, so a count over a large fleet never holds up an enrollment.
#include "registry/sqlite/sqlite_store.hpp"
#include "registry/sqlite/statement.hpp"

namespace estfleet::registry {

using sqlite::Connection;
using sqlite::OpenMode;
using sqlite::Statement;

namespace {

constexpr std::int64_t kDay = std::int64_t{24} * 60 * 60;

Connection open_reader(const std::string& path) {
  Connection reader(path, OpenMode::read_only);
  reader.execute("PRAGMA busy_timeout = 2000", "registry setup failed");
  return reader;
}

}  // namespace

RegistryStats SqliteStore::stats(UnixSeconds now) {
  auto reader = open_reader(connection_.path());
  // One statement, so every count comes from the same snapshot of the file.
  Statement query(reader,
                  "SELECT (SELECT count(*) FROM things), "
                  "(SELECT count(*) FROM certificates WHERE status = 'active'), "
                  "(SELECT count(*) FROM certificates WHERE status = 'superseded'), "
                  "(SELECT count(*) FROM certificates WHERE status = 'revoked'), "
                  "(SELECT count(*) FROM certificates WHERE status = 'active' AND not_after > ?1 "
                  "AND not_after <= ?2), "
                  "(SELECT count(*) FROM certificates WHERE status = 'active' AND not_after > ?1 "
                  "AND not_after <= ?3)");
  query.bind_int64(1, now);
  query.bind_int64(2, now + 7 * kDay);
  query.bind_int64(3, now + 30 * kDay);
  query.step();
  RegistryStats stats;
  stats.things = query.column_int64(0);
  stats.certificates[CertificateStatus::active] = query.column_int64(1);
  stats.certificates[CertificateStatus::superseded] = query.column_int64(2);
  stats.certificates[CertificateStatus::revoked] = query.column_int64(3);
  stats.expiring_within_7d = query.column_int64(4);
  stats.expiring_within_30d = query.column_int64(5);
  return stats;
}

void SqliteStore::ping() {
  auto reader = open_reader(connection_.path());
  Statement query(reader, "SELECT count(*) FROM schema_migrations");
  query.step();
}

}  // namespace estfleet::registry
