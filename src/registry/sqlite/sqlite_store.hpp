// The embedded registry: one SQLite file in WAL mode with synchronous=FULL, so a certificate is
// on disk before the response that carries it is written.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "registry/sqlite/statement.hpp"
#include "registry/store.hpp"

namespace estfleet::registry {

class SqliteStore final : public Store {
 public:
  // Opens (creating with mode 0600 if missing) and migrates. Throws StoreUnavailable naming the
  // file when it cannot be opened or migrated.
  static std::unique_ptr<SqliteStore> open(const std::string& path);
  ~SqliteStore() override;

  void record_enrollment(const CertificateRecord& cert, const AuditEvent& audit) override;
  void record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) override;
  void revoke_certificate(const std::string& serial, const std::string& reason, UnixSeconds at,
                          const AuditEvent& audit) override;
  std::optional<CertificateRecord> find_certificate(const std::string& serial) override;
  std::vector<CertificateRecord> list_certificates(const std::string& thing_name) override;
  std::optional<CertificateRecord> active_certificate(const std::string& thing_name) override;
  void append_audit(const AuditEvent& event) override;
  std::vector<AuditEvent> audit_since(UnixSeconds since) override;
  void put_user(const User& user, const AuditEvent& audit, bool replace) override;
  std::optional<User> find_user(const std::string& name) override;

  int schema_version();

 private:
  struct Statements;
  explicit SqliteStore(sqlite::ConnectionPtr db);
  void insert_certificate(const CertificateRecord& cert);
  void insert_audit(const AuditEvent& event);
  bool find_certificate_unlocked_exists(const std::string& serial);

  // One connection, one writer at a time: SQLite serialises writers anyway, and a mutex is
  // cheaper than SQLITE_BUSY retries.
  std::mutex mutex_;
  sqlite::ConnectionPtr db_;
  std::unique_ptr<Statements> statements_;
};

}  // namespace estfleet::registry
