// The shared registry: PostgreSQL, for several est-server instances over one database. Same
// semantics as SqliteStore, call for call; the database enforces the same invariants.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "registry/postgres/pool.hpp"
#include "registry/store.hpp"

namespace estfleet::registry {

struct PostgresOptions {
  std::size_t pool_size = 8;  // connections at most, opened on demand
  // How long a call waits for a free connection before StoreUnavailable.
  std::chrono::milliseconds pool_wait{5000};
  bool read_only = false;  // inspection tools: no migrations, every session read-only
};

class PostgresStore final : public Store {
 public:
  // `conninfo`: a libpq URI (postgresql://…) or key=value string; the password may come from it,
  // from PGPASSFILE or ~/.pgpass. Connects, and (read-write) applies missing migrations under an
  // advisory lock. StoreUnavailable when the server cannot be reached or its schema is unusable.
  static std::unique_ptr<PostgresStore> open(const std::string& conninfo,
                                             const PostgresOptions& options = {});
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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
  std::vector<std::string> disable_thing(const std::string& name, const std::string& reason,
                                         UnixSeconds at, const AuditEvent& audit) override;
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

  std::vector<RevocationLookup> revocation_entries_for(
      const std::vector<std::string>& serials) override;
  std::vector<RevocationEntry> revocation_entries(UnixSeconds not_expired_at) override;
  CrlDraft prepare_crl(UnixSeconds not_expired_at) override;
  PublishedCrl publish_crl(const PublishedCrl& crl) override;
  std::optional<PublishedCrl> published_crl() override;
  std::int64_t published_crl_number() override;

  void append_audit(const AuditEvent& event) override;
  std::vector<AuditEvent> audit_since(UnixSeconds since) override;

  RegistryStats stats(UnixSeconds now) override;
  void ping() override;

  // Broker sync state; the triggers of migration 5 bump `desired`.
  std::vector<BrokerSyncState> broker_sync_states(bool pending_only, std::size_t limit) override;
  std::int64_t broker_pending_count() override;
  void mark_broker_applied(const std::string& thing_name, std::int64_t generation) override;

  void put_user(const User& user, const AuditEvent& audit, bool replace) override;
  std::optional<User> find_user(const std::string& name) override;

 private:
  PostgresStore(const std::string& conninfo, const PostgresOptions& options);

  postgres::Pool pool_;
};

}  // namespace estfleet::registry
