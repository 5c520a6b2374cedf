// The embedded registry: one SQLite file in WAL mode, durable on every commit.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/group_commit.hpp"
#include "registry/store.hpp"

namespace estfleet::registry {

namespace sqlite {
struct RevocationReads;
}

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

  // The thing's created_at/updated_at and a new policy version's created_at are
  // cert.issued_at. An empty policy_name leaves the thing's policy as it is and the certificate
  // under its current version; a policy_name without a document is std::invalid_argument.
  void record_enrollment(const CertificateRecord& cert, const ThingRegistration& registration,
                         const AuditEvent& audit) override;
  void record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) override;
  void revoke_certificate(const std::string& serial, const std::string& reason, UnixSeconds at,
                          const AuditEvent& audit) override;

  std::optional<CertificateRecord> find_certificate(const std::string& serial) override;
  std::vector<CertificateRecord> list_certificates(const std::string& thing_name) override;
  std::optional<CertificateRecord> active_certificate(const std::string& thing_name) override;

  std::optional<Thing> find_thing(const std::string& name) override;
  std::vector<Thing> list_things() override;
  // Revoked serials come back sorted. The audit row is appended even when nothing changed.
  std::vector<std::string> disable_thing(const std::string& name, const std::string& reason,
                                         UnixSeconds at, const AuditEvent& audit) override;
  // Its revoked certificates stay revoked: the device enrolls afresh.
  void enable_thing(const std::string& name, UnixSeconds at, const AuditEvent& audit) override;

  std::optional<PolicyVersion> find_policy(const std::string& name) override;
  std::vector<PolicyVersion> policy_versions(const std::string& name) override;

  EnrollmentRequest submit_request(const EnrollmentRequest& request,
                                   const AuditEvent& audit) override;
  std::optional<EnrollmentRequest> find_request(const std::string& thing_name,
                                                const std::string& public_key_sha256) override;
  std::vector<EnrollmentRequest> list_requests(std::optional<RequestStatus> status) override;
  EnrollmentRequest decide_request(const std::string& thing_name, bool approve,
                                   const std::string& operator_name, UnixSeconds at,
                                   const AuditEvent& audit) override;

  // Revocation (sqlite_revocation.cpp).
  std::vector<RevocationLookup> revocation_entries_for(
      const std::vector<std::string>& serials) override;
  std::vector<RevocationEntry> revocation_entries(UnixSeconds not_expired_at) override;
  CrlDraft prepare_crl(UnixSeconds not_expired_at) override;
  PublishedCrl publish_crl(const PublishedCrl& crl) override;
  std::optional<PublishedCrl> published_crl() override;
  std::int64_t published_crl_number() override;

  void append_audit(const AuditEvent& event) override;
  std::vector<AuditEvent> audit_since(UnixSeconds since) override;

  // Operations (sqlite_stats.cpp).
  RegistryStats stats(UnixSeconds now) override;
  void ping() override;

  // Broker sync state (sqlite_broker_sync.cpp); triggers of migration 5 bump `desired`.
  std::vector<BrokerSyncState> broker_sync_states(bool pending_only, std::size_t limit) override;
  std::int64_t broker_pending_count() override;
  void mark_broker_applied(const std::string& thing_name, std::int64_t generation) override;

  // Replacing a user changes the password hash and keeps the original created_at.
  void put_user(const User& user, const AuditEvent& audit, bool replace) override;
  std::optional<User> find_user(const std::string& name) override;

 private:
  struct Statements;

  SqliteStore(const std::string& path, sqlite::OpenMode mode);

  // The bodies of the writes that go through group_commit_: run by the batch's leader, inside
  // the batch's transaction and the write's own savepoint.
  void record_enrollment_in_batch(const CertificateRecord& cert,
                                  const ThingRegistration& registration, const AuditEvent& audit);
  void record_reenrollment_in_batch(const CertificateRecord& cert, const AuditEvent& audit);
  void insert_certificate(const CertificateRecord& cert);
  void insert_audit(const AuditEvent& event);
  std::optional<CertificateRecord> find_certificate_locked(const std::string& serial);
  std::optional<Thing> find_thing_locked(const std::string& name);
  std::optional<Thing> find_thing_with(Statements& statements, const std::string& name);
  // Stores the document as a new version unless it is the latest one; returns its version.
  int store_policy(const std::string& name, const std::string& document, UnixSeconds at);
  void mark_request_issued(std::int64_t id, const std::string& thing_name,
                           const std::string& profile);
  std::optional<EnrollmentRequest> find_request_by_id_locked(std::int64_t id);
  std::optional<EnrollmentRequest> open_request_locked(const std::string& thing_name);

  // One connection for every thread: the server's writes are short, and one writer at a time is
  // all SQLite allows anyway. The mutex also guards the cached statements.
  std::mutex mutex_;
  sqlite::Connection connection_;
  std::unique_ptr<Statements> statements_;  // declared after connection_: finalized before close
  // Enrollments, re-enrollments and audit rows from many request threads share one COMMIT (and
  // one fsync) per batch; each caller still returns only after its batch is durable.
  std::unique_ptr<sqlite::GroupCommit> group_commit_;
  // The lookups on the request path (user, thing, certificate) read through a second, read-only
  // connection: in WAL mode it sees every committed write and never waits for a batch's fsync.
  std::mutex reader_mutex_;
  std::unique_ptr<sqlite::Connection> reader_;
  std::unique_ptr<Statements> reader_statements_;  // declared after reader_: finalized before close
  std::unique_ptr<sqlite::RevocationReads> revocation_reads_;  // on reader_, under reader_mutex_
};

}  // namespace estfleet::registry
