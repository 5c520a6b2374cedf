// PostgresStore: every call is one transaction (or, for a single-statement read, one statement)
// on a pooled connection. Writers run READ COMMITTED and lock, in one order (thing row, then
// certificate rows), what their decision depends on, so concurrent calls on several servers
// serialise where they must; uniqueness is left to the database's indexes, never checked first.
#include "registry/postgres/postgres_store.hpp"

#include <algorithm>

#include "registry/postgres/migrations.hpp"

namespace estfleet::registry {

using postgres::Access;
using postgres::Connection;
using postgres::ConstraintViolation;
using postgres::param;
using postgres::Params;
using postgres::Result;

namespace {

// A prepared statement: its name on every connection and its text.
struct Sql {
  const char* name;
  const char* text;
};

Result run(Connection& connection, const Sql& sql, const Params& params) {
  return connection.run(sql.name, sql.text, params);
}

#define EST_CERTIFICATE_COLUMNS                                                                \
  "serial, thing_name, subject, profile, not_before, not_after, issued_at, status, pem, "      \
  "sha256_fingerprint, replaces, revoked_at, revocation_reason, policy_version, enrolled_by, " \
  "content_sha256"
#define EST_THING_COLUMNS                                                      \
  "name, profile, status, created_at, updated_at, coalesce(policy_name, ''), " \
  "coalesce(policy_version, 0)"
#define EST_POLICY_COLUMNS "name, version, document, created_at"
#define EST_REQUEST_COLUMNS                                                                  \
  "id, thing_name, profile, public_key_sha256, requested_by, source_address, requested_at, " \
  "status, decided_by, decided_at, content_sha256"
#define EST_AUDIT_COLUMNS \
  "time, actor, source_address, operation, profile, thing_name, serial, result, reason"
// superseded_at is the issue time of the renewal, found through the replaces index.
#define EST_ENTRY_COLUMNS                                                           \
  "SELECT c.serial, c.thing_name, c.profile, c.status, c.not_after, c.revoked_at, " \
  "c.revocation_reason, "                                                           \
  "(SELECT min(n.issued_at) FROM certificates AS n WHERE n.replaces = c.serial)"
#define EST_ENTRY_SELECT EST_ENTRY_COLUMNS " FROM certificates AS c "

constexpr Sql kInsertCertificate{
    "insert_certificate",
    "INSERT INTO certificates (" EST_CERTIFICATE_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"};
constexpr Sql kSupersede{"supersede",
                         "UPDATE certificates SET status = 'superseded' "
                         "WHERE serial = $1 AND status = 'active' RETURNING thing_name"};
constexpr Sql kSupersedeExpired{"supersede_expired",
                                "UPDATE certificates SET status = 'superseded' "
                                "WHERE thing_name = $1 AND status = 'active' AND not_after < $2 "
                                "RETURNING serial"};
constexpr Sql kRevoke{"revoke",
                      "UPDATE certificates SET status = 'revoked', revoked_at = $2, "
                      "revocation_reason = $3 WHERE serial = $1 AND status <> 'revoked'"};
constexpr Sql kFindCertificate{
    "find_certificate", "SELECT " EST_CERTIFICATE_COLUMNS " FROM certificates WHERE serial = $1"};
constexpr Sql kListAll{"list_all", "SELECT " EST_CERTIFICATE_COLUMNS
                                   " FROM certificates ORDER BY issued_at DESC, row_id DESC"};
constexpr Sql kListByThing{"list_by_thing", "SELECT " EST_CERTIFICATE_COLUMNS
                                            " FROM certificates WHERE thing_name = $1 "
                                            "ORDER BY issued_at DESC, row_id DESC"};
constexpr Sql kActiveByThing{"active_by_thing",
                             "SELECT " EST_CERTIFICATE_COLUMNS
                             " FROM certificates WHERE thing_name = $1 AND status = 'active'"};
constexpr Sql kRevokeByThing{"revoke_by_thing",
                             "UPDATE certificates SET status = 'revoked', revoked_at = $2, "
                             "revocation_reason = $3 WHERE thing_name = $1 "
                             "AND status IN ('active', 'superseded') RETURNING serial"};
constexpr Sql kFindThing{"find_thing", "SELECT " EST_THING_COLUMNS " FROM things WHERE name = $1"};
// The row lock a re-enrollment or request takes so that a concurrent disable (which updates the
// row) waits for it, or it for the disable.
constexpr Sql kLockThing{"lock_thing",
                         "SELECT status, coalesce(policy_version, 0) FROM things "
                         "WHERE name = $1 FOR SHARE"};
constexpr Sql kThingExists{"thing_exists", "SELECT 1 FROM things WHERE name = $1"};
constexpr Sql kListThings{"list_things",
                          "SELECT " EST_THING_COLUMNS " FROM things ORDER BY name COLLATE \"C\""};
constexpr Sql kAttributesOf{
    "attributes_of", "SELECT key, value FROM thing_attributes WHERE thing_name = $1 ORDER BY key"};
constexpr Sql kAllAttributes{"all_attributes",
                             "SELECT thing_name, key, value FROM thing_attributes "
                             "ORDER BY thing_name COLLATE \"C\", key"};
// Inserts or updates, and locks the row either way; returns the status and policy version the
// thing has now (an insert waits for a concurrent insert of the same name, then updates).
constexpr Sql kUpsertThing{"upsert_thing",
                           "INSERT INTO things (name, profile, created_at, updated_at) "
                           "VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO UPDATE "
                           "SET profile = excluded.profile, updated_at = excluded.updated_at "
                           "RETURNING status, coalesce(policy_version, 0)"};
constexpr Sql kUpsertAttribute{
    "upsert_attribute",
    "INSERT INTO thing_attributes (thing_name, key, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (thing_name, key) DO UPDATE SET value = excluded.value"};
constexpr Sql kAttachPolicy{"attach_policy",
                            "UPDATE things SET policy_name = $2, policy_version = $3 "
                            "WHERE name = $1"};
constexpr Sql kSetThingStatus{"set_thing_status",
                              "UPDATE things SET status = $2, updated_at = $3 "
                              "WHERE name = $1 AND status <> $2"};
constexpr Sql kLatestPolicy{"latest_policy",
                            "SELECT " EST_POLICY_COLUMNS
                            " FROM policies WHERE name = $1 ORDER BY version DESC LIMIT 1"};
constexpr Sql kPolicyVersions{"policy_versions", "SELECT " EST_POLICY_COLUMNS
                                                 " FROM policies WHERE name = $1 ORDER BY version"};
constexpr Sql kInsertPolicy{"insert_policy",
                            "INSERT INTO policies (name, version, document, created_at) "
                            "VALUES ($1, $2, $3, $4)"};
// The unique index decides: a second open request for the thing inserts nothing, and the open
// one is read afterwards to word the answer.
constexpr Sql kInsertRequest{
    "insert_request",
    "INSERT INTO enrollment_requests (thing_name, profile, public_key_sha256, requested_by, "
    "source_address, requested_at, status, content_sha256) "
    "VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) "
    "ON CONFLICT (thing_name) WHERE status IN ('pending', 'approved') DO NOTHING RETURNING id"};
constexpr Sql kRequestById{"request_by_id",
                           "SELECT " EST_REQUEST_COLUMNS " FROM enrollment_requests WHERE id = $1"};
constexpr Sql kRequestByKey{"request_by_key",
                            "SELECT " EST_REQUEST_COLUMNS
                            " FROM enrollment_requests WHERE thing_name = $1 "
                            "AND public_key_sha256 = $2 ORDER BY id DESC LIMIT 1"};
constexpr Sql kOpenRequest{"open_request", "SELECT " EST_REQUEST_COLUMNS
                                           " FROM enrollment_requests WHERE thing_name = $1 "
                                           "AND status IN ('pending', 'approved')"};
constexpr Sql kListRequests{"list_requests", "SELECT " EST_REQUEST_COLUMNS
                                             " FROM enrollment_requests WHERE $1::text IS NULL "
                                             "OR status = $1::text ORDER BY requested_at, id"};
constexpr Sql kDecideRequest{"decide_request",
                             "UPDATE enrollment_requests "
                             "SET status = $2::text, decided_by = $3, decided_at = $4 "
                             "WHERE thing_name = $1 AND (status = 'pending' OR "
                             "($2::text = 'rejected' AND status = 'approved')) "
                             "RETURNING " EST_REQUEST_COLUMNS};
constexpr Sql kIssueRequest{"issue_request",
                            "UPDATE enrollment_requests SET status = 'issued' WHERE id = $1 "
                            "AND thing_name = $2 AND profile = $3 AND status = 'approved'"};
constexpr Sql kInsertAudit{"insert_audit", "INSERT INTO audit_log (" EST_AUDIT_COLUMNS
                                           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"};
constexpr Sql kAuditSince{"audit_since", "SELECT id, " EST_AUDIT_COLUMNS
                                         " FROM audit_log WHERE time >= $1 ORDER BY time, id"};
constexpr Sql kInsertUser{
    "insert_user", "INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3)"};
constexpr Sql kUpsertUser{
    "upsert_user",
    "INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash"};
constexpr Sql kFindUser{"find_user",
                        "SELECT name, password_hash, created_at FROM users WHERE name = $1"};
// One statement for any number of serials, each looked up through the primary key.
constexpr Sql kRevocationEntriesFor{
    "revocation_entries_for",
    EST_ENTRY_COLUMNS ", c.pem FROM certificates AS c WHERE c.serial = ANY($1::text[])"};
constexpr Sql kRevocationEntries{
    "revocation_entries",
    EST_ENTRY_SELECT "WHERE c.status <> 'active' AND c.not_after >= $1 ORDER BY c.serial"};
constexpr Sql kNextCrlNumber{
    "next_crl_number",
    "UPDATE crl_state SET last_number = last_number + 1 WHERE id = 1 RETURNING last_number"};
constexpr Sql kLastCrlNumber{"last_crl_number",
                             "SELECT last_number FROM crl_state WHERE id = 1 FOR UPDATE"};
// A CRL signed from an older snapshot (a slower server) never replaces a newer one.
constexpr Sql kPublishCrl{"publish_crl",
                          "UPDATE crl_state SET published_number = $1, this_update = $2, "
                          "next_update = $3, pem = $4 WHERE id = 1 AND published_number < $1"};
constexpr Sql kKeptCrl{"kept_crl",
                       "SELECT published_number, this_update, next_update, pem FROM crl_state "
                       "WHERE id = 1"};
constexpr Sql kPublishedCrl{"published_crl",
                            "SELECT published_number, this_update, next_update, pem FROM crl_state "
                            "WHERE id = 1 AND published_number > 0"};
constexpr Sql kPublishedCrlNumber{"published_crl_number",
                                  "SELECT published_number FROM crl_state WHERE id = 1"};
// One statement, so every count comes from the same snapshot.
constexpr Sql kStats{
    "stats",
    "SELECT (SELECT count(*) FROM things), "
    "(SELECT count(*) FROM certificates WHERE status = 'active'), "
    "(SELECT count(*) FROM certificates WHERE status = 'superseded'), "
    "(SELECT count(*) FROM certificates WHERE status = 'revoked'), "
    "(SELECT count(*) FROM certificates WHERE status = 'active' AND not_after > $1 "
    "AND not_after <= $2), "
    "(SELECT count(*) FROM certificates WHERE status = 'active' AND not_after > $1 "
    "AND not_after <= $3)"};
constexpr Sql kBrokerStates{"broker_states",
                            "SELECT thing_name, desired, applied FROM broker_sync "
                            "ORDER BY thing_name COLLATE \"C\" LIMIT $1"};
constexpr Sql kBrokerPending{"broker_pending",
                             "SELECT thing_name, desired, applied FROM broker_sync "
                             "WHERE desired > applied ORDER BY thing_name COLLATE \"C\" LIMIT $1"};
constexpr Sql kBrokerPendingCount{"broker_pending_count",
                                  "SELECT count(*) FROM broker_sync WHERE desired > applied"};
constexpr Sql kBrokerDesired{"broker_desired",
                             "SELECT desired FROM broker_sync WHERE thing_name = $1 FOR UPDATE"};
constexpr Sql kBrokerApplied{"broker_applied",
                             "UPDATE broker_sync SET applied = greatest(applied, $2) "
                             "WHERE thing_name = $1"};
constexpr Sql kPing{"ping", "SELECT count(*) FROM schema_migrations"};

#undef EST_CERTIFICATE_COLUMNS
#undef EST_THING_COLUMNS
#undef EST_POLICY_COLUMNS
#undef EST_REQUEST_COLUMNS
#undef EST_AUDIT_COLUMNS
#undef EST_ENTRY_COLUMNS
#undef EST_ENTRY_SELECT

constexpr std::int64_t kDay = std::int64_t{24} * 60 * 60;

// A status column's value; a value this version does not know means the registry cannot be read.
template <typename Status>
Status known_status(std::optional<Status> parsed, const std::string& holder,
                    const std::string& text) {
  if (!parsed) {
    throw StoreUnavailable("registry holds " + holder + " with unknown status " + text);
  }
  return *parsed;
}

CertificateRecord read_certificate(const Result& rows, int row) {
  CertificateRecord cert;
  cert.serial = rows.text(row, 0);
  cert.thing_name = rows.text(row, 1);
  cert.subject = rows.text(row, 2);
  cert.profile = rows.text(row, 3);
  cert.not_before = rows.int64(row, 4);
  cert.not_after = rows.int64(row, 5);
  cert.issued_at = rows.int64(row, 6);
  const std::string status = rows.text(row, 7);
  cert.status =
      known_status(parse_certificate_status(status), "certificate " + cert.serial, status);
  cert.pem = rows.text(row, 8);
  cert.sha256_fingerprint = rows.text(row, 9);
  cert.replaces = rows.optional_text(row, 10);
  cert.revoked_at = rows.optional_int64(row, 11);
  cert.revocation_reason = rows.text(row, 12);
  cert.policy_version = static_cast<int>(rows.int64(row, 13));
  cert.enrolled_by = rows.text(row, 14);
  cert.content_sha256 = rows.text(row, 15);
  return cert;
}

std::vector<CertificateRecord> read_certificates(const Result& rows) {
  std::vector<CertificateRecord> certs;
  certs.reserve(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    certs.push_back(read_certificate(rows, row));
  }
  return certs;
}

std::optional<CertificateRecord> read_one_certificate(const Result& rows) {
  if (rows.rows() == 0) {
    return std::nullopt;
  }
  return read_certificate(rows, 0);
}

Thing read_thing(const Result& rows, int row) {
  Thing thing;
  thing.name = rows.text(row, 0);
  thing.profile = rows.text(row, 1);
  const std::string status = rows.text(row, 2);
  thing.status = known_status(parse_thing_status(status), "thing " + thing.name, status);
  thing.created_at = rows.int64(row, 3);
  thing.updated_at = rows.int64(row, 4);
  thing.policy_name = rows.text(row, 5);
  thing.policy_version = static_cast<int>(rows.int64(row, 6));
  return thing;
}

PolicyVersion read_policy(const Result& rows, int row) {
  return PolicyVersion{rows.text(row, 0), static_cast<int>(rows.int64(row, 1)), rows.text(row, 2),
                       rows.int64(row, 3)};
}

EnrollmentRequest read_request(const Result& rows, int row) {
  EnrollmentRequest request;
  request.id = rows.int64(row, 0);
  request.thing_name = rows.text(row, 1);
  request.profile = rows.text(row, 2);
  request.public_key_sha256 = rows.text(row, 3);
  request.requested_by = rows.text(row, 4);
  request.source_address = rows.text(row, 5);
  request.requested_at = rows.int64(row, 6);
  const std::string status = rows.text(row, 7);
  request.status = known_status(parse_request_status(status),
                                "enrollment request " + std::to_string(request.id), status);
  request.decided_by = rows.text(row, 8);
  request.decided_at = rows.optional_int64(row, 9);
  request.content_sha256 = rows.text(row, 10);
  return request;
}

std::optional<EnrollmentRequest> read_one_request(const Result& rows) {
  if (rows.rows() == 0) {
    return std::nullopt;
  }
  return read_request(rows, 0);
}

RevocationEntry read_entry(const Result& rows, int row) {
  RevocationEntry entry;
  entry.serial = rows.text(row, 0);
  entry.thing_name = rows.text(row, 1);
  entry.profile = rows.text(row, 2);
  const std::string status = rows.text(row, 3);
  entry.status =
      known_status(parse_certificate_status(status), "certificate " + entry.serial, status);
  entry.not_after = rows.int64(row, 4);
  entry.revoked_at = rows.optional_int64(row, 5);
  entry.revocation_reason = rows.text(row, 6);
  entry.superseded_at = rows.optional_int64(row, 7);
  return entry;
}

std::vector<RevocationEntry> read_entries(Connection& connection, UnixSeconds not_expired_at) {
  const auto rows = run(connection, kRevocationEntries, {param(not_expired_at)});
  std::vector<RevocationEntry> entries;
  entries.reserve(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    entries.push_back(read_entry(rows, row));
  }
  return entries;
}

PublishedCrl read_published(const Result& rows) {
  return PublishedCrl{rows.int64(0, 0), rows.int64(0, 1), rows.int64(0, 2), rows.text(0, 3)};
}

std::optional<Thing> find_thing_in(Connection& connection, const std::string& name) {
  const auto rows = run(connection, kFindThing, {param(name)});
  if (rows.rows() == 0) {
    return std::nullopt;
  }
  Thing thing = read_thing(rows, 0);
  const auto attributes = run(connection, kAttributesOf, {param(name)});
  for (int row = 0; row < attributes.rows(); ++row) {
    thing.attributes.emplace(attributes.text(row, 0), attributes.text(row, 1));
  }
  return thing;
}

void insert_audit(Connection& connection, const AuditEvent& event) {
  run(connection, kInsertAudit,
      {param(event.time), param(event.actor), param(event.source_address), param(event.operation),
       param(event.profile), param(event.thing_name), param(event.serial), param(event.result),
       param(event.reason)});
}

// Says which rule a refused certificate insert broke, in the caller's terms.
void insert_certificate(Connection& connection, const CertificateRecord& cert) {
  try {
    run(connection, kInsertCertificate,
        {param(cert.serial), param(cert.thing_name), param(cert.subject), param(cert.profile),
         param(cert.not_before), param(cert.not_after), param(cert.issued_at),
         param(to_string(cert.status)), param(cert.pem), param(cert.sha256_fingerprint),
         param(cert.replaces), param(cert.revoked_at), param(cert.revocation_reason),
         param(std::int64_t{cert.policy_version}), param(cert.enrolled_by),
         param(cert.content_sha256)});
  } catch (const ConstraintViolation& violation) {
    const auto& constraint = violation.constraint();
    if (constraint == "certificates_one_active_per_thing") {
      throw ConflictError("thing " + cert.thing_name +
                          " already holds an active certificate; renew it with simplereenroll");
    }
    if (constraint == "certificates_pkey") {
      throw ConflictError("a certificate with serial " + cert.serial + " is already registered");
    }
    if (constraint == "certificates_fingerprint_unique") {
      throw ConflictError("a certificate with fingerprint " + cert.sha256_fingerprint +
                          " is already registered");
    }
    throw;
  }
}

// Stores the document as a new version unless it is the latest one; returns its version. Runs
// with the thing's row locked, so two enrollments of one thing never both compute latest + 1; a
// clash on the (name, version) key otherwise is refused by the key.
int store_policy(Connection& connection, const std::string& name, const std::string& document,
                 UnixSeconds at) {
  int latest = 0;
  const auto rows = run(connection, kLatestPolicy, {param(name)});
  if (rows.rows() > 0) {
    const PolicyVersion current = read_policy(rows, 0);
    if (current.document == document) {
      return current.version;
    }
    latest = current.version;
  }
  run(connection, kInsertPolicy,
      {param(name), param(std::int64_t{latest} + 1), param(document), param(at)});
  return latest + 1;
}

void mark_request_issued(Connection& connection, std::int64_t id, const std::string& thing_name,
                         const std::string& profile) {
  if (run(connection, kIssueRequest, {param(id), param(thing_name), param(profile)}).affected() ==
      1) {
    return;
  }
  refuse_request_fulfilment(id, read_one_request(run(connection, kRequestById, {param(id)})),
                            thing_name, profile);
}

bool thing_exists(Connection& connection, const std::string& name) {
  return run(connection, kThingExists, {param(name)}).rows() > 0;
}

}  // namespace

std::unique_ptr<PostgresStore> PostgresStore::open(const std::string& conninfo,
                                                   const PostgresOptions& options) {
  return std::unique_ptr<PostgresStore>(new PostgresStore(conninfo, options));
}

PostgresStore::PostgresStore(const std::string& conninfo, const PostgresOptions& options)
    : pool_(conninfo, options.pool_size, options.pool_wait, options.read_only) {
  auto lease = pool_.acquire();
  try {
    postgres::migrate(*lease, options.read_only, pool_.redacted_conninfo());
  } catch (...) {
    lease.discard();
    throw;
  }
}

PostgresStore::~PostgresStore() = default;

void PostgresStore::record_enrollment(const CertificateRecord& cert,
                                      const ThingRegistration& registration,
                                      const AuditEvent& audit) {
  if (!registration.policy_name.empty() && registration.policy_document.empty()) {
    throw std::invalid_argument("enrollment of thing " + cert.thing_name + " names policy " +
                                registration.policy_name + " without a document");
  }
  pool_.transact(Access::write, [&](Connection& c) {
    const UnixSeconds at = cert.issued_at;
    const auto thing =
        run(c, kUpsertThing, {param(cert.thing_name), param(registration.profile), param(at)});
    if (thing.text(0, 0) == to_string(ThingStatus::disabled)) {
      throw ThingDisabledError("thing " + cert.thing_name + " is disabled");
    }
    for (const auto& [key, value] : registration.attributes) {
      run(c, kUpsertAttribute, {param(cert.thing_name), param(key), param(value)});
    }
    CertificateRecord active = cert;
    active.status = CertificateStatus::active;
    active.policy_version = static_cast<int>(thing.int64(0, 1));
    if (!registration.policy_name.empty()) {
      active.policy_version =
          store_policy(c, registration.policy_name, registration.policy_document, at);
      run(c, kAttachPolicy,
          {param(cert.thing_name), param(registration.policy_name),
           param(std::int64_t{active.policy_version})});
    }
    // An expired certificate no longer holds the name (see the SQLite store). The thing row,
    // locked by the upsert above, serialises this with other writers of the thing.
    const auto expired = run(c, kSupersedeExpired, {param(cert.thing_name), param(at)});
    if (expired.rows() > 0 && !active.replaces) {
      active.replaces = expired.text(0, 0);
    }
    insert_certificate(c, active);
    if (registration.fulfils_request) {
      mark_request_issued(c, *registration.fulfils_request, cert.thing_name, registration.profile);
    }
    insert_audit(c, audit);
  });
}

void PostgresStore::record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) {
  if (!cert.replaces) {
    throw std::invalid_argument("re-enrollment of certificate " + cert.serial +
                                " does not name the certificate it replaces");
  }
  const std::string& old_serial = *cert.replaces;
  pool_.transact(Access::write, [&](Connection& c) {
    const auto thing = run(c, kLockThing, {param(cert.thing_name)});
    if (thing.rows() > 0 && thing.text(0, 0) == to_string(ThingStatus::disabled)) {
      throw ThingDisabledError("thing " + cert.thing_name + " is disabled");
    }
    const auto superseded = run(c, kSupersede, {param(old_serial)});
    if (superseded.rows() == 0) {
      if (run(c, kFindCertificate, {param(old_serial)}).rows() == 0) {
        throw ConflictError("no certificate with serial " + old_serial + " to renew");
      }
      throw ConflictError("certificate " + old_serial + " is no longer active");
    }
    const std::string old_thing = superseded.text(0, 0);
    if (old_thing != cert.thing_name) {
      throw ConflictError("certificate " + old_serial + " belongs to thing " + old_thing +
                          ", not " + cert.thing_name);
    }
    CertificateRecord active = cert;
    active.status = CertificateStatus::active;
    active.policy_version = thing.rows() > 0 ? static_cast<int>(thing.int64(0, 1)) : 0;
    insert_certificate(c, active);
    insert_audit(c, audit);
  });
}

void PostgresStore::revoke_certificate(const std::string& serial, const std::string& reason,
                                       UnixSeconds at, const AuditEvent& audit) {
  pool_.transact(Access::write, [&](Connection& c) {
    const auto changed = run(c, kRevoke, {param(serial), param(at), param(reason)}).affected();
    // Nothing changed: either unknown, or already revoked (which keeps its first reason and time).
    if (changed == 0 && run(c, kFindCertificate, {param(serial)}).rows() == 0) {
      throw NotFoundError("no certificate with serial " + serial);
    }
    insert_audit(c, audit);
  });
}

std::optional<CertificateRecord> PostgresStore::find_certificate(const std::string& serial) {
  std::optional<CertificateRecord> found;
  pool_.transact(Access::statement, [&](Connection& c) {
    found = read_one_certificate(run(c, kFindCertificate, {param(serial)}));
  });
  return found;
}

std::vector<CertificateRecord> PostgresStore::list_certificates(const std::string& thing_name) {
  std::vector<CertificateRecord> certs;
  pool_.transact(Access::statement, [&](Connection& c) {
    certs = thing_name.empty() ? read_certificates(run(c, kListAll, {}))
                               : read_certificates(run(c, kListByThing, {param(thing_name)}));
  });
  return certs;
}

std::optional<CertificateRecord> PostgresStore::active_certificate(const std::string& thing_name) {
  std::optional<CertificateRecord> found;
  pool_.transact(Access::statement, [&](Connection& c) {
    found = read_one_certificate(run(c, kActiveByThing, {param(thing_name)}));
  });
  return found;
}

std::optional<Thing> PostgresStore::find_thing(const std::string& name) {
  std::optional<Thing> thing;
  pool_.transact(Access::read, [&](Connection& c) { thing = find_thing_in(c, name); });
  return thing;
}

std::vector<Thing> PostgresStore::list_things() {
  std::vector<Thing> things;
  pool_.transact(Access::read, [&](Connection& c) {
    things.clear();
    const auto rows = run(c, kListThings, {});
    things.reserve(static_cast<std::size_t>(rows.rows()));
    for (int row = 0; row < rows.rows(); ++row) {
      things.push_back(read_thing(rows, row));
    }
    // Both queries order by name in byte order within one snapshot, so one forward walk pairs
    // them.
    const auto attributes = run(c, kAllAttributes, {});
    auto thing = things.begin();
    for (int row = 0; row < attributes.rows(); ++row) {
      const std::string owner = attributes.text(row, 0);
      while (thing != things.end() && thing->name != owner) {
        ++thing;
      }
      if (thing == things.end()) {
        throw StoreUnavailable("registry holds attributes of unknown thing " + owner);
      }
      thing->attributes.emplace(attributes.text(row, 1), attributes.text(row, 2));
    }
  });
  return things;
}

std::vector<std::string> PostgresStore::disable_thing(const std::string& name,
                                                      const std::string& reason, UnixSeconds at,
                                                      const AuditEvent& audit) {
  std::vector<std::string> revoked;
  pool_.transact(Access::write, [&](Connection& c) {
    revoked.clear();
    const auto changed =
        run(c, kSetThingStatus, {param(name), param(to_string(ThingStatus::disabled)), param(at)})
            .affected();
    if (changed == 0 && !thing_exists(c, name)) {
      throw NotFoundError("no thing named " + name);
    }
    const auto rows = run(c, kRevokeByThing, {param(name), param(at), param(reason)});
    for (int row = 0; row < rows.rows(); ++row) {
      revoked.push_back(rows.text(row, 0));
    }
    insert_audit(c, audit);
  });
  std::sort(revoked.begin(), revoked.end());
  return revoked;
}

void PostgresStore::enable_thing(const std::string& name, UnixSeconds at, const AuditEvent& audit) {
  pool_.transact(Access::write, [&](Connection& c) {
    const auto changed =
        run(c, kSetThingStatus, {param(name), param(to_string(ThingStatus::active)), param(at)})
            .affected();
    if (changed == 0 && !thing_exists(c, name)) {
      throw NotFoundError("no thing named " + name);
    }
    insert_audit(c, audit);
  });
}

std::optional<PolicyVersion> PostgresStore::find_policy(const std::string& name) {
  std::optional<PolicyVersion> found;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kLatestPolicy, {param(name)});
    if (rows.rows() > 0) {
      found = read_policy(rows, 0);
    }
  });
  return found;
}

std::vector<PolicyVersion> PostgresStore::policy_versions(const std::string& name) {
  std::vector<PolicyVersion> versions;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kPolicyVersions, {param(name)});
    versions.clear();
    for (int row = 0; row < rows.rows(); ++row) {
      versions.push_back(read_policy(rows, row));
    }
  });
  return versions;
}

EnrollmentRequest PostgresStore::submit_request(const EnrollmentRequest& request,
                                                const AuditEvent& audit) {
  if (request.public_key_sha256.empty() || request.content_sha256.empty()) {
    throw std::invalid_argument("an enrollment request needs its key and content digests");
  }
  EnrollmentRequest stored;
  pool_.transact(Access::write, [&](Connection& c) {
    // Waits for an enrollment of this thing in flight, so its certificate is seen below.
    run(c, kLockThing, {param(request.thing_name)});
    if (run(c, kActiveByThing, {param(request.thing_name)}).rows() > 0) {
      throw ConflictError("thing " + request.thing_name +
                          " already holds an active certificate; renew it with simplereenroll");
    }
    stored = request;
    stored.status = RequestStatus::pending;
    stored.decided_by.clear();
    stored.decided_at.reset();
    const auto inserted =
        run(c, kInsertRequest,
            {param(request.thing_name), param(request.profile), param(request.public_key_sha256),
             param(request.requested_by), param(request.source_address),
             param(request.requested_at), param(request.content_sha256)});
    if (inserted.rows() > 0) {
      stored.id = inserted.int64(0, 0);
    } else {
      // The unique index, not an earlier look, decided: the open request read here is the one
      // the insert gave way to (committed, since the insert waited for it).
      auto open = read_one_request(run(c, kOpenRequest, {param(request.thing_name)}));
      if (!open || open->public_key_sha256 != request.public_key_sha256) {
        throw ConflictError("thing " + request.thing_name +
                            " already has an open enrollment request for another key");
      }
      const std::string label = "thing " + request.thing_name +
                                " already has an open enrollment request (" +
                                std::to_string(open->id) + ") for this key";
      if (open->profile != request.profile) {
        throw ConflictError(label + " under profile '" + open->profile + "', not '" +
                            request.profile + "'");
      }
      if (open->content_sha256 != request.content_sha256) {
        throw ConflictError(label + " asking for other content (subject, subjectAltName, IoT " +
                            "details or attributes); an operator must reject it first");
      }
      stored = std::move(*open);
    }
    insert_audit(c, audit);
  });
  return stored;
}

std::optional<EnrollmentRequest> PostgresStore::find_request(const std::string& thing_name,
                                                             const std::string& public_key_sha256) {
  std::optional<EnrollmentRequest> found;
  pool_.transact(Access::statement, [&](Connection& c) {
    found = read_one_request(run(c, kRequestByKey, {param(thing_name), param(public_key_sha256)}));
  });
  return found;
}

std::vector<EnrollmentRequest> PostgresStore::list_requests(std::optional<RequestStatus> status) {
  std::vector<EnrollmentRequest> requests;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows =
        run(c, kListRequests, {status ? param(to_string(*status)) : postgres::Param(std::nullopt)});
    requests.clear();
    for (int row = 0; row < rows.rows(); ++row) {
      requests.push_back(read_request(rows, row));
    }
  });
  return requests;
}

EnrollmentRequest PostgresStore::decide_request(const std::string& thing_name, bool approve,
                                                const std::string& operator_name, UnixSeconds at,
                                                const AuditEvent& audit) {
  EnrollmentRequest decided;
  pool_.transact(Access::write, [&](Connection& c) {
    const auto rows =
        run(c, kDecideRequest,
            {param(thing_name),
             param(to_string(approve ? RequestStatus::approved : RequestStatus::rejected)),
             param(operator_name), param(at)});
    if (rows.rows() == 0) {
      throw NotFoundError("thing " + thing_name + " has no " +
                          (approve ? "pending" : "pending or approved") + " enrollment request");
    }
    decided = read_request(rows, 0);
    insert_audit(c, audit);
  });
  return decided;
}

std::vector<RevocationLookup> PostgresStore::revocation_entries_for(
    const std::vector<std::string>& serials) {
  std::vector<RevocationLookup> found;
  if (serials.empty()) {
    return found;
  }
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kRevocationEntriesFor, {postgres::text_array(serials)});
    found.clear();
    found.reserve(static_cast<std::size_t>(rows.rows()));
    for (int row = 0; row < rows.rows(); ++row) {
      found.push_back(RevocationLookup{read_entry(rows, row), rows.text(row, 8)});
    }
  });
  return found;
}

std::vector<RevocationEntry> PostgresStore::revocation_entries(UnixSeconds not_expired_at) {
  std::vector<RevocationEntry> entries;
  pool_.transact(Access::statement,
                 [&](Connection& c) { entries = read_entries(c, not_expired_at); });
  return entries;
}

CrlDraft PostgresStore::prepare_crl(UnixSeconds not_expired_at) {
  CrlDraft draft;
  // The number's row lock is held until commit, so a second prepare_crl reads its entries only
  // after this one committed: a higher number never lists less.
  pool_.transact(Access::write, [&](Connection& c) {
    const auto next = run(c, kNextCrlNumber, {});
    if (next.rows() == 0) {
      throw StoreUnavailable("registry " + pool_.redacted_conninfo() + " has no CRL state row");
    }
    draft.number = next.int64(0, 0);
    draft.entries = read_entries(c, not_expired_at);
  });
  return draft;
}

PublishedCrl PostgresStore::publish_crl(const PublishedCrl& crl) {
  PublishedCrl kept;
  pool_.transact(Access::write, [&](Connection& c) {
    const auto last = run(c, kLastCrlNumber, {});
    if (last.rows() == 0 || crl.number < 1 || crl.number > last.int64(0, 0)) {
      throw std::invalid_argument("CRL number " + std::to_string(crl.number) +
                                  " was never handed out by registry " + pool_.redacted_conninfo());
    }
    run(c, kPublishCrl,
        {param(crl.number), param(crl.this_update), param(crl.next_update), param(crl.pem)});
    const auto rows = run(c, kKeptCrl, {});
    if (rows.rows() == 0) {
      throw StoreUnavailable("registry " + pool_.redacted_conninfo() + " has no CRL state row");
    }
    kept = read_published(rows);
  });
  return kept;
}

std::optional<PublishedCrl> PostgresStore::published_crl() {
  std::optional<PublishedCrl> crl;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kPublishedCrl, {});
    if (rows.rows() > 0) {
      crl = read_published(rows);
    }
  });
  return crl;
}

std::int64_t PostgresStore::published_crl_number() {
  std::int64_t number = 0;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kPublishedCrlNumber, {});
    if (rows.rows() == 0) {
      throw StoreUnavailable("registry " + pool_.redacted_conninfo() + " has no CRL state row");
    }
    number = rows.int64(0, 0);
  });
  return number;
}

void PostgresStore::append_audit(const AuditEvent& event) {
  pool_.transact(Access::write, [&](Connection& c) { insert_audit(c, event); });
}

std::vector<AuditEvent> PostgresStore::audit_since(UnixSeconds since) {
  std::vector<AuditEvent> events;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kAuditSince, {param(since)});
    events.clear();
    events.reserve(static_cast<std::size_t>(rows.rows()));
    for (int row = 0; row < rows.rows(); ++row) {
      AuditEvent event;
      event.id = rows.int64(row, 0);
      event.time = rows.int64(row, 1);
      event.actor = rows.text(row, 2);
      event.source_address = rows.text(row, 3);
      event.operation = rows.text(row, 4);
      event.profile = rows.text(row, 5);
      event.thing_name = rows.text(row, 6);
      event.serial = rows.text(row, 7);
      event.result = rows.text(row, 8);
      event.reason = rows.text(row, 9);
      events.push_back(std::move(event));
    }
  });
  return events;
}

RegistryStats PostgresStore::stats(UnixSeconds now) {
  RegistryStats stats;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kStats, {param(now), param(now + 7 * kDay), param(now + 30 * kDay)});
    stats.things = rows.int64(0, 0);
    stats.certificates[CertificateStatus::active] = rows.int64(0, 1);
    stats.certificates[CertificateStatus::superseded] = rows.int64(0, 2);
    stats.certificates[CertificateStatus::revoked] = rows.int64(0, 3);
    stats.expiring_within_7d = rows.int64(0, 4);
    stats.expiring_within_30d = rows.int64(0, 5);
  });
  return stats;
}

void PostgresStore::ping() {
  pool_.transact(Access::statement, [&](Connection& c) { run(c, kPing, {}); });
}

std::vector<BrokerSyncState> PostgresStore::broker_sync_states(bool pending_only,
                                                               std::size_t limit) {
  std::vector<BrokerSyncState> states;
  pool_.transact(Access::statement, [&](Connection& c) {
    // LIMIT NULL is no limit.
    const auto rows =
        run(c, pending_only ? kBrokerPending : kBrokerStates,
            {limit == 0 ? postgres::Param(std::nullopt) : param(static_cast<std::int64_t>(limit))});
    states.clear();
    states.reserve(static_cast<std::size_t>(rows.rows()));
    for (int row = 0; row < rows.rows(); ++row) {
      states.push_back(BrokerSyncState{rows.text(row, 0), rows.int64(row, 1), rows.int64(row, 2)});
    }
  });
  return states;
}

std::int64_t PostgresStore::broker_pending_count() {
  std::int64_t count = 0;
  pool_.transact(Access::statement,
                 [&](Connection& c) { count = run(c, kBrokerPendingCount, {}).int64(0, 0); });
  return count;
}

void PostgresStore::mark_broker_applied(const std::string& thing_name, std::int64_t generation) {
  pool_.transact(Access::write, [&](Connection& c) {
    const auto current = run(c, kBrokerDesired, {param(thing_name)});
    if (current.rows() == 0) {
      throw NotFoundError("no thing named " + thing_name + " in the broker sync state");
    }
    const std::int64_t desired = current.int64(0, 0);
    if (generation < 1 || generation > desired) {
      throw std::invalid_argument("broker generation " + std::to_string(generation) + " of thing " +
                                  thing_name + " was never handed out (desired is " +
                                  std::to_string(desired) + ")");
    }
    run(c, kBrokerApplied, {param(thing_name), param(generation)});
  });
}

void PostgresStore::put_user(const User& user, const AuditEvent& audit, bool replace) {
  pool_.transact(Access::write, [&](Connection& c) {
    try {
      run(c, replace ? kUpsertUser : kInsertUser,
          {param(user.name), param(user.password_hash), param(user.created_at)});
    } catch (const ConstraintViolation&) {
      throw ConflictError("user " + user.name + " already exists");
    }
    insert_audit(c, audit);
  });
}

std::optional<User> PostgresStore::find_user(const std::string& name) {
  std::optional<User> user;
  pool_.transact(Access::statement, [&](Connection& c) {
    const auto rows = run(c, kFindUser, {param(name)});
    if (rows.rows() > 0) {
      user = User{rows.text(0, 0), rows.text(0, 1), rows.int64(0, 2)};
    }
  });
  return user;
}

}  // namespace estfleet::registry
