// A Store that forwards every call to a real one and counts the revocation reads, so tests can
// show how often OCSP and GET /crl reach the registry.
#pragma once

#include <atomic>

#include "registry/store.hpp"

namespace estfleet::testing {

class CountingStore final : public registry::Store {
 public:
  explicit CountingStore(registry::Store& real) : real_(real) {}

  std::atomic<int> entries_for_calls{0};
  std::atomic<int> published_crl_calls{0};
  std::atomic<int> published_crl_number_calls{0};
  std::atomic<int> find_certificate_calls{0};

  std::vector<registry::RevocationLookup> revocation_entries_for(
      const std::vector<std::string>& serials) override {
    ++entries_for_calls;
    return real_.revocation_entries_for(serials);
  }
  std::optional<registry::PublishedCrl> published_crl() override {
    ++published_crl_calls;
    return real_.published_crl();
  }
  std::int64_t published_crl_number() override {
    ++published_crl_number_calls;
    return real_.published_crl_number();
  }
  std::optional<registry::CertificateRecord> find_certificate(const std::string& serial) override {
    ++find_certificate_calls;
    return real_.find_certificate(serial);
  }

  void record_enrollment(const registry::CertificateRecord& cert,
                         const registry::ThingRegistration& registration,
                         const registry::AuditEvent& audit) override {
    real_.record_enrollment(cert, registration, audit);
  }
  void record_reenrollment(const registry::CertificateRecord& cert,
                           const registry::AuditEvent& audit) override {
    real_.record_reenrollment(cert, audit);
  }
  void revoke_certificate(const std::string& serial, const std::string& reason,
                          registry::UnixSeconds at, const registry::AuditEvent& audit) override {
    real_.revoke_certificate(serial, reason, at, audit);
  }
  std::vector<registry::CertificateRecord> list_certificates(
      const std::string& thing_name) override {
    return real_.list_certificates(thing_name);
  }
  std::optional<registry::CertificateRecord> active_certificate(
      const std::string& thing_name) override {
    return real_.active_certificate(thing_name);
  }
  std::optional<registry::Thing> find_thing(const std::string& name) override {
    return real_.find_thing(name);
  }
  std::vector<registry::Thing> list_things() override { return real_.list_things(); }
  std::vector<std::string> disable_thing(const std::string& name, const std::string& reason,
                                         registry::UnixSeconds at,
                                         const registry::AuditEvent& audit) override {
    return real_.disable_thing(name, reason, at, audit);
  }
  void enable_thing(const std::string& name, registry::UnixSeconds at,
                    const registry::AuditEvent& audit) override {
    real_.enable_thing(name, at, audit);
  }
  std::optional<registry::PolicyVersion> find_policy(const std::string& name) override {
    return real_.find_policy(name);
  }
  std::vector<registry::PolicyVersion> policy_versions(const std::string& name) override {
    return real_.policy_versions(name);
  }
  registry::EnrollmentRequest submit_request(const registry::EnrollmentRequest& request,
                                             const registry::AuditEvent& audit) override {
    return real_.submit_request(request, audit);
  }
  std::optional<registry::EnrollmentRequest> find_request(
      const std::string& thing_name, const std::string& public_key_sha256) override {
    return real_.find_request(thing_name, public_key_sha256);
  }
  std::vector<registry::EnrollmentRequest> list_requests(
      std::optional<registry::RequestStatus> status) override {
    return real_.list_requests(status);
  }
  registry::EnrollmentRequest decide_request(const std::string& thing_name, bool approve,
                                             const std::string& operator_name,
                                             registry::UnixSeconds at,
                                             const registry::AuditEvent& audit) override {
    return real_.decide_request(thing_name, approve, operator_name, at, audit);
  }
  std::vector<registry::RevocationEntry> revocation_entries(
      registry::UnixSeconds not_expired_at) override {
    return real_.revocation_entries(not_expired_at);
  }
  registry::CrlDraft prepare_crl(registry::UnixSeconds not_expired_at) override {
    return real_.prepare_crl(not_expired_at);
  }
  registry::PublishedCrl publish_crl(const registry::PublishedCrl& crl) override {
    return real_.publish_crl(crl);
  }
  void append_audit(const registry::AuditEvent& event) override { real_.append_audit(event); }
  std::vector<registry::AuditEvent> audit_since(registry::UnixSeconds since) override {
    return real_.audit_since(since);
  }
  registry::RegistryStats stats(registry::UnixSeconds now) override { return real_.stats(now); }
  void ping() override { real_.ping(); }
  std::vector<registry::BrokerSyncState> broker_sync_states(bool pending_only,
                                                            std::size_t limit) override {
    return real_.broker_sync_states(pending_only, limit);
  }
  std::int64_t broker_pending_count() override { return real_.broker_pending_count(); }
  void mark_broker_applied(const std::string& thing_name, std::int64_t generation) override {
    real_.mark_broker_applied(thing_name, generation);
  }
  void put_user(const registry::User& user, const registry::AuditEvent& audit,
                bool replace) override {
    real_.put_user(user, audit, replace);
  }
  std::optional<registry::User> find_user(const std::string& name) override {
    return real_.find_user(name);
  }

 private:
  registry::Store& real_;
};

}  // namespace estfleet::testing
