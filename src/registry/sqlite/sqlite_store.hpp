// The embedded registry: one SQLite file in WAL mode, durable on every commit.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "registry/sqlite/connection.hpp"
#include "registry/store.hpp"

namespace estfleet::registry {

class SqliteStore final : public Store {
 public:
  // Read-write creates the file (mode 0600) when missing and brings its schema up to date.
  // Read-only is for inspection tools: the schema must already be current. StoreUnavailable
  // when the file cannot be opened or its schema is not one this program can use.
  static std::unique_ptr<SqliteStore> open(const std::string& path,
                                           sqlite::OpenMode mode = sqlite::OpenMode::read_write);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void record_enrollment(const CertificateRecord& cert, const AuditEvent& audit) override;
  void record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) override;
  void revoke_certificate(const std::string& serial, const std::string& reason, UnixSeconds at,
                          const AuditEvent& audit) override;

  std::optional<CertificateRecord> find_certificate(const std::string& serial) override;
  std::vector<CertificateRecord> list_certificates(const std::string& thing_name) override;
  std::optional<CertificateRecord> active_certificate(const std::string& thing_name) override;

  void append_audit(const AuditEvent& event) override;
  std::vector<AuditEvent> audit_since(UnixSeconds since) override;

  // Replacing a user changes the password hash and keeps the original created_at.
  void put_user(const User& user, const AuditEvent& audit, bool replace) override;
  std::optional<User> find_user(const std::string& name) override;

 private:
  struct Statements;

  SqliteStore(const std::string& path, sqlite::OpenMode mode);

  void insert_certificate(const CertificateRecord& cert);
  void insert_audit(const AuditEvent& event);
  std::optional<CertificateRecord> find_certificate_locked(const std::string& serial);

  // One connection for every thread: the server's writes are short, and one writer at a time is
  // all SQLite allows anyway. The mutex also guards the cached statements.
  std::mutex mutex_;
  sqlite::Connection connection_;
  std::unique_ptr<Statements> statements_;  // declared after connection_: finalized before close
};

}  // namespace estfleet::registry
