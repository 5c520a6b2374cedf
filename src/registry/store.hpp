// The registry: certificates, users and the audit log behind one interface, so SQLite (embedded
// default) and PostgreSQL (shared) are interchangeable. Every method is atomic: it either
// commits all it writes or throws and leaves the store unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace estfleet::registry {

using UnixSeconds = std::int64_t;

enum class CertificateStatus { active, superseded, revoked };
std::string_view to_string(CertificateStatus status);
std::optional<CertificateStatus> parse_certificate_status(std::string_view text);

struct CertificateRecord {
  std::string serial;  // upper-case hex, unique
  std::string thing_name;
  std::string subject;  // RFC 2253 text
  std::string profile;  // the EST label it was issued under ("" = default)
  UnixSeconds not_before = 0;
  UnixSeconds not_after = 0;
  UnixSeconds issued_at = 0;
  CertificateStatus status = CertificateStatus::active;
  std::string pem;
  std::string sha256_fingerprint;       // lower-case hex
  std::optional<std::string> replaces;  // serial this one renewed, if any
  std::optional<UnixSeconds> revoked_at;
  std::string revocation_reason;  // RFC 5280 reason name, "" unless revoked
};

struct AuditEvent {
  std::int64_t id = 0;  // assigned by the store
  UnixSeconds time = 0;
  std::string actor;           // authenticated principal: user name, cert subject, "operator"
  std::string source_address;  // peer IP, or "cli"
  std::string operation;       // "simpleenroll", "simplereenroll", "revoke", "user-add", ...
  std::string profile;
  std::string thing_name;
  std::string serial;
  std::string result;  // "ok", "refused", "error"
  std::string reason;  // one sentence when refused or error
};

struct User {
  std::string name;
  std::string password_hash;  // crypto::hash_password() format
  UnixSeconds created_at = 0;
};

// The thing already holds an active certificate (initial enrollment cannot take it over), or a
// serial or user name is already taken.
class ConflictError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The store cannot be read or written (I/O error, disk full, read-only, locked too long).
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The named record does not exist.
class NotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;

  // Initial enrollment: inserts `cert` (status active) and `audit` in one transaction. Throws
  // ConflictError if the thing already has an active certificate or the serial exists.
  virtual void record_enrollment(const CertificateRecord& cert, const AuditEvent& audit) = 0;

  // Re-enrollment: in one transaction, marks `cert.replaces` superseded (it must be active),
  // inserts `cert` as active, appends `audit`. ConflictError if the old one is no longer active.
  virtual void record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) = 0;

  // Marks the certificate revoked (idempotent for an already revoked one: keeps the first
  // reason). NotFoundError if unknown.
  virtual void revoke_certificate(const std::string& serial, const std::string& reason,
                                  UnixSeconds at, const AuditEvent& audit) = 0;

  virtual std::optional<CertificateRecord> find_certificate(const std::string& serial) = 0;
  // Newest first. Empty thing_name: all certificates.
  virtual std::vector<CertificateRecord> list_certificates(const std::string& thing_name) = 0;
  virtual std::optional<CertificateRecord> active_certificate(const std::string& thing_name) = 0;

  virtual void append_audit(const AuditEvent& event) = 0;
  virtual std::vector<AuditEvent> audit_since(UnixSeconds since) = 0;  // oldest first

  // ConflictError if the name exists and `replace` is false.
  virtual void put_user(const User& user, const AuditEvent& audit, bool replace) = 0;
  virtual std::optional<User> find_user(const std::string& name) = 0;
};

}  // namespace estfleet::registry
