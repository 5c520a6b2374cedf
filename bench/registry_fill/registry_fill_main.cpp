// est-registry-fill: fills a registry with N things, each with the rows an initial enrollment
// leaves behind (the thing, its policy version, its active certificate, an audit row), in one
// transaction, so that est-bench can measure enrollment against a large registry without
// enrolling a million devices first. A benchmarking aid, not an administration tool: the
// certificates are not signed (their PEM is filler of a real certificate's size), so a filled
// registry is for measurement only.
//
//   est-registry-fill --db DATA/registry.db --things 1000000 [--prefix fill-] [--profile P]
//   est-registry-fill --db DATA/registry.db --explain
//
// The schema comes from the registry itself (SqliteStore::open migrates the file first); the rows
// are written through the registry's own sqlite Connection and Statement.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "registry/sqlite/statement.hpp"

namespace {

using estfleet::registry::sqlite::Connection;
using estfleet::registry::sqlite::OpenMode;
using estfleet::registry::sqlite::Statement;

// About the size of an issued EC P-256 device certificate in PEM (~820 bytes).
std::string filler_pem() {
  static const std::string line(64, 'A');
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (int i = 0; i < 12; ++i) {
    pem += line;
    pem += '\n';
  }
  pem += "-----END CERTIFICATE-----\n";
  return pem;
}

std::string hex(std::uint64_t value, int width) {
  std::string text(static_cast<std::size_t>(width), '0');
  static constexpr char digits[] = "0123456789ABCDEF";
  for (int i = width - 1; i >= 0 && value != 0; --i) {
    text[static_cast<std::size_t>(i)] = digits[value & 0xF];
    value >>= 4;
  }
  return text;
}

std::string policy_document(const std::string& thing) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],)"
         R"("Resource":["arn:aws:iot:eu-west-1:123456789012:client/)" +
         thing +
         R"("]},{"Effect":"Allow","Action":["iot:Publish","iot:Receive"],)"
         R"("Resource":["arn:aws:iot:eu-west-1:123456789012:topic/devices/)" +
         thing + R"(/*"]}]})";
}

void fill(const std::string& db, std::uint64_t count, const std::string& prefix,
          const std::string& profile) {
  estfleet::registry::SqliteStore::open(db);  // creates and migrates, then closes
  Connection c(db, OpenMode::read_write);
  c.execute("PRAGMA foreign_keys = ON", "fill setup failed");
  c.execute("PRAGMA cache_size = -262144", "fill setup failed");  // 256 MiB for the bulk insert
  Statement policy(c,
                   "INSERT INTO policies (name, version, document, created_at) "
                   "VALUES (?1, 1, ?2, ?3)");
  Statement thing(c,
                  "INSERT INTO things (name, profile, status, created_at, updated_at, "
                  "policy_name, policy_version) VALUES (?1, ?2, 'active', ?3, ?3, ?1, 1)");
  Statement cert(c,
                 "INSERT INTO certificates (serial, thing_name, subject, profile, not_before, "
                 "not_after, issued_at, status, pem, sha256_fingerprint, policy_version) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, 'active', ?7, ?8, 1)");
  Statement audit(c,
                  "INSERT INTO audit_log (time, actor, source_address, operation, profile, "
                  "thing_name, serial, result, reason) "
                  "VALUES (?1, 'fill', 'cli', 'simpleenroll', ?2, ?3, ?4, 'ok', '')");
  const std::string pem = filler_pem();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto started = std::chrono::steady_clock::now();
  c.execute("BEGIN IMMEDIATE", "fill failed");
  try {
    for (std::uint64_t i = 0; i < count; ++i) {
      char number[24];
      std::snprintf(number, sizeof number, "%08llu", static_cast<unsigned long long>(i));
      const std::string name = prefix + number;
      // Spread the keys the way random serials are: the index is not filled in order.
      const std::uint64_t mixed = (i + 1) * 0x9E3779B97F4A7C15ULL;
      const std::string serial = "F1" + hex(mixed, 16) + hex(i, 14);
      const std::string fingerprint = hex(mixed, 16) + hex(i, 16) + std::string(32, 'f');
      const std::int64_t issued = now - static_cast<std::int64_t>(i % 86400);
      policy.bind_text(1, name);
      policy.bind_text(2, policy_document(name));
      policy.bind_int64(3, issued);
      policy.run();
      policy.reset();
      thing.bind_text(1, name);
      thing.bind_text(2, profile);
      thing.bind_int64(3, issued);
      thing.run();
      thing.reset();
      cert.bind_text(1, serial);
      cert.bind_text(2, name);
      cert.bind_text(3, "CN=" + name);
      cert.bind_text(4, profile);
      cert.bind_int64(5, issued);
      cert.bind_int64(6, issued + std::int64_t{365} * 86400);
      cert.bind_text(7, pem);
      cert.bind_text(8, fingerprint);
      cert.run();
      cert.reset();
      audit.bind_int64(1, issued);
      audit.bind_text(2, profile);
      audit.bind_text(3, name);
      audit.bind_text(4, serial);
      audit.run();
      audit.reset();
    }
    c.execute("COMMIT", "fill commit failed");
  } catch (...) {
    c.execute("ROLLBACK", "fill rollback failed");
    throw;
  }
  c.execute("PRAGMA wal_checkpoint(TRUNCATE)", "fill checkpoint failed");
  c.execute("ANALYZE", "fill analyze failed");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "filled " << count << " things (thing, policy version, active certificate, audit "
            << "row each) in " << seconds << " s\n";
}

// The statements an enrollment and a re-enrollment run, as sqlite_store.cpp writes them (values
// are placeholders): each must be a search on an index, never a scan.
void explain(const std::string& db) {
  Connection c(db, OpenMode::read_only);
  // Each entry wrapped in std::string: a list of adjacent literals reads as a missing comma.
  const std::vector<std::string> hot_path = {
      std::string("SELECT name, password_hash, created_at FROM users WHERE name = 'x'"),
      std::string(
          "SELECT name, profile, status, created_at, updated_at, coalesce(policy_name, ''), "
          "coalesce(policy_version, 0) FROM things WHERE name = 'x'"),
      std::string("SELECT key, value FROM thing_attributes WHERE thing_name = 'x' ORDER BY key"),
      std::string("SELECT * FROM certificates WHERE thing_name = 'x' AND status = 'active'"),
      std::string("SELECT * FROM certificates WHERE serial = 'x'"),
      std::string("SELECT * FROM enrollment_requests WHERE thing_name = 'x' "
                  "AND status IN ('pending', 'approved')"),
      std::string(
          "SELECT * FROM enrollment_requests WHERE thing_name = 'x' AND public_key_sha256 = 'y' "
          "ORDER BY id DESC LIMIT 1"),
      std::string("SELECT * FROM policies WHERE name = 'x' ORDER BY version DESC LIMIT 1"),
      std::string(
          "INSERT INTO things (name, profile, created_at, updated_at) VALUES ('x', '', 1, 1) "
          "ON CONFLICT (name) DO UPDATE SET profile = excluded.profile, "
          "updated_at = excluded.updated_at"),
      std::string("INSERT INTO thing_attributes (thing_name, key, value) VALUES ('x', 'k', 'v') "
                  "ON CONFLICT (thing_name, key) DO UPDATE SET value = excluded.value"),
      std::string("UPDATE things SET policy_name = 'x', policy_version = 1 WHERE name = 'x'"),
      std::string(
          "INSERT INTO policies (name, version, document, created_at) VALUES ('x', 1, 'd', 1)"),
      std::string(
          "INSERT INTO certificates (serial, thing_name, subject, profile, not_before, not_after, "
          "issued_at, status, pem, sha256_fingerprint) "
          "VALUES ('s', 'x', '', '', 1, 2, 1, 'active', '', 'f')"),
      std::string(
          "UPDATE certificates SET status = 'superseded' WHERE serial = 'x' AND status = 'active' "
          "RETURNING thing_name"),
      std::string("SELECT * FROM certificates WHERE replaces = 'x'"),
      std::string("INSERT INTO audit_log (time, actor, source_address, operation, profile, "
                  "thing_name, serial, "
                  "result, reason) VALUES (1, '', '', '', '', '', '', '', '')"),
  };
  for (const auto& query : hot_path) {
    std::cout << query << "\n";
    Statement plan(c, "EXPLAIN QUERY PLAN " + query);
    bool any = false;
    while (plan.step()) {
      std::cout << "    " << plan.column_text(3) << "\n";
      any = true;
    }
    if (!any) {
      std::cout << "    (no table access)\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("fill an est-fleet registry with synthetic things, for benchmarking");
  std::string db;
  std::uint64_t things = 0;
  std::string prefix = "fill-";
  std::string profile;
  bool show_plans = false;
  app.add_option("--db", db, "the registry's SQLite file (DATA/registry.db)")->required();
  app.add_option("--things", things, "how many things to add")->check(CLI::PositiveNumber);
  app.add_option("--prefix", prefix, "ThingName prefix (names are PREFIX<8 digits>)");
  app.add_option("--profile", profile, "the EST label recorded for each (\"\" = default)");
  app.add_flag("--explain", show_plans, "print the query plan of every hot-path statement");
  CLI11_PARSE(app, argc, argv);
  if (things == 0 && !show_plans) {
    std::cerr << "est-registry-fill: give --things N, --explain, or both\n";
    return 2;
  }
  try {
    if (things > 0) {
      fill(db, things, prefix, profile);
    }
    if (show_plans) {
      explain(db);
    }
  } catch (const std::exception& e) {
    std::cerr << "est-registry-fill: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
