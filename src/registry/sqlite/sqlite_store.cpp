#include "registry/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "registry/sqlite/migrations.hpp"

namespace estfleet::registry {
namespace {

constexpr const char* kCertificateColumns =
    "serial, thing_name, subject, profile, not_before, not_after, issued_at, status, pem, "
    "sha256_fingerprint, replaces, revoked_at, revocation_reason";

std::string select_certificates(const std::string& where) {
  return std::string("SELECT ") + kCertificateColumns + " FROM certificates " + where;
}

CertificateRecord read_certificate(const sqlite::Statement& s) {
  CertificateRecord r;
  r.serial = s.text(0);
  r.thing_name = s.text(1);
  r.subject = s.text(2);
  r.profile = s.text(3);
  r.not_before = s.integer(4);
  r.not_after = s.integer(5);
  r.issued_at = s.integer(6);
  r.status = parse_certificate_status(s.text(7)).value_or(CertificateStatus::revoked);
  r.pem = s.text(8);
  r.sha256_fingerprint = s.text(9);
  if (!s.is_null(10)) {
    r.replaces = s.text(10);
  }
  if (!s.is_null(11)) {
    r.revoked_at = s.integer(11);
  }
  r.revocation_reason = s.text(12);
  return r;
}

AuditEvent read_audit(const sqlite::Statement& s) {
  AuditEvent e;
  e.id = s.integer(0);
  e.time = s.integer(1);
  e.actor = s.text(2);
  e.source_address = s.text(3);
  e.operation = s.text(4);
  e.profile = s.text(5);
  e.thing_name = s.text(6);
  e.serial = s.text(7);
  e.result = s.text(8);
  e.reason = s.text(9);
  return e;
}

// SQLite creates the file with the process umask; a registry of certificates and password
// hashes is created private instead.
void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  }
}

}  // namespace

// Prepared once per connection: no SQL is compiled on the enrollment path.
struct SqliteStore::Statements {
  explicit Statements(sqlite3* db)
      : insert_certificate(db, std::string("INSERT INTO certificates (") + kCertificateColumns +
                                   ") VALUES (?,?,?,?,?,?,?,'active',?,?,?,NULL,'')"),
        supersede(db,
                  "UPDATE certificates SET status = 'superseded' WHERE serial = ? AND status = "
                  "'active'"),
        revoke(db,
               "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? "
               "WHERE serial = ? AND status != 'revoked'"),
        find(db, select_certificates("WHERE serial = ?")),
        list_all(db, select_certificates("ORDER BY issued_at DESC, rowid DESC")),
        list_thing(db,
                   select_certificates("WHERE thing_name = ? ORDER BY issued_at DESC, rowid DESC")),
        active(db, select_certificates("WHERE thing_name = ? AND status = 'active'")),
        insert_audit(db,
                     "INSERT INTO audit_log (time, actor, source_address, operation, profile, "
                     "thing_name, serial, result, reason) VALUES (?,?,?,?,?,?,?,?,?)"),
        audit_since(db,
                    "SELECT id, time, actor, source_address, operation, profile, thing_name, "
                    "serial, result, reason FROM audit_log WHERE time >= ? ORDER BY id"),
        insert_user(db, "INSERT INTO users (name, password_hash, created_at) VALUES (?,?,?)"),
        replace_user(db,
                     "INSERT INTO users (name, password_hash, created_at) VALUES (?,?,?) "
                     "ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash"),
        find_user(db, "SELECT name, password_hash, created_at FROM users WHERE name = ?") {}

  sqlite::Statement insert_certificate;
  sqlite::Statement supersede;
  sqlite::Statement revoke;
  sqlite::Statement find;
  sqlite::Statement list_all;
  sqlite::Statement list_thing;
  sqlite::Statement active;
  sqlite::Statement insert_audit;
  sqlite::Statement audit_since;
  sqlite::Statement insert_user;
  sqlite::Statement replace_user;
  sqlite::Statement find_user;
};

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path) {
  create_private_file(path);
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  sqlite::ConnectionPtr db(raw);
  if (rc != SQLITE_OK) {
    throw StoreUnavailable("cannot open the registry " + path + ": " + sqlite3_errstr(rc));
  }
  try {
    sqlite3_busy_timeout(db.get(), 5000);
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite::execute(db.get(), "PRAGMA journal_mode = WAL");
    sqlite::execute(db.get(), "PRAGMA synchronous = FULL");
    sqlite::execute(db.get(), "PRAGMA foreign_keys = ON");
    sqlite::migrate(db.get());
  } catch (const std::exception& e) {
    throw StoreUnavailable("cannot prepare the registry " + path + ": " + e.what());
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db)));
}

SqliteStore::SqliteStore(sqlite::ConnectionPtr db)
    : db_(std::move(db)), statements_(std::make_unique<Statements>(db_.get())) {}

SqliteStore::~SqliteStore() = default;

void SqliteStore::insert_certificate(const CertificateRecord& c) {
  try {
    statements_->insert_certificate.reset()
        .bind(1, c.serial)
        .bind(2, c.thing_name)
        .bind(3, c.subject)
        .bind(4, c.profile)
        .bind(5, c.not_before)
        .bind(6, c.not_after)
        .bind(7, c.issued_at)
        .bind(8, c.pem)
        .bind(9, c.sha256_fingerprint)
        .bind(10, c.replaces)
        .run();
  } catch (const ConflictError&) {
    if (find_certificate_unlocked_exists(c.serial)) {
      throw ConflictError("a certificate with serial " + c.serial + " is already recorded");
    }
    throw ConflictError("thing " + c.thing_name +
                        " already holds an active certificate; renew it with simplereenroll");
  }
}

void SqliteStore::insert_audit(const AuditEvent& e) {
  statements_->insert_audit.reset()
      .bind(1, e.time)
      .bind(2, e.actor)
      .bind(3, e.source_address)
      .bind(4, e.operation)
      .bind(5, e.profile)
      .bind(6, e.thing_name)
      .bind(7, e.serial)
      .bind(8, e.result)
      .bind(9, e.reason)
      .run();
}

void SqliteStore::record_enrollment(const CertificateRecord& cert, const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_.get());
  insert_certificate(cert);
  insert_audit(audit);
  transaction.commit();
}

void SqliteStore::record_reenrollment(const CertificateRecord& cert, const AuditEvent& audit) {
  if (!cert.replaces) {
    throw std::invalid_argument("a re-enrollment must name the certificate it replaces");
  }
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_.get());
  statements_->supersede.reset().bind(1, *cert.replaces).run();
  if (sqlite3_changes(db_.get()) != 1) {
    throw ConflictError("certificate " + *cert.replaces + " is no longer active");
  }
  insert_certificate(cert);
  insert_audit(audit);
  transaction.commit();
}

void SqliteStore::revoke_certificate(const std::string& serial, const std::string& reason,
                                     UnixSeconds at, const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_.get());
  if (!find_certificate_unlocked_exists(serial)) {
    throw NotFoundError("no certificate with serial " + serial);
  }
  statements_->revoke.reset().bind(1, at).bind(2, reason).bind(3, serial).run();
  insert_audit(audit);
  transaction.commit();
}

bool SqliteStore::find_certificate_unlocked_exists(const std::string& serial) {
  auto& s = statements_->find;
  const bool found = s.reset().bind(1, serial).step();
  s.reset();
  return found;
}

std::optional<CertificateRecord> SqliteStore::find_certificate(const std::string& serial) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->find;
  s.reset().bind(1, serial);
  std::optional<CertificateRecord> record;
  if (s.step()) {
    record = read_certificate(s);
  }
  s.reset();
  return record;
}

std::vector<CertificateRecord> SqliteStore::list_certificates(const std::string& thing_name) {
  std::lock_guard lock(mutex_);
  auto& s = thing_name.empty() ? statements_->list_all.reset()
                               : statements_->list_thing.reset().bind(1, thing_name);
  std::vector<CertificateRecord> records;
  while (s.step()) {
    records.push_back(read_certificate(s));
  }
  s.reset();
  return records;
}

std::optional<CertificateRecord> SqliteStore::active_certificate(const std::string& thing_name) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->active;
  s.reset().bind(1, thing_name);
  std::optional<CertificateRecord> record;
  if (s.step()) {
    record = read_certificate(s);
  }
  s.reset();
  return record;
}

void SqliteStore::append_audit(const AuditEvent& event) {
  std::lock_guard lock(mutex_);
  insert_audit(event);
}

std::vector<AuditEvent> SqliteStore::audit_since(UnixSeconds since) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->audit_since;
  s.reset().bind(1, since);
  std::vector<AuditEvent> events;
  while (s.step()) {
    events.push_back(read_audit(s));
  }
  s.reset();
  return events;
}

void SqliteStore::put_user(const User& user, const AuditEvent& audit, bool replace) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_.get());
  auto& s = replace ? statements_->replace_user : statements_->insert_user;
  try {
    s.reset().bind(1, user.name).bind(2, user.password_hash).bind(3, user.created_at).run();
  } catch (const ConflictError&) {
    throw ConflictError("user " + user.name + " already exists");
  }
  insert_audit(audit);
  transaction.commit();
}

std::optional<User> SqliteStore::find_user(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& s = statements_->find_user;
  s.reset().bind(1, name);
  std::optional<User> user;
  if (s.step()) {
    user = User{s.text(0), s.text(1), s.integer(2)};
  }
  s.reset();
  return user;
}

int SqliteStore::schema_version() {
  std::lock_guard lock(mutex_);
  sqlite::Statement s(db_.get(), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  s.step();
  return static_cast<int>(s.integer(0));
}

}  // namespace estfleet::registry
