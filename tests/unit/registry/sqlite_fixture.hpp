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

inline CertificateRecord make_cert(const std::string& serial, const std::string& thing,
                                   UnixSeconds issued_at = 1'700'000'000) {
  CertificateRecord cert;
  cert.serial = serial;
  cert.thing_name = thing;
  cert.subject = "CN=" + thing;
  cert.profile = "factory";
  cert.not_before = issued_at - 60;
  cert.not_after = issued_at + 86'400;
  cert.issued_at = issued_at;
  cert.pem = "-----BEGIN CERTIFICATE-----\n" + serial + "\n-----END CERTIFICATE-----\n";
  cert.sha256_fingerprint = "fp-" + serial;
  return cert;
}

// No policy and no attributes: enough for tests about certificates alone.
inline ThingRegistration make_registration(const std::string& profile = "factory") {
  ThingRegistration registration;
  registration.profile = profile;
  return registration;
}

inline ThingRegistration make_registration_with_policy(const std::string& thing,
                                                       const std::string& document) {
  ThingRegistration registration = make_registration();
  registration.policy_name = thing;
  registration.policy_document = document;
  return registration;
}

inline AuditEvent make_audit(const std::string& operation, const std::string& thing,
                             const std::string& serial, UnixSeconds time = 1'700'000'000) {
  AuditEvent event;
  event.time = time;
  event.actor = "CN=bootstrap";
  event.source_address = "127.0.0.1";
  event.operation = operation;
  event.profile = "factory";
  event.thing_name = thing;
  event.serial = serial;
  event.result = "ok";
  return event;
}

inline CertificateRecord make_renewal(const std::string& serial, const std::string& thing,
                                      const std::string& replaces,
                                      UnixSeconds issued_at = 1'700'000'100) {
  CertificateRecord cert = make_cert(serial, thing, issued_at);
  cert.replaces = replaces;
  return cert;
}

}  // namespace estfleet::registry::testing
