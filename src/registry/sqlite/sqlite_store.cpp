#include "registry/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "registry/sqlite/error.hpp"
#include "registry/sqlite/group_commit.hpp"
#include "registry/sqlite/migrations.hpp"
#include "registry/sqlite/revocation_reads.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/sqlite/transaction.hpp"

namespace estfleet::registry {

using sqlite::Connection;
using sqlite::ConstraintViolation;
using sqlite::OpenMode;
using sqlite::ResetOnExit;
using sqlite::Statement;
using sqlite::Transaction;
using sqlite::TransactionStatements;

namespace {

constexpr std::string_view certificate_columns =
    "serial, thing_name, subject, profile, not_before, not_after, issued_at, status, pem, "
    "sha256_fingerprint, replaces, revoked_at, revocation_reason, policy_version, enrolled_by, "
    "content_sha256";
constexpr std::string_view thing_columns =
    "name, profile, status, created_at, updated_at, coalesce(policy_name, ''), "
    "coalesce(policy_version, 0)";
constexpr std::string_view policy_columns = "name, version, document, created_at";
constexpr std::string_view request_columns =
    "id, thing_name, profile, public_key_sha256, requested_by, source_address, requested_at, "
    "status, decided_by, decided_at, content_sha256";
constexpr std::string_view audit_columns =
    "time, actor, source_address, operation, profile, thing_name, serial, result, reason";
// Newest first; rowid breaks ties between certificates issued in the same second.
constexpr std::string_view newest_first = " ORDER BY issued_at DESC, rowid DESC";

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (const auto part : parts) {
    text += part;
  }
  return text;
}

void configure(Connection& connection) {
  // A concurrent writer in another process (an admin command) is waited for, not failed on.
  connection.execute("PRAGMA busy_timeout = 5000", "registry setup failed");
  connection.execute("PRAGMA foreign_keys = ON", "registry setup failed");
  if (connection.mode() == OpenMode::read_only) {
    return;
  }
  // FULL: a certificate is on disk before the response carrying it is written, so a crash never
  // leaves a device holding a certificate the registry does not know.
  connection.execute("PRAGMA synchronous = FULL", "registry setup failed");
  // Every write of a group commit runs in a savepoint, whose statement journal SQLite otherwise
  // spills past 64 KiB into a temporary file under /var/tmp: a file created per batch, hundreds
  // of pwrite calls into it, and copies of registry pages on disk outside the data directory.
  // The journal only ever holds one batch's pages, so memory bounds it.
  connection.execute("PRAGMA temp_store = MEMORY", "registry setup failed");
  Statement journal_mode(connection, "PRAGMA journal_mode = WAL");
  journal_mode.step();
  const std::string mode = journal_mode.column_text(0);
  if (mode != "wal") {
    throw StoreUnavailable("registry " + connection.path() +
                           " cannot use write-ahead logging (journal mode stays " + mode + ")");
  }
}

CertificateRecord read_certificate(const Statement& row) {
  CertificateRecord cert;
  cert.serial = row.column_text(0);
  cert.thing_name = row.column_text(1);
  cert.subject = row.column_text(2);
  cert.profile = row.column_text(3);
  cert.not_before = row.column_int64(4);
  cert.not_after = row.column_int64(5);
  cert.issued_at = row.column_int64(6);
  const std::string status = row.column_text(7);
  const auto parsed = parse_certificate_status(status);
  if (!parsed) {
    throw StoreUnavailable("registry holds certificate " + cert.serial + " with unknown status " +
                           status);
  }
  cert.status = *parsed;
  cert.pem = row.column_text(8);
  cert.sha256_fingerprint = row.column_text(9);
  if (!row.column_is_null(10)) {
    cert.replaces = row.column_text(10);
  }
  if (!row.column_is_null(11)) {
    cert.revoked_at = row.column_int64(11);
  }
  cert.revocation_reason = row.column_text(12);
  cert.policy_version = static_cast<int>(row.column_int64(13));
  cert.enrolled_by = row.column_text(14);
  cert.content_sha256 = row.column_text(15);
  return cert;
}

// Without attributes: they come from their own table.
Thing read_thing(const Statement& row) {
  Thing thing;
  thing.name = row.column_text(0);
  thing.profile = row.column_text(1);
  const std::string status = row.column_text(2);
  const auto parsed = parse_thing_status(status);
  if (!parsed) {
    throw StoreUnavailable("registry holds thing " + thing.name + " with unknown status " + status);
  }
  thing.status = *parsed;
  thing.created_at = row.column_int64(3);
  thing.updated_at = row.column_int64(4);
  thing.policy_name = row.column_text(5);
  thing.policy_version = static_cast<int>(row.column_int64(6));
  return thing;
}

PolicyVersion read_policy(const Statement& row) {
  return PolicyVersion{row.column_text(0), static_cast<int>(row.column_int64(1)),
                       row.column_text(2), row.column_int64(3)};
}

EnrollmentRequest read_request(const Statement& row) {
  EnrollmentRequest request;
  request.id = row.column_int64(0);
  request.thing_name = row.column_text(1);
  request.profile = row.column_text(2);
  request.public_key_sha256 = row.column_text(3);
  request.requested_by = row.column_text(4);
  request.source_address = row.column_text(5);
  request.requested_at = row.column_int64(6);
  const std::string status = row.column_text(7);
  const auto parsed = parse_request_status(status);
  if (!parsed) {
    throw StoreUnavailable("registry holds enrollment request " + std::to_string(request.id) +
                           " with unknown status " + status);
  }
  request.status = *parsed;
  request.decided_by = row.column_text(8);
  if (!row.column_is_null(9)) {
    request.decided_at = row.column_int64(9);
  }
  request.content_sha256 = row.column_text(10);
  return request;
}

std::optional<EnrollmentRequest> read_one_request(Statement& query) {
  if (!query.step()) {
    return std::nullopt;
  }
  return read_request(query);
}

AuditEvent read_audit(const Statement& row) {
  AuditEvent event;
  event.id = row.column_int64(0);
  event.time = row.column_int64(1);
  event.actor = row.column_text(2);
  event.source_address = row.column_text(3);
  event.operation = row.column_text(4);
  event.profile = row.column_text(5);
  event.thing_name = row.column_text(6);
  event.serial = row.column_text(7);
  event.result = row.column_text(8);
  event.reason = row.column_text(9);
  return event;
}

std::vector<CertificateRecord> read_certificates(Statement& query) {
  std::vector<CertificateRecord> certs;
  while (query.step()) {
    certs.push_back(read_certificate(query));
  }
  return certs;
}

// Says which rule a refused certificate insert broke, in the caller's terms. Called from the
// handler that caught `violation`; an unexpected constraint is rethrown as it is.
[[noreturn]] void throw_certificate_conflict(const CertificateRecord& cert,
                                             const ConstraintViolation& violation) {
  if (violation.concerns("certificates.thing_name")) {
    throw ConflictError("thing " + cert.thing_name +
                        " already holds an active certificate; renew it with simplereenroll");
  }
  if (violation.concerns("certificates.serial")) {
    throw ConflictError("a certificate with serial " + cert.serial + " is already registered");
  }
  if (violation.concerns("certificates.sha256_fingerprint")) {
    throw ConflictError("a certificate with fingerprint " + cert.sha256_fingerprint +
                        " is already registered");
  }
  throw;
}

}  // namespace

// Every statement the store runs, prepared once when it opens.
struct SqliteStore::Statements {
  explicit Statements(Connection& c)
      : transaction(c),
        insert_certificate(c, sql({"INSERT INTO certificates (", certificate_columns,
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                   "?13, ?14, ?15, ?16)"})),
        supersede(c,
                  "UPDATE certificates SET status = 'superseded' "
                  "WHERE serial = ?1 AND status = 'active' RETURNING thing_name"),
        supersede_expired(c,
                          "UPDATE certificates SET status = 'superseded' "
                          "WHERE thing_name = ?1 AND status = 'active' AND not_after < ?2 "
                          "RETURNING serial"),
        revoke(c,
               "UPDATE certificates SET status = 'revoked', revoked_at = ?2, "
               "revocation_reason = ?3 WHERE serial = ?1 AND status <> 'revoked'"),
        find_certificate(
            c, sql({"SELECT ", certificate_columns, " FROM certificates WHERE serial = ?1"})),
        list_all(c, sql({"SELECT ", certificate_columns, " FROM certificates", newest_first})),
        list_by_thing(c, sql({"SELECT ", certificate_columns,
                              " FROM certificates WHERE thing_name = ?1", newest_first})),
        active_by_thing(c, sql({"SELECT ", certificate_columns,
                                " FROM certificates WHERE thing_name = ?1 AND status = 'active'"})),
        revoke_by_thing(c,
                        "UPDATE certificates SET status = 'revoked', revoked_at = ?2, "
                        "revocation_reason = ?3 WHERE thing_name = ?1 "
                        "AND status IN ('active', 'superseded') RETURNING serial"),
        find_thing(c, sql({"SELECT ", thing_columns, " FROM things WHERE name = ?1"})),
        list_things(c, sql({"SELECT ", thing_columns, " FROM things ORDER BY name"})),
        attributes_of(c,
                      "SELECT key, value FROM thing_attributes WHERE thing_name = ?1 ORDER BY key"),
        all_attributes(c,
                       "SELECT thing_name, key, value FROM thing_attributes "
                       "ORDER BY thing_name, key"),
        upsert_thing(c,
                     "INSERT INTO things (name, profile, created_at, updated_at) "
                     "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) DO UPDATE "
                     "SET profile = excluded.profile, updated_at = excluded.updated_at"),
        upsert_attribute(
            c,
            "INSERT INTO thing_attributes (thing_name, key, value) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (thing_name, key) DO UPDATE SET value = excluded.value"),
        attach_policy(c, "UPDATE things SET policy_name = ?2, policy_version = ?3 WHERE name = ?1"),
        set_thing_status(c,
                         "UPDATE things SET status = ?2, updated_at = ?3 "
                         "WHERE name = ?1 AND status <> ?2"),
        latest_policy(c, sql({"SELECT ", policy_columns,
                              " FROM policies WHERE name = ?1 ORDER BY version DESC LIMIT 1"})),
        policy_versions(
            c, sql({"SELECT ", policy_columns, " FROM policies WHERE name = ?1 ORDER BY version"})),
        insert_policy(c,
                      "INSERT INTO policies (name, version, document, created_at) "
                      "VALUES (?1, ?2, ?3, ?4)"),
        insert_request(c,
                       "INSERT INTO enrollment_requests (thing_name, profile, public_key_sha256, "
                       "requested_by, source_address, requested_at, status, content_sha256) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7) RETURNING id"),
        request_by_id(c,
                      sql({"SELECT ", request_columns, " FROM enrollment_requests WHERE id = ?1"})),
        request_by_key(c, sql({"SELECT ", request_columns,
                               " FROM enrollment_requests WHERE thing_name = ?1 "
                               "AND public_key_sha256 = ?2 ORDER BY id DESC LIMIT 1"})),
        open_request(c, sql({"SELECT ", request_columns,
                             " FROM enrollment_requests WHERE thing_name = ?1 "
                             "AND status IN ('pending', 'approved')"})),
        list_requests(c, sql({"SELECT ", request_columns,
                              " FROM enrollment_requests WHERE ?1 IS NULL OR status = ?1 "
                              "ORDER BY requested_at, id"})),
        decide_request(c, sql({"UPDATE enrollment_requests "
                               "SET status = ?2, decided_by = ?3, decided_at = ?4 "
                               "WHERE thing_name = ?1 AND (status = 'pending' OR "
                               "(?2 = 'rejected' AND status = 'approved')) RETURNING ",
                               request_columns})),
        issue_request(c,
                      "UPDATE enrollment_requests SET status = 'issued' "
                      "WHERE id = ?1 AND thing_name = ?2 AND profile = ?3 AND status = 'approved'"),
        insert_audit(c, sql({"INSERT INTO audit_log (", audit_columns,
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"})),
        audit_since(c, sql({"SELECT id, ", audit_columns,
                            " FROM audit_log WHERE time >= ?1 ORDER BY time, id"})),
        insert_user(c, "INSERT INTO users (name, password_hash, created_at) VALUES (?1, ?2, ?3)"),
        upsert_user(c,
                    "INSERT INTO users (name, password_hash, created_at) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash"),
        find_user(c, "SELECT name, password_hash, created_at FROM users WHERE name = ?1") {}

  TransactionStatements transaction;
  Statement insert_certificate;
  Statement supersede;
  Statement supersede_expired;
  Statement revoke;
  Statement find_certificate;
  Statement list_all;
  Statement list_by_thing;
  Statement active_by_thing;
  Statement revoke_by_thing;
  Statement find_thing;
  Statement list_things;
  Statement attributes_of;
  Statement all_attributes;
  Statement upsert_thing;
  Statement upsert_attribute;
  Statement attach_policy;
  Statement set_thing_status;
  Statement latest_policy;
  Statement policy_versions;
  Statement insert_policy;
  Statement insert_request;
  Statement request_by_id;
  Statement request_by_key;
  Statement open_request;
  Statement list_requests;
  Statement decide_request;
  Statement issue_request;
  Statement insert_audit;
  Statement audit_since;
  Statement insert_user;
  Statement upsert_user;
  Statement find_user;
};

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path, OpenMode mode) {
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, mode));
}

SqliteStore::SqliteStore(const std::string& path, OpenMode mode) : connection_(path, mode) {
  configure(connection_);
  {
    TransactionStatements migration_transactions(connection_);
    sqlite::migrate(connection_, migration_transactions);
  }
  statements_ = std::make_unique<Statements>(connection_);
  group_commit_ = std::make_unique<sqlite::GroupCommit>(mutex_, statements_->transaction);
  // Opened after the migrations, so it finds the schema current.
  reader_ = std::make_unique<Connection>(path, OpenMode::read_only);
  reader_->execute("PRAGMA busy_timeout = 5000", "registry setup failed");
  reader_statements_ = std::make_unique<Statements>(*reader_);
  revocation_reads_ = std::make_unique<sqlite::RevocationReads>(*reader_);
}

SqliteStore::~SqliteStore() = default;

void SqliteStore::insert_certificate(const CertificateRecord& cert) {
  auto& insert = statements_->insert_certificate;
  const ResetOnExit reset(insert);
  insert.bind_text(1, cert.serial);
  insert.bind_text(2, cert.thing_name);
  insert.bind_text(3, cert.subject);
  insert.bind_text(4, cert.profile);
  insert.bind_int64(5, cert.not_before);
  insert.bind_int64(6, cert.not_after);
  insert.bind_int64(7, cert.issued_at);
  insert.bind_text(8, to_string(cert.status));
  insert.bind_text(9, cert.pem);
  insert.bind_text(10, cert.sha256_fingerprint);
  insert.bind_optional_text(11, cert.replaces);
  insert.bind_optional_int64(12, cert.revoked_at);
  insert.bind_text(13, cert.revocation_reason);
  insert.bind_int64(14, cert.policy_version);
  insert.bind_text(15, cert.enrolled_by);
  insert.bind_text(16, cert.content_sha256);
  try {
    insert.run();
  } catch (const ConstraintViolation& violation) {
    throw_certificate_conflict(cert, violation);
  }
}

void SqliteStore::insert_audit(const AuditEvent& event) {
  auto& insert = statements_->insert_audit;
  const ResetOnExit reset(insert);
  insert.bind_int64(1, event.time);
  insert.bind_text(2, event.actor);
  insert.bind_text(3, event.source_address);
  insert.bind_text(4, event.operation);
  insert.bind_text(5, event.profile);
  insert.bind_text(6, event.thing_name);
  insert.bind_text(7, event.serial);
  insert.bind_text(8, event.result);
  insert.bind_text(9, event.reason);
  insert.run();
}

std::optional<CertificateRecord> SqliteStore::find_certificate_locked(const std::string& serial) {
  auto& query = statements_->find_certificate;
  const ResetOnExit reset(query);
  query.bind_text(1, serial);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_certificate(query);
}

std::optional<Thing> SqliteStore::find_thing_locked(const std::string& name) {
  return find_thing_with(*statements_, name);
}

std::optional<Thing> SqliteStore::find_thing_with(Statements& statements, const std::string& name) {
  std::optional<Thing> thing;
  {
    auto& query = statements.find_thing;
    const ResetOnExit reset(query);
    query.bind_text(1, name);
    if (!query.step()) {
      return std::nullopt;
    }
    thing = read_thing(query);
  }
  auto& attributes = statements.attributes_of;
  const ResetOnExit reset(attributes);
  attributes.bind_text(1, name);
  while (attributes.step()) {
    thing->attributes.emplace(attributes.column_text(0), attributes.column_text(1));
  }
  return thing;
}

int SqliteStore::store_policy(const std::string& name, const std::string& document,
                              UnixSeconds at) {
  int latest = 0;
  {
    auto& query = statements_->latest_policy;
    const ResetOnExit reset(query);
    query.bind_text(1, name);
    if (query.step()) {
      const PolicyVersion current = read_policy(query);
      if (current.document == document) {
        return current.version;
      }
      latest = current.version;
    }
  }
  auto& insert = statements_->insert_policy;
  const ResetOnExit reset(insert);
  insert.bind_text(1, name);
  insert.bind_int64(2, latest + 1);
  insert.bind_text(3, document);
  insert.bind_int64(4, at);
  insert.run();
  return latest + 1;
}

std::optional<EnrollmentRequest> SqliteStore::find_request_by_id_locked(std::int64_t id) {
  auto& query = statements_->request_by_id;
  const ResetOnExit reset(query);
  query.bind_int64(1, id);
  return read_one_request(query);
}

std::optional<EnrollmentRequest> SqliteStore::open_request_locked(const std::string& thing_name) {
  auto& query = statements_->open_request;
  const ResetOnExit reset(query);
  query.bind_text(1, thing_name);
  return read_one_request(query);
}

void SqliteStore::mark_request_issued(std::int64_t id, const std::string& thing_name,
                                      const std::string& profile) {
  {
    auto& update = statements_->issue_request;
    const ResetOnExit reset(update);
    update.bind_int64(1, id);
    update.bind_text(2, thing_name);
    update.bind_text(3, profile);
    update.run();
  }
  if (connection_.changes() == 1) {
    return;
  }
  refuse_request_fulfilment(id, find_request_by_id_locked(id), thing_name, profile);
}

void SqliteStore::record_enrollment(const CertificateRecord& cert,
                                    const ThingRegistration& registration,
                                    const AuditEvent& audit) {
  group_commit_->submit([&] { record_enrollment_in_batch(cert, registration, audit); });
}

void SqliteStore::record_enrollment_in_batch(const CertificateRecord& cert,
                                             const ThingRegistration& registration,
                                             const AuditEvent& audit) {
  if (!registration.policy_name.empty() && registration.policy_document.empty()) {
    throw std::invalid_argument("enrollment of thing " + cert.thing_name + " names policy " +
                                registration.policy_name + " without a document");
  }
  const UnixSeconds at = cert.issued_at;
  const auto existing = find_thing_locked(cert.thing_name);
  if (existing && existing->status == ThingStatus::disabled) {
    throw ThingDisabledError("thing " + cert.thing_name + " is disabled");
  }
  {
    auto& upsert = statements_->upsert_thing;
    const ResetOnExit reset(upsert);
    upsert.bind_text(1, cert.thing_name);
    upsert.bind_text(2, registration.profile);
    upsert.bind_int64(3, at);
    upsert.run();
  }
  for (const auto& [key, value] : registration.attributes) {
    auto& upsert = statements_->upsert_attribute;
    const ResetOnExit reset(upsert);
    upsert.bind_text(1, cert.thing_name);
    upsert.bind_text(2, key);
    upsert.bind_text(3, value);
    upsert.run();
  }
  CertificateRecord active = cert;
  active.status = CertificateStatus::active;
  active.policy_version = existing ? existing->policy_version : 0;
  if (!registration.policy_name.empty()) {
    active.policy_version =
        store_policy(registration.policy_name, registration.policy_document, at);
    auto& attach = statements_->attach_policy;
    const ResetOnExit reset(attach);
    attach.bind_text(1, cert.thing_name);
    attach.bind_text(2, registration.policy_name);
    attach.bind_int64(3, active.policy_version);
    attach.run();
  }
  {
    // An expired certificate no longer holds the name: its device could not renew it, and must
    // be able to enroll again (DESIGN.md: never strand a device).
    auto& supersede = statements_->supersede_expired;
    const ResetOnExit reset(supersede);
    supersede.bind_text(1, cert.thing_name);
    supersede.bind_int64(2, at);
    if (supersede.step() && !active.replaces) {
      active.replaces = supersede.column_text(0);
    }
  }
  insert_certificate(active);
  if (registration.fulfils_request) {
    mark_request_issued(*registration.fulfils_request, cert.thing_name, registration.profile);
  }
  insert_audit(audit);
}

void SqliteStore::record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) {
  group_commit_->submit([&] { record_reenrollment_in_batch(cert, audit); });
}

void SqliteStore::record_reenrollment_in_batch(const CertificateRecord& cert,
                                               const AuditEvent& audit) {
  if (!cert.replaces) {
    throw std::invalid_argument("re-enrollment of certificate " + cert.serial +
                                " does not name the certificate it replaces");
  }
  const std::string& old_serial = *cert.replaces;
  const auto thing = find_thing_locked(cert.thing_name);
  if (thing && thing->status == ThingStatus::disabled) {
    throw ThingDisabledError("thing " + cert.thing_name + " is disabled");
  }
  {
    auto& supersede = statements_->supersede;
    const ResetOnExit reset(supersede);
    supersede.bind_text(1, old_serial);
    if (!supersede.step()) {
      if (!find_certificate_locked(old_serial)) {
        throw ConflictError("no certificate with serial " + old_serial + " to renew");
      }
      throw ConflictError("certificate " + old_serial + " is no longer active");
    }
    const std::string old_thing = supersede.column_text(0);
    if (old_thing != cert.thing_name) {
      throw ConflictError("certificate " + old_serial + " belongs to thing " + old_thing +
                          ", not " + cert.thing_name);
    }
    supersede.run();
  }
  CertificateRecord active = cert;
  active.status = CertificateStatus::active;
  // The old certificate exists and belongs to this thing, so (by the certificates trigger) the
  // thing does too.
  active.policy_version = thing ? thing->policy_version : 0;
  insert_certificate(active);
  insert_audit(audit);
}

void SqliteStore::revoke_certificate(const std::string& serial, const std::string& reason,
                                     UnixSeconds at, const AuditEvent& audit) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  {
    auto& revoke = statements_->revoke;
    const ResetOnExit reset(revoke);
    revoke.bind_text(1, serial);
    revoke.bind_int64(2, at);
    revoke.bind_text(3, reason);
    revoke.run();
  }
  // Nothing changed: either unknown, or already revoked (which keeps its first reason and time).
  if (connection_.changes() == 0 && !find_certificate_locked(serial)) {
    throw NotFoundError("no certificate with serial " + serial);
  }
  insert_audit(audit);
  transaction.commit();
}

std::optional<CertificateRecord> SqliteStore::find_certificate(const std::string& serial) {
  const std::lock_guard lock(reader_mutex_);
  auto& query = reader_statements_->find_certificate;
  const ResetOnExit reset(query);
  query.bind_text(1, serial);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_certificate(query);
}

std::vector<CertificateRecord> SqliteStore::list_certificates(const std::string& thing_name) {
  const std::lock_guard lock(mutex_);
  if (thing_name.empty()) {
    auto& query = statements_->list_all;
    const ResetOnExit reset(query);
    return read_certificates(query);
  }
  auto& query = statements_->list_by_thing;
  const ResetOnExit reset(query);
  query.bind_text(1, thing_name);
  return read_certificates(query);
}

std::optional<CertificateRecord> SqliteStore::active_certificate(const std::string& thing_name) {
  const std::lock_guard lock(reader_mutex_);
  auto& query = reader_statements_->active_by_thing;
  const ResetOnExit reset(query);
  query.bind_text(1, thing_name);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_certificate(query);
}

std::optional<Thing> SqliteStore::find_thing(const std::string& name) {
  const std::lock_guard lock(reader_mutex_);
  return find_thing_with(*reader_statements_, name);
}

std::vector<Thing> SqliteStore::list_things() {
  const std::lock_guard lock(mutex_);
  std::vector<Thing> things;
  {
    auto& query = statements_->list_things;
    const ResetOnExit reset(query);
    while (query.step()) {
      things.push_back(read_thing(query));
    }
  }
  // Both queries order by thing name in SQLite's collation, so one forward walk pairs them.
  auto& attributes = statements_->all_attributes;
  const ResetOnExit reset(attributes);
  auto thing = things.begin();
  while (attributes.step()) {
    const std::string owner = attributes.column_text(0);
    while (thing != things.end() && thing->name != owner) {
      ++thing;
    }
    if (thing == things.end()) {
      throw StoreUnavailable("registry holds attributes of unknown thing " + owner);
    }
    thing->attributes.emplace(attributes.column_text(1), attributes.column_text(2));
  }
  return things;
}

std::vector<std::string> SqliteStore::disable_thing(const std::string& name,
                                                    const std::string& reason, UnixSeconds at,
                                                    const AuditEvent& audit) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  {
    auto& update = statements_->set_thing_status;
    const ResetOnExit reset(update);
    update.bind_text(1, name);
    update.bind_text(2, to_string(ThingStatus::disabled));
    update.bind_int64(3, at);
    update.run();
  }
  if (connection_.changes() == 0 && !find_thing_locked(name)) {
    throw NotFoundError("no thing named " + name);
  }
  std::vector<std::string> revoked;
  {
    auto& revoke = statements_->revoke_by_thing;
    const ResetOnExit reset(revoke);
    revoke.bind_text(1, name);
    revoke.bind_int64(2, at);
    revoke.bind_text(3, reason);
    while (revoke.step()) {
      revoked.push_back(revoke.column_text(0));
    }
  }
  insert_audit(audit);
  transaction.commit();
  std::sort(revoked.begin(), revoked.end());
  return revoked;
}

void SqliteStore::enable_thing(const std::string& name, UnixSeconds at, const AuditEvent& audit) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  {
    auto& update = statements_->set_thing_status;
    const ResetOnExit reset(update);
    update.bind_text(1, name);
    update.bind_text(2, to_string(ThingStatus::active));
    update.bind_int64(3, at);
    update.run();
  }
  if (connection_.changes() == 0 && !find_thing_locked(name)) {
    throw NotFoundError("no thing named " + name);
  }
  insert_audit(audit);
  transaction.commit();
}

std::optional<PolicyVersion> SqliteStore::find_policy(const std::string& name) {
  const std::lock_guard lock(mutex_);
  auto& query = statements_->latest_policy;
  const ResetOnExit reset(query);
  query.bind_text(1, name);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_policy(query);
}

std::vector<PolicyVersion> SqliteStore::policy_versions(const std::string& name) {
  const std::lock_guard lock(mutex_);
  auto& query = statements_->policy_versions;
  const ResetOnExit reset(query);
  query.bind_text(1, name);
  std::vector<PolicyVersion> versions;
  while (query.step()) {
    versions.push_back(read_policy(query));
  }
  return versions;
}

EnrollmentRequest SqliteStore::submit_request(const EnrollmentRequest& request,
                                              const AuditEvent& audit) {
  if (request.public_key_sha256.empty() || request.content_sha256.empty()) {
    throw std::invalid_argument("an enrollment request needs its key and content digests");
  }
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  {
    auto& query = statements_->active_by_thing;
    const ResetOnExit reset(query);
    query.bind_text(1, request.thing_name);
    if (query.step()) {
      throw ConflictError("thing " + request.thing_name +
                          " already holds an active certificate; renew it with simplereenroll");
    }
  }
  EnrollmentRequest stored = request;
  stored.status = RequestStatus::pending;
  stored.decided_by.clear();
  stored.decided_at.reset();
  try {
    auto& insert = statements_->insert_request;
    const ResetOnExit reset(insert);
    insert.bind_text(1, request.thing_name);
    insert.bind_text(2, request.profile);
    insert.bind_text(3, request.public_key_sha256);
    insert.bind_text(4, request.requested_by);
    insert.bind_text(5, request.source_address);
    insert.bind_int64(6, request.requested_at);
    insert.bind_text(7, request.content_sha256);
    insert.step();
    stored.id = insert.column_int64(0);
    insert.run();
  } catch (const ConstraintViolation& violation) {
    // The unique index, not an earlier look, decides: the open request found here is the one
    // that made the insert fail.
    if (!violation.concerns("enrollment_requests.thing_name")) {
      throw;
    }
    auto open = open_request_locked(request.thing_name);
    if (!open || open->public_key_sha256 != request.public_key_sha256) {
      throw ConflictError("thing " + request.thing_name +
                          " already has an open enrollment request for another key");
    }
    const std::string label = "thing " + request.thing_name + " already has an open enrollment " +
                              "request (" + std::to_string(open->id) + ") for this key";
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
  insert_audit(audit);
  transaction.commit();
  return stored;
}

std::optional<EnrollmentRequest> SqliteStore::find_request(const std::string& thing_name,
                                                           const std::string& public_key_sha256) {
  const std::lock_guard lock(mutex_);
  auto& query = statements_->request_by_key;
  const ResetOnExit reset(query);
  query.bind_text(1, thing_name);
  query.bind_text(2, public_key_sha256);
  return read_one_request(query);
}

std::vector<EnrollmentRequest> SqliteStore::list_requests(std::optional<RequestStatus> status) {
  const std::lock_guard lock(mutex_);
  auto& query = statements_->list_requests;
  const ResetOnExit reset(query);
  if (status) {
    query.bind_text(1, to_string(*status));
  } else {
    query.bind_null(1);
  }
  std::vector<EnrollmentRequest> requests;
  while (query.step()) {
    requests.push_back(read_request(query));
  }
  return requests;
}

EnrollmentRequest SqliteStore::decide_request(const std::string& thing_name, bool approve,
                                              const std::string& operator_name, UnixSeconds at,
                                              const AuditEvent& audit) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  EnrollmentRequest decided;
  {
    auto& update = statements_->decide_request;
    const ResetOnExit reset(update);
    update.bind_text(1, thing_name);
    update.bind_text(2, to_string(approve ? RequestStatus::approved : RequestStatus::rejected));
    update.bind_text(3, operator_name);
    update.bind_int64(4, at);
    if (!update.step()) {
      throw NotFoundError("thing " + thing_name + " has no " +
                          (approve ? "pending" : "pending or approved") + " enrollment request");
    }
    decided = read_request(update);
    update.run();
  }
  insert_audit(audit);
  transaction.commit();
  return decided;
}

void SqliteStore::append_audit(const AuditEvent& event) {
  group_commit_->submit([&] { insert_audit(event); });
}

std::vector<AuditEvent> SqliteStore::audit_since(UnixSeconds since) {
  const std::lock_guard lock(mutex_);
  auto& query = statements_->audit_since;
  const ResetOnExit reset(query);
  query.bind_int64(1, since);
  std::vector<AuditEvent> events;
  while (query.step()) {
    events.push_back(read_audit(query));
  }
  return events;
}

void SqliteStore::put_user(const User& user, const AuditEvent& audit, bool replace) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  {
    auto& insert = replace ? statements_->upsert_user : statements_->insert_user;
    const ResetOnExit reset(insert);
    insert.bind_text(1, user.name);
    insert.bind_text(2, user.password_hash);
    insert.bind_int64(3, user.created_at);
    try {
      insert.run();
    } catch (const ConstraintViolation&) {
      throw ConflictError("user " + user.name + " already exists");
    }
  }
  insert_audit(audit);
  transaction.commit();
}

std::optional<User> SqliteStore::find_user(const std::string& name) {
  const std::lock_guard lock(reader_mutex_);
  auto& query = reader_statements_->find_user;
  const ResetOnExit reset(query);
  query.bind_text(1, name);
  if (!query.step()) {
    return std::nullopt;
  }
  return User{query.column_text(0), query.column_text(1), query.column_int64(2)};
}

}  // namespace estfleet::registry
