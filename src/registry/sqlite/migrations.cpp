#include "registry/sqlite/migrations.hpp"

#include <array>
#include <string>

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/transaction.hpp"
#include "registry/store.hpp"

namespace estfleet::registry::sqlite {

namespace {

struct Migration {
  int version;
  const char* script;
};

// Append only: a script that has shipped is never edited, a change is a new script.
constexpr std::array migrations{
    Migration{1, R"sql(
CREATE TABLE certificates (
  serial TEXT PRIMARY KEY NOT NULL,
  thing_name TEXT NOT NULL,
  subject TEXT NOT NULL,
  profile TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
  pem TEXT NOT NULL,
  sha256_fingerprint TEXT NOT NULL UNIQUE,
  replaces TEXT REFERENCES certificates (serial),
  revoked_at INTEGER,
  revocation_reason TEXT NOT NULL DEFAULT ''
) STRICT;
-- One active certificate per thing, enforced by the database itself so that two enrollments
-- racing for the same thing cannot both win.
CREATE UNIQUE INDEX certificates_one_active_per_thing ON certificates (thing_name)
  WHERE status = 'active';
CREATE INDEX certificates_by_thing ON certificates (thing_name, issued_at);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  source_address TEXT NOT NULL,
  operation TEXT NOT NULL,
  profile TEXT NOT NULL,
  thing_name TEXT NOT NULL,
  serial TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_by_time ON audit_log (time);

CREATE TABLE users (
  name TEXT PRIMARY KEY NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
)sql"},
    Migration{2, R"sql(
CREATE TABLE policies (
  name TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  document TEXT NOT NULL CHECK (document <> ''),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) STRICT;
-- A certificate records the version it was issued under; rewriting that version in place would
-- change the rights of certificates already in the field without a trace.
CREATE TRIGGER policies_are_immutable BEFORE UPDATE ON policies
BEGIN
  SELECT RAISE(ABORT, 'a stored policy version is never changed');
END;

-- No policy is NULL in both columns rather than '' and 0, so the foreign key can check every
-- attached policy version exists (SQLite skips a composite foreign key holding a NULL).
CREATE TABLE things (
  name TEXT PRIMARY KEY NOT NULL,
  profile TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  policy_name TEXT,
  policy_version INTEGER,
  CHECK ((policy_name IS NULL) = (policy_version IS NULL)),
  FOREIGN KEY (policy_name, policy_version) REFERENCES policies (name, version)
) STRICT;

-- Attributes are rows rather than one JSON text: the merge an enrollment does (new keys win,
-- old keys stay) is a per-key upsert, the primary key keeps one value per key, STRICT keeps
-- keys and values text, and the registry needs no JSON parser to read them back.
CREATE TABLE thing_attributes (
  thing_name TEXT NOT NULL REFERENCES things (name),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (thing_name, key)
) STRICT;

CREATE TABLE enrollment_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  thing_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  source_address TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'issued')),
  decided_by TEXT NOT NULL DEFAULT '',
  decided_at INTEGER,
  CHECK ((status = 'pending') = (decided_at IS NULL))
) STRICT;
-- One open request per thing, enforced by the database so that two devices racing to ask for
-- the same name cannot both end up waiting for approval.
CREATE UNIQUE INDEX enrollment_requests_one_open_per_thing ON enrollment_requests (thing_name)
  WHERE status IN ('pending', 'approved');
CREATE INDEX enrollment_requests_by_key ON enrollment_requests (thing_name, public_key_sha256);

ALTER TABLE certificates ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0;

-- Devices enrolled before things existed: one thing per certificate holder, under the profile
-- of its newest certificate, so that listings show the whole fleet.
INSERT INTO things (name, profile, status, created_at, updated_at)
SELECT thing_name,
       (SELECT newest.profile FROM certificates AS newest
         WHERE newest.thing_name = certificates.thing_name
         ORDER BY newest.issued_at DESC, newest.rowid DESC LIMIT 1),
       'active', min(issued_at), max(issued_at)
  FROM certificates GROUP BY thing_name;

-- A certificate whose holder is not a thing would escape `things list` and `things disable`.
CREATE TRIGGER certificates_belong_to_things BEFORE INSERT ON certificates
  WHEN NOT EXISTS (SELECT 1 FROM things WHERE name = NEW.thing_name)
BEGIN
  SELECT RAISE(ABORT, 'a certificate must belong to a registered thing');
END;
)sql"},
    Migration{3, R"sql(
-- An approval is for what the device asked for, not only for its key: the digest of the CSR's
-- subject, subjectAltName, IoT details and attributes.
ALTER TABLE enrollment_requests ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT '';

-- Requests still open never recorded their content, so an approval of one could not say what it
-- approved. They are dropped (the audit log keeps their history); each device's next retry opens
-- a request bound to its content, for an operator to decide again.
DELETE FROM enrollment_requests WHERE status IN ('pending', 'approved');
)sql"},
    Migration{4, R"sql(
-- Revocation: the certificates a CRL lists, and the one that superseded each, found without
-- scanning every certificate ever issued.
CREATE INDEX certificates_not_active ON certificates (status, serial) WHERE status <> 'active';
CREATE INDEX certificates_by_replaces ON certificates (replaces) WHERE replaces IS NOT NULL;

-- The CRL: the last number handed out and the newest CRL signed, kept here so that every
-- process using this registry (the server, the admin commands) numbers and serves CRLs alike.
CREATE TABLE crl_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_number INTEGER NOT NULL CHECK (last_number >= 0),
  published_number INTEGER NOT NULL DEFAULT 0 CHECK (published_number <= last_number),
  this_update INTEGER NOT NULL DEFAULT 0,
  next_update INTEGER NOT NULL DEFAULT 0,
  pem TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO crl_state (id, last_number) VALUES (1, 0);
)sql"},
    Migration{5, R"sql(
-- What the MQTT broker should hold for each thing, level-triggered: `desired` is bumped in the
-- same transaction as every change of what the broker must enforce for the thing (it is created,
-- its status or policy version changes, a certificate of it is issued, renewed or revoked), and
-- `applied` is the generation the broker last confirmed. A thing is pending while desired >
-- applied; whoever applies it (serve's broker worker, `broker sync`) reads the thing's state as it
-- is then, so changes made while the broker is down collapse into one application.
-- Triggers keep every writer honest, including ones that never heard of the broker.
CREATE TABLE broker_sync (
  thing_name TEXT PRIMARY KEY NOT NULL REFERENCES things (name),
  desired INTEGER NOT NULL DEFAULT 1 CHECK (desired >= 1),
  applied INTEGER NOT NULL DEFAULT 0 CHECK (applied >= 0 AND applied <= desired)
) STRICT;
CREATE INDEX broker_sync_pending ON broker_sync (thing_name) WHERE desired > applied;

CREATE TRIGGER broker_sync_thing_added AFTER INSERT ON things
BEGIN
  INSERT OR IGNORE INTO broker_sync (thing_name) VALUES (NEW.name);
END;
CREATE TRIGGER broker_sync_thing_changed AFTER UPDATE OF status, policy_name, policy_version
  ON things
  WHEN OLD.status IS NOT NEW.status OR OLD.policy_name IS NOT NEW.policy_name
    OR OLD.policy_version IS NOT NEW.policy_version
BEGIN
  UPDATE broker_sync SET desired = desired + 1 WHERE thing_name = NEW.name;
END;
CREATE TRIGGER broker_sync_certificate_added AFTER INSERT ON certificates
BEGIN
  UPDATE broker_sync SET desired = desired + 1 WHERE thing_name = NEW.thing_name;
END;
CREATE TRIGGER broker_sync_certificate_changed AFTER UPDATE OF status ON certificates
  WHEN OLD.status IS NOT NEW.status
BEGIN
  UPDATE broker_sync SET desired = desired + 1 WHERE thing_name = NEW.thing_name;
END;

-- Things registered before the broker existed are pending once, so the first sync applies them.
INSERT INTO broker_sync (thing_name) SELECT name FROM things;
)sql"},
    Migration{6, R"sql(
-- Who enrolled a certificate and what its CSR asked for (est/approval.hpp's content digest), so
-- that a device whose answer was lost can ask again and be sent the same certificate, and
-- nobody else can. '' for certificates recorded before, and for renewals.
ALTER TABLE certificates ADD COLUMN enrolled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT '';
)sql"},
};

int current_schema_version(Connection& connection) {
  Statement has_table(connection,
                      "SELECT count(*) FROM sqlite_master "
                      "WHERE type = 'table' AND name = 'schema_migrations'");
  has_table.step();
  if (has_table.column_int64(0) == 0) {
    return 0;
  }
  Statement max_version(connection, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  max_version.step();
  return static_cast<int>(max_version.column_int64(0));
}

void check_not_newer(Connection& connection) {
  const int found = current_schema_version(connection);
  if (found > latest_schema_version()) {
    throw StoreUnavailable("registry " + connection.path() + " has schema version " +
                           std::to_string(found) + ", newer than the " +
                           std::to_string(latest_schema_version()) +
                           " this program knows; upgrade est-fleet");
  }
}

void check_up_to_date(Connection& connection) {
  check_not_newer(connection);
  const int found = current_schema_version(connection);
  if (found < latest_schema_version()) {
    throw StoreUnavailable("registry " + connection.path() + " has schema version " +
                           std::to_string(found) + " but needs " +
                           std::to_string(latest_schema_version()) +
                           "; open it read-write once to upgrade it");
  }
}

}  // namespace

int latest_schema_version() {
  return migrations.back().version;
}

void migrate(Connection& connection, TransactionStatements& transactions) {
  if (connection.mode() == OpenMode::read_only) {
    check_up_to_date(connection);
    return;
  }
  connection.execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version INTEGER PRIMARY KEY,"
      "  applied_at INTEGER NOT NULL)",
      "registry schema setup failed");
  check_not_newer(connection);

  Statement is_applied(connection, "SELECT 1 FROM schema_migrations WHERE version = ?1");
  Statement record(connection,
                   "INSERT INTO schema_migrations (version, applied_at) "
                   "VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))");
  for (const auto& migration : migrations) {
    // Checked inside the transaction: another process opening the same file at the same time
    // may have applied it since we looked.
    Transaction transaction(transactions);
    is_applied.bind_int64(1, migration.version);
    const bool applied = is_applied.step();
    is_applied.reset();
    if (!applied) {
      connection.execute(migration.script,
                         "registry migration " + std::to_string(migration.version) + " failed");
      record.bind_int64(1, migration.version);
      record.run();
      record.reset();
    }
    transaction.commit();
  }
}

}  // namespace estfleet::registry::sqlite
