// SqliteStore's revocation queries: the entries CRLs and OCSP answers are made from, and the CRL
// numbering. The reads that clients trigger (OCSP, GET /crl) are prepared once on the reader
// connection (revocation_reads.hpp); what runs once per CRL is prepared per call.
#include <cstdio>
#include <stdexcept>
#include <string_view>

#include "registry/sqlite/revocation_reads.hpp"
#include "registry/sqlite/sqlite_store.hpp"
#include "registry/sqlite/statement.hpp"
#include "registry/sqlite/transaction.hpp"

namespace estfleet::registry {

using sqlite::ResetOnExit;
using sqlite::Statement;
using sqlite::Transaction;
using sqlite::TransactionStatements;

namespace {

// superseded_at is the issue time of the renewal, found through the replaces index.
#define EST_ENTRY_COLUMNS                                                           \
  "SELECT c.serial, c.thing_name, c.profile, c.status, c.not_after, c.revoked_at, " \
  "c.revocation_reason, "                                                           \
  "(SELECT min(n.issued_at) FROM certificates AS n WHERE n.replaces = c.serial)"
constexpr std::string_view kEntrySelect = EST_ENTRY_COLUMNS " FROM certificates AS c ";
// One statement for any number of serials: they arrive as one JSON array, and each is looked up
// through the serial's unique index.
constexpr std::string_view kEntriesFor = EST_ENTRY_COLUMNS
    ", c.pem FROM certificates AS c WHERE c.serial IN (SELECT value FROM json_each(?1))";
#undef EST_ENTRY_COLUMNS
constexpr std::string_view kPublished =
    "SELECT published_number, this_update, next_update, pem FROM crl_state "
    "WHERE id = 1 AND published_number > 0";

// `texts` as a JSON array of strings.
std::string json_array(const std::vector<std::string>& texts) {
  std::string json = "[";
  for (const auto& text : texts) {
    if (json.size() > 1) {
      json += ',';
    }
    json += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        json += '\\';
        json += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
        json += escaped;
      } else {
        json += c;
      }
    }
    json += '"';
  }
  json += ']';
  return json;
}

RevocationEntry read_entry(const Statement& row) {
  RevocationEntry entry;
  entry.serial = row.column_text(0);
  entry.thing_name = row.column_text(1);
  entry.profile = row.column_text(2);
  const std::string status = row.column_text(3);
  const auto parsed = parse_certificate_status(status);
  if (!parsed) {
    throw StoreUnavailable("registry holds certificate " + entry.serial + " with unknown status " +
                           status);
  }
  entry.status = *parsed;
  entry.not_after = row.column_int64(4);
  if (!row.column_is_null(5)) {
    entry.revoked_at = row.column_int64(5);
  }
  entry.revocation_reason = row.column_text(6);
  if (!row.column_is_null(7)) {
    entry.superseded_at = row.column_int64(7);
  }
  return entry;
}

std::vector<RevocationEntry> read_entries(sqlite::Connection& connection,
                                          UnixSeconds not_expired_at) {
  Statement query(connection,
                  std::string(kEntrySelect) +
                      "WHERE c.status <> 'active' AND c.not_after >= ?1 ORDER BY c.serial");
  query.bind_int64(1, not_expired_at);
  std::vector<RevocationEntry> entries;
  while (query.step()) {
    entries.push_back(read_entry(query));
  }
  return entries;
}

PublishedCrl read_published(const Statement& row) {
  return PublishedCrl{row.column_int64(0), row.column_int64(1), row.column_int64(2),
                      row.column_text(3)};
}

}  // namespace

sqlite::RevocationReads::RevocationReads(Connection& reader)
    : entries_for(reader, kEntriesFor),
      published(reader, kPublished),
      published_number(reader, "SELECT published_number FROM crl_state WHERE id = 1") {}

std::vector<RevocationLookup> SqliteStore::revocation_entries_for(
    const std::vector<std::string>& serials) {
  std::vector<RevocationLookup> found;
  if (serials.empty()) {
    return found;
  }
  const std::lock_guard lock(reader_mutex_);
  auto& query = revocation_reads_->entries_for;
  const ResetOnExit reset(query);
  query.bind_text(1, json_array(serials));
  while (query.step()) {
    found.push_back(RevocationLookup{read_entry(query), query.column_text(8)});
  }
  return found;
}

std::vector<RevocationEntry> SqliteStore::revocation_entries(UnixSeconds not_expired_at) {
  const std::lock_guard lock(reader_mutex_);
  return read_entries(*reader_, not_expired_at);
}

CrlDraft SqliteStore::prepare_crl(UnixSeconds not_expired_at) {
  const std::lock_guard lock(mutex_);
  TransactionStatements statements(connection_);
  Transaction transaction(statements);
  CrlDraft draft;
  {
    Statement next(connection_,
                   "UPDATE crl_state SET last_number = last_number + 1 WHERE id = 1 "
                   "RETURNING last_number");
    if (!next.step()) {
      throw StoreUnavailable("registry " + connection_.path() + " has no CRL state row");
    }
    draft.number = next.column_int64(0);
    next.run();
  }
  draft.entries = read_entries(connection_, not_expired_at);
  transaction.commit();
  return draft;
}

PublishedCrl SqliteStore::publish_crl(const PublishedCrl& crl) {
  const std::lock_guard lock(mutex_);
  TransactionStatements statements(connection_);
  Transaction transaction(statements);
  {
    Statement last(connection_, "SELECT last_number FROM crl_state WHERE id = 1");
    if (!last.step() || crl.number < 1 || crl.number > last.column_int64(0)) {
      throw std::invalid_argument("CRL number " + std::to_string(crl.number) +
                                  " was never handed out by registry " + connection_.path());
    }
  }
  {
    // A CRL signed from an older snapshot (a slower process) never replaces a newer one.
    Statement update(connection_,
                     "UPDATE crl_state SET published_number = ?1, this_update = ?2, "
                     "next_update = ?3, pem = ?4 "
                     "WHERE id = 1 AND published_number < ?1");
    update.bind_int64(1, crl.number);
    update.bind_int64(2, crl.this_update);
    update.bind_int64(3, crl.next_update);
    update.bind_text(4, crl.pem);
    update.run();
  }
  Statement kept(connection_,
                 "SELECT published_number, this_update, next_update, pem FROM crl_state "
                 "WHERE id = 1");
  if (!kept.step()) {
    throw StoreUnavailable("registry " + connection_.path() + " has no CRL state row");
  }
  auto result = read_published(kept);
  kept.reset();
  transaction.commit();
  return result;
}

std::optional<PublishedCrl> SqliteStore::published_crl() {
  const std::lock_guard lock(reader_mutex_);
  auto& query = revocation_reads_->published;
  const ResetOnExit reset(query);
  if (!query.step()) {
    return std::nullopt;
  }
  return read_published(query);
}

std::int64_t SqliteStore::published_crl_number() {
  const std::lock_guard lock(reader_mutex_);
  auto& query = revocation_reads_->published_number;
  const ResetOnExit reset(query);
  if (!query.step()) {
    throw StoreUnavailable("registry " + reader_->path() + " has no CRL state row");
  }
  return query.column_int64(0);
}

}  // namespace estfleet::registry
