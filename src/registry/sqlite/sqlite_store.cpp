#include "registry/sqlite/sqlite_store.hpp"

#include <initializer_list>
#include <string_view>

#include "registry/sqlite/error.hpp"
#include "registry/sqlite/migrations.hpp"
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
    "sha256_fingerprint, replaces, revoked_at, revocation_reason";
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
  return cert;
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
        insert_certificate(
            c, sql({"INSERT INTO certificates (", certificate_columns,
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"})),
        supersede(c,
                  "UPDATE certificates SET status = 'superseded' "
                  "WHERE serial = ?1 AND status = 'active' RETURNING thing_name"),
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
  Statement revoke;
  Statement find_certificate;
  Statement list_all;
  Statement list_by_thing;
  Statement active_by_thing;
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

void SqliteStore::record_enrollment(const CertificateRecord& cert, const AuditEvent& audit) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  CertificateRecord active = cert;
  active.status = CertificateStatus::active;
  insert_certificate(active);
  insert_audit(audit);
  transaction.commit();
}

void SqliteStore::record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) {
  if (!cert.replaces) {
    throw std::invalid_argument("re-enrollment of certificate " + cert.serial +
                                " does not name the certificate it replaces");
  }
  const std::string& old_serial = *cert.replaces;
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
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
  insert_certificate(active);
  insert_audit(audit);
  transaction.commit();
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
  const std::lock_guard lock(mutex_);
  return find_certificate_locked(serial);
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
  const std::lock_guard lock(mutex_);
  auto& query = statements_->active_by_thing;
  const ResetOnExit reset(query);
  query.bind_text(1, thing_name);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_certificate(query);
}

void SqliteStore::append_audit(const AuditEvent& event) {
  const std::lock_guard lock(mutex_);
  Transaction transaction(statements_->transaction);
  insert_audit(event);
  transaction.commit();
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
  const std::lock_guard lock(mutex_);
  auto& query = statements_->find_user;
  const ResetOnExit reset(query);
  query.bind_text(1, name);
  if (!query.step()) {
    return std::nullopt;
  }
  return User{query.column_text(0), query.column_text(1), query.column_int64(2)};
}

}  // namespace estfleet::registry
