// The registry: certificates, users and the audit log behind one interface, so SQLite (embedded
// default) and PostgreSQL (shared) are interchangeable. Every method is atomic: it either
// commits all it writes or throws and leaves the store unchanged.
#pragma once

#include <cstdint>
#include <map>
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

enum class ThingStatus { active, disabled };
std::string_view to_string(ThingStatus status);
std::optional<ThingStatus> parse_thing_status(std::string_view text);

// A registered device. Its identity is the name (the certificate CN); its rights are the latest
// version of the policy named after it.
struct Thing {
  std::string name;
  std::string profile;                            // the EST label it last enrolled under
  std::map<std::string, std::string> attributes;  // e.g. "Region" from client_config.json
  ThingStatus status = ThingStatus::active;
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;
  std::string policy_name;  // "" until a policy is attached
  int policy_version = 0;
};

// One version of a stored AWS IoT policy document. Versions count from 1 and are never changed:
// a new document is a new version.
struct PolicyVersion {
  std::string name;
  int version = 0;
  std::string document;  // policy::to_json_text() of the document
  UnixSeconds created_at = 0;
};

// What an initial enrollment registers besides the certificate, written in the same transaction.
struct ThingRegistration {
  std::string profile;
  std::map<std::string, std::string> attributes;  // merged into the thing's (new keys win)
  std::string policy_name;                        // the thing's name, by convention
  std::string policy_document;  // a new version is stored only when it differs from the latest
  // The approved EnrollmentRequest this enrollment fulfils, made under `profile`; marked issued in
  // the same transaction.
  std::optional<std::int64_t> fulfils_request;
};

enum class RequestStatus { pending, approved, rejected, issued };
std::string_view to_string(RequestStatus status);
std::optional<RequestStatus> parse_request_status(std::string_view text);

// An initial enrollment waiting for an operator (profiles with approval = "manual"). A device is
// recognised on retry by its ThingName and public key, since a PoP CSR differs on every connection;
// the approval holds only for the profile and the content the request was made with.
struct EnrollmentRequest {
  std::int64_t id = 0;  // assigned by the store
  std::string thing_name;
  std::string profile;
  std::string public_key_sha256;  // lower-case hex of the SubjectPublicKeyInfo DER digest
  // Lower-case hex digest of what the CSR asks for besides the key (subject, subjectAltName, IoT
  // details, attributes): an approval is for that content only. Empty only in requests decided
  // before schema version 3.
  std::string content_sha256;
  std::string requested_by;  // the authenticated principal
  std::string source_address;
  UnixSeconds requested_at = 0;
  RequestStatus status = RequestStatus::pending;
  std::string decided_by;  // operator, "" while pending
  std::optional<UnixSeconds> decided_at;
};

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
  // The policy version in force for this certificate (0: none); set by the store on enrollment.
  int policy_version = 0;
  // The authenticated principal that enrolled it, and the digest of what its CSR asked for besides
  // the key (est::requested_content_sha256): an initial enrollment asked again with the same key,
  // by the same principal, for the same content is answered with this certificate. Both "" for
  // renewals and for certificates recorded before schema version 6.
  std::string enrolled_by;
  std::string content_sha256;
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

// What relying parties need to know about a certificate that is no longer active: the CRL and
// OCSP answers are made from these.
struct RevocationEntry {
  std::string serial;
  std::string thing_name;
  std::string profile;
  CertificateStatus status = CertificateStatus::active;
  UnixSeconds not_after = 0;
  std::optional<UnixSeconds> revoked_at;  // revoked only
  std::string revocation_reason;          // revoked only, RFC 5280 name
  // When it was superseded: the issued_at of the certificate that renewed it. Set for superseded
  // certificates, and for revoked ones that had been renewed before.
  std::optional<UnixSeconds> superseded_at;
};

// A registered certificate as an OCSP answer needs it: its revocation entry, and the certificate
// itself (PEM), which alone says which CA signed it while two share the registry (a CA rollover).
struct RevocationLookup {
  RevocationEntry entry;
  std::string pem;
};

// A CRL being made: its number, handed out in the same transaction that read the entries, so a
// higher number never lists less than a lower one saw.
struct CrlDraft {
  std::int64_t number = 0;
  std::vector<RevocationEntry> entries;  // by serial
};

// The newest CRL signed for this registry, kept so every process serves the same one.
struct PublishedCrl {
  std::int64_t number = 0;
  UnixSeconds this_update = 0;
  UnixSeconds next_update = 0;
  std::string pem;
};

// What the operations endpoints report about the registry's size, counted at one moment.
struct RegistryStats {
  std::int64_t things = 0;
  std::map<CertificateStatus, std::int64_t> certificates;  // every status, zero included
  // Active certificates with now < not_after <= now + 7 days (30 days).
  std::int64_t expiring_within_7d = 0;
  std::int64_t expiring_within_30d = 0;
};

// The MQTT broker's view of one thing (see docs/broker.md). `desired` is bumped in the same
// transaction as every change of what the broker must enforce for the thing: the thing is
// created, its status or policy version changes, one of its certificates is issued, renewed or
// revoked. `applied` is the generation the broker last confirmed. Pending while desired > applied.
struct BrokerSyncState {
  std::string thing_name;
  std::int64_t desired = 0;
  std::int64_t applied = 0;
  bool pending() const { return desired > applied; }
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
// The thing is disabled: nothing may be issued to it until an operator enables it again.
class ThingDisabledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why approved enrollment request `id` could not be marked issued to `thing_name` under
// `profile`, given the request as the store holds it (nullopt: there is none). Always throws
// ConflictError; shared so that every store refuses in the same words.
[[noreturn]] void refuse_request_fulfilment(std::int64_t id,
                                            const std::optional<EnrollmentRequest>& request,
                                            const std::string& thing_name,
                                            const std::string& profile);
// The named record does not exist.
class NotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Store {
 public:
  virtual ~Store() = default;

  // Initial enrollment, in one transaction: creates the thing `cert.thing_name` or updates its
  // profile and attributes, stores the policy document as a new version when it differs from
  // the latest, marks an active certificate of the thing that expired before `cert.issued_at`
  // superseded (and names it in `cert`'s replaces), inserts `cert` (status active, attached to
  // that policy version), marks the fulfilled request issued, and appends `audit`. Throws
  // ConflictError if the thing already has an unexpired active certificate, the serial exists,
  // or the fulfilled request is not this thing's approved one under this profile;
  // ThingDisabledError if the thing is disabled.
  virtual void record_enrollment(const CertificateRecord& cert,
                                 const ThingRegistration& registration,
                                 const AuditEvent& audit) = 0;

  // Re-enrollment: in one transaction, marks `cert.replaces` superseded (it must be active),
  // inserts `cert` as active under the thing's current policy version, appends `audit`.
  // ConflictError if the old one is no longer active, ThingDisabledError if the thing is.
  virtual void record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) = 0;

  // Marks the certificate revoked (idempotent for an already revoked one: keeps the first
  // reason). NotFoundError if unknown.
  virtual void revoke_certificate(const std::string& serial, const std::string& reason,
                                  UnixSeconds at, const AuditEvent& audit) = 0;

  virtual std::optional<CertificateRecord> find_certificate(const std::string& serial) = 0;
  // Newest first. Empty thing_name: all certificates.
  virtual std::vector<CertificateRecord> list_certificates(const std::string& thing_name) = 0;
  virtual std::optional<CertificateRecord> active_certificate(const std::string& thing_name) = 0;

  virtual std::optional<Thing> find_thing(const std::string& name) = 0;
  virtual std::vector<Thing> list_things() = 0;  // by name
  // In one transaction: status disabled, every active or superseded certificate of the thing
  // revoked with `reason` (RFC 5280 name, e.g. "cessationOfOperation"), `audit` appended. Returns
  // the serials it revoked. NotFoundError if unknown; a disabled thing stays disabled (no-op).
  virtual std::vector<std::string> disable_thing(const std::string& name, const std::string& reason,
                                                 UnixSeconds at, const AuditEvent& audit) = 0;
  virtual void enable_thing(const std::string& name, UnixSeconds at, const AuditEvent& audit) = 0;

  virtual std::optional<PolicyVersion> find_policy(const std::string& name) = 0;    // latest
  virtual std::vector<PolicyVersion> policy_versions(const std::string& name) = 0;  // oldest first

  // Inserts a pending request (id assigned and returned). ConflictError if the thing already has
  // a pending or approved request for another public key, or for the same key under another
  // profile or for other content, or an active certificate. An open request for the same key,
  // profile and content is returned as it is, without a second row (a device retrying).
  // std::invalid_argument when the key or content digest is empty.
  virtual EnrollmentRequest submit_request(const EnrollmentRequest& request,
                                           const AuditEvent& audit) = 0;
  // The newest request for this thing and key, any status.
  virtual std::optional<EnrollmentRequest> find_request(const std::string& thing_name,
                                                        const std::string& public_key_sha256) = 0;
  // Oldest first; nullopt status: all.
  virtual std::vector<EnrollmentRequest> list_requests(std::optional<RequestStatus> status) = 0;
  // pending -> approved or rejected; approved (not yet issued) -> rejected, which withdraws an
  // approval. NotFoundError if the thing has no such request.
  virtual EnrollmentRequest decide_request(const std::string& thing_name, bool approve,
                                           const std::string& operator_name, UnixSeconds at,
                                           const AuditEvent& audit) = 0;

  // Revocation. Its reads serve unauthenticated clients (OCSP, GET /crl), so none of them waits
  // for a write in progress: SQLite runs them on its reader connection, PostgreSQL as single
  // autocommit statements.
  //
  // The registered certificates among `serials` (any status), in one query whatever their number;
  // unknown serials are left out, one named twice comes back once; no order.
  virtual std::vector<RevocationLookup> revocation_entries_for(
      const std::vector<std::string>& serials) = 0;
  // Every revoked or superseded certificate with not_after >= `not_expired_at`, by serial.
  virtual std::vector<RevocationEntry> revocation_entries(UnixSeconds not_expired_at) = 0;
  // In one transaction: the next CRL number (1, 2, ...) and revocation_entries(not_expired_at).
  virtual CrlDraft prepare_crl(UnixSeconds not_expired_at) = 0;
  // Keeps `crl` as the published one unless one with a higher number is already kept; returns
  // the one kept. std::invalid_argument for a number prepare_crl never handed out.
  virtual PublishedCrl publish_crl(const PublishedCrl& crl) = 0;
  virtual std::optional<PublishedCrl> published_crl() = 0;
  // The published CRL's number (0 while there is none): a one-integer read, so a server can keep
  // the CRL in memory and read it again only when another process published a newer one.
  virtual std::int64_t published_crl_number() = 0;

  virtual void append_audit(const AuditEvent& event) = 0;
  virtual std::vector<AuditEvent> audit_since(UnixSeconds since) = 0;  // oldest first

  // Counts for the metrics endpoint, by aggregate queries (no rows are loaded).
  virtual RegistryStats stats(UnixSeconds now) = 0;
  // A trivial read for the readiness probe; StoreUnavailable when the store cannot answer.
  virtual void ping() = 0;

  // Broker sync state, by thing name: every thing's, or only the pending ones (at most `limit`;
  // 0 = no limit).
  virtual std::vector<BrokerSyncState> broker_sync_states(bool pending_only, std::size_t limit) = 0;
  // How many things are pending, by an aggregate query on an index.
  virtual std::int64_t broker_pending_count() = 0;
  // The broker holds the thing as it was at `generation` (a `desired` read before applying):
  // applied = max(applied, generation). A thing changed since stays pending. NotFoundError for an
  // unknown thing; std::invalid_argument for a generation beyond the thing's desired one.
  virtual void mark_broker_applied(const std::string& thing_name, std::int64_t generation) = 0;

  // ConflictError if the name exists and `replace` is false.
  virtual void put_user(const User& user, const AuditEvent& audit, bool replace) = 0;
  virtual std::optional<User> find_user(const std::string& name) = 0;
};

}  // namespace estfleet::registry
