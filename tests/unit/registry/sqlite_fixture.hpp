// A fresh registry file in its own temporary folder per test, and records to fill it with.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "registry/sqlite/sqlite_store.hpp"

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
