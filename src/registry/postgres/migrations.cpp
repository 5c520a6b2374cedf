#include "registry/postgres/migrations.hpp"

#include <array>
#include <string>

namespace estfleet::registry::postgres {

namespace {

struct Migration {
  int version;
  const char* script;
};

// The key of the session-level advisory lock that serialises migrations ("estf" in ASCII).
constexpr const char* kLockKey = "1702065254";

// Append only, as for SQLite: a script that has shipped is never edited. Each mirrors the SQLite
// migration of the same number. Times are BIGINT Unix seconds, as the API carries them.
constexpr std::array migrations{
    Migration{1, R"sql(
CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  thing_name TEXT NOT NULL,
  subject TEXT NOT NULL,
  profile TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  issued_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
  pem TEXT NOT NULL,
  sha256_fingerprint TEXT NOT NULL CONSTRAINT certificates_fingerprint_unique UNIQUE,
  replaces TEXT REFERENCES certificates (serial),
  revoked_at BIGINT,
  revocation_reason TEXT NOT NULL DEFAULT '',
  -- Insertion order, which SQLite keeps as rowid: breaks ties between equal issued_at.
  row_id BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
-- One active certificate per thing, enforced by the database itself so that two enrollments
-- racing for the same thing (on any number of servers) cannot both win.
CREATE UNIQUE INDEX certificates_one_active_per_thing ON certificates (thing_name)
  WHERE status = 'active';
CREATE INDEX certificates_by_thing ON certificates (thing_name, issued_at);

CREATE TABLE audit_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time BIGINT NOT NULL,
  actor TEXT NOT NULL,
  source_address TEXT NOT NULL,
  operation TEXT NOT NULL,
  profile TEXT NOT NULL,
  thing_name TEXT NOT NULL,
  serial TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (time);

CREATE TABLE users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql"},
    Migration{2, R"sql(
CREATE TABLE policies (
  name TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  document TEXT NOT NULL CHECK (document <> ''),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (name, version)
);
-- A certificate records the version it was issued under; rewriting that version in place would
-- change the rights of certificates already in the field without a trace.
CREATE FUNCTION policies_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a stored policy version is never changed'
    USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER policies_are_immutable BEFORE UPDATE ON policies
  FOR EACH ROW EXECUTE FUNCTION policies_are_immutable();

-- No policy is NULL in both columns, as in SQLite; the composite key (MATCH SIMPLE) checks every
-- attached version exists.
CREATE TABLE things (
  name TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  policy_name TEXT,
  policy_version INTEGER,
  CHECK ((policy_name IS NULL) = (policy_version IS NULL)),
  CONSTRAINT things_policy_exists FOREIGN KEY (policy_name, policy_version)
    REFERENCES policies (name, version)
);

CREATE TABLE thing_attributes (
  thing_name TEXT NOT NULL REFERENCES things (name),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (thing_name, key)
);

CREATE TABLE enrollment_requests (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  thing_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  source_address TEXT NOT NULL,
  requested_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'issued')),
  decided_by TEXT NOT NULL DEFAULT '',
  decided_at BIGINT,
  CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- One open request per thing, enforced by the database so that two devices racing to ask for
-- the same name cannot both end up waiting for approval.
CREATE UNIQUE INDEX enrollment_requests_one_open_per_thing ON enrollment_requests (thing_name)
  WHERE status IN ('pending', 'approved');
CREATE INDEX enrollment_requests_by_key ON enrollment_requests (thing_name, public_key_sha256);

ALTER TABLE certificates ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0;

-- Devices enrolled before things existed: one thing per certificate holder, under the profile
-- of its newest certificate.
INSERT INTO things (name, profile, status, created_at, updated_at)
SELECT thing_name,
       (SELECT newest.profile FROM certificates AS newest
         WHERE newest.thing_name = certificates.thing_name
         ORDER BY newest.issued_at DESC, newest.row_id DESC LIMIT 1),
       'active', min(issued_at), max(issued_at)
  FROM certificates GROUP BY thing_name;

-- A certificate whose holder is not a thing would escape `things list` and `things disable`.
-- SQLite needs a trigger for this (its table predates things); here it is a foreign key, which
-- also holds against a concurrent transaction.
ALTER TABLE certificates ADD CONSTRAINT certificates_belong_to_things
  FOREIGN KEY (thing_name) REFERENCES things (name);
)sql"},
    Migration{3, R"sql(
ALTER TABLE enrollment_requests ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT '';
DELETE FROM enrollment_requests WHERE status IN ('pending', 'approved');
)sql"},
    Migration{4, R"sql(
CREATE INDEX certificates_not_active ON certificates (status, serial) WHERE status <> 'active';
CREATE INDEX certificates_by_replaces ON certificates (replaces) WHERE replaces IS NOT NULL;

CREATE TABLE crl_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_number BIGINT NOT NULL CHECK (last_number >= 0),
  published_number BIGINT NOT NULL DEFAULT 0,
  this_update BIGINT NOT NULL DEFAULT 0,
  next_update BIGINT NOT NULL DEFAULT 0,
  pem TEXT NOT NULL DEFAULT '',
  CHECK (published_number <= last_number)
);
INSERT INTO crl_state (id, last_number) VALUES (1, 0);
)sql"},
    Migration{5, R"sql(
-- What the MQTT broker should hold for each thing (see the SQLite migration 5): `desired` is
-- bumped by triggers in the same transaction as every change the broker must enforce, `applied`
-- is the generation the broker last confirmed; pending while desired > applied.
CREATE TABLE broker_sync (
  thing_name TEXT PRIMARY KEY REFERENCES things (name),
  desired BIGINT NOT NULL DEFAULT 1 CHECK (desired >= 1),
  applied BIGINT NOT NULL DEFAULT 0 CHECK (applied >= 0 AND applied <= desired)
);
CREATE INDEX broker_sync_pending ON broker_sync (thing_name) WHERE desired > applied;

CREATE FUNCTION broker_sync_thing_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO broker_sync (thing_name) VALUES (NEW.name) ON CONFLICT (thing_name) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER broker_sync_thing_added AFTER INSERT ON things
  FOR EACH ROW EXECUTE FUNCTION broker_sync_thing_added();

CREATE FUNCTION broker_sync_thing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE broker_sync SET desired = desired + 1 WHERE thing_name = NEW.name;
  RETURN NULL;
END
$$;
CREATE TRIGGER broker_sync_thing_changed AFTER UPDATE OF status, policy_name, policy_version
  ON things FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.policy_name IS DISTINCT FROM NEW.policy_name
        OR OLD.policy_version IS DISTINCT FROM NEW.policy_version)
  EXECUTE FUNCTION broker_sync_thing_changed();

CREATE FUNCTION broker_sync_certificate_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE broker_sync SET desired = desired + 1 WHERE thing_name = NEW.thing_name;
  RETURN NULL;
END
$$;
CREATE TRIGGER broker_sync_certificate_added AFTER INSERT ON certificates
  FOR EACH ROW EXECUTE FUNCTION broker_sync_certificate_changed();
CREATE TRIGGER broker_sync_certificate_changed AFTER UPDATE OF status ON certificates
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION broker_sync_certificate_changed();

-- Things registered before the broker existed are pending once.
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
  auto table = connection.run_once("SELECT to_regclass('schema_migrations') IS NOT NULL", {},
                                   "registry schema check failed");
  if (table.text(0, 0) != "t") {
    return 0;
  }
  auto found = connection.run_once("SELECT coalesce(max(version), 0) FROM schema_migrations", {},
                                   "registry schema check failed");
  return static_cast<int>(found.int64(0, 0));
}

void check_version(int found, bool read_only, const std::string& label) {
  if (found > latest_schema_version()) {
    throw StoreUnavailable("registry " + label + " has schema version " + std::to_string(found) +
                           ", newer than the " + std::to_string(latest_schema_version()) +
                           " this program knows; upgrade est-fleet");
  }
  if (read_only && found < latest_schema_version()) {
    throw StoreUnavailable("registry " + label + " has schema version " + std::to_string(found) +
                           " but needs " + std::to_string(latest_schema_version()) +
                           "; open it read-write once to upgrade it");
  }
}

// Holds the advisory lock for its lifetime. A session-level lock is released by the server when
// the connection ends, so a crashed migrator never leaves it held.
class AdvisoryLock {
 public:
  explicit AdvisoryLock(Connection& connection) : connection_(connection) {
    connection_.run_once("SELECT pg_advisory_lock($1)", {param(kLockKey)},
                         "registry migration lock failed");
  }
  ~AdvisoryLock() {
    try {
      connection_.run_once("SELECT pg_advisory_unlock($1)", {param(kLockKey)},
                           "registry migration unlock failed");
    } catch (const std::exception&) {
      // The server drops the lock with the session.
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  Connection& connection_;
};

}  // namespace

int latest_schema_version() {
  return migrations.back().version;
}

void migrate(Connection& connection, bool read_only, const std::string& label) {
  if (read_only) {
    check_version(current_schema_version(connection), true, label);
    return;
  }
  const AdvisoryLock lock(connection);
  connection.execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version INTEGER PRIMARY KEY,"
      "  applied_at BIGINT NOT NULL)",
      "registry schema setup failed");
  // Read under the lock: whoever held it before us may have applied some.
  const int found = current_schema_version(connection);
  check_version(found, false, label);
  for (const auto& migration : migrations) {
    if (migration.version <= found) {
      continue;
    }
    const std::string context =
        "registry migration " + std::to_string(migration.version) + " failed";
    connection.execute("BEGIN", context);
    try {
      connection.execute(migration.script, context);
      connection.run_once(
          "INSERT INTO schema_migrations (version, applied_at) "
          "VALUES ($1, CAST(extract(epoch FROM now()) AS BIGINT))",
          {param(std::int64_t{migration.version})}, context);
      connection.execute("COMMIT", context);
    } catch (...) {
      try {
        connection.execute("ROLLBACK", context);
      } catch (const std::exception&) {
        // The connection is gone; the server rolled back with it.
      }
      throw;
    }
  }
}

}  // namespace estfleet::registry::postgres
