#include "registry/postgres/connection.hpp"

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <utility>

namespace estfleet::registry::postgres {

namespace {

// The rules the registry's own constraints stand for, so a refusal says which rule was broken
// rather than only the constraint's name.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kConstraintRules{{
    {"certificates_belong_to_things", "a certificate must belong to a registered thing"},
    {"certificates_one_active_per_thing", "a thing holds at most one active certificate"},
    {"enrollment_requests_one_open_per_thing",
     "a thing has at most one open (pending or approved) enrollment request"},
    {"things_policy_exists", "a thing's policy version must be stored"},
}};

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value == nullptr ? std::string() : std::string(value);
}

// Conditions of the server or the connection rather than of the data: the caller can only report
// them and try later.
bool means_store_unavailable(std::string_view sqlstate) {
  const auto klass = sqlstate.substr(0, 2);
  return sqlstate.empty() || klass == "08" || klass == "53" || klass == "57" || klass == "58" ||
         klass == "XX" || sqlstate == "25006" || sqlstate == "55P03" || sqlstate == "55006" ||
         sqlstate == "28000" || sqlstate == "28P01" || sqlstate == "3D000";
}

[[noreturn]] void throw_postgres_error(const PGresult* result, const pg_conn* connection,
                                       std::string_view context) {
  const std::string sqlstate = result == nullptr ? "" : field(result, PG_DIAG_SQLSTATE);
  std::string primary = result == nullptr ? "" : field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (primary.empty()) {
    primary = PQerrorMessage(connection);
    while (!primary.empty() && (primary.back() == '\n' || primary.back() == ' ')) {
      primary.pop_back();
    }
  }
  std::string message{context};
  message += ": ";
  if (sqlstate.starts_with("23")) {
    const std::string constraint = field(result, PG_DIAG_CONSTRAINT_NAME);
    for (const auto& [name, rule] : kConstraintRules) {
      if (constraint == name) {
        message += rule;
        message += " (";
        message += primary;
        message += ")";
        throw ConstraintViolation(message, constraint);
      }
    }
    message += primary;
    throw ConstraintViolation(message, constraint);
  }
  message += primary;
  if (sqlstate == "40001" || sqlstate == "40P01") {
    throw RetryableError(message);
  }
  if (means_store_unavailable(sqlstate)) {
    throw StoreUnavailable(message);
  }
  throw std::runtime_error(message);
}

void ignore_notice(void* /*argument*/, const char* /*message*/) {}

}  // namespace

ConstraintViolation::ConstraintViolation(const std::string& message, std::string constraint)
    : ConflictError(message), constraint_(std::move(constraint)) {}

Result::Result(pg_result* result) noexcept : result_(result) {}

void Result::Clear::operator()(pg_result* result) const noexcept {
  PQclear(result);
}

int Result::rows() const noexcept {
  return PQntuples(result_.get());
}

bool Result::is_null(int row, int column) const noexcept {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string Result::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t Result::int64(int row, int column) const {
  const char* begin = PQgetvalue(result_.get(), row, column);
  const char* end = begin + PQgetlength(result_.get(), row, column);
  std::int64_t value = 0;
  const auto [stop, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || stop != end) {
    throw StoreUnavailable("registry returned '" + std::string(begin, end) +
                           "' where a whole number was expected");
  }
  return value;
}

std::optional<std::int64_t> Result::optional_int64(int row, int column) const {
  if (is_null(row, column)) {
    return std::nullopt;
  }
  return int64(row, column);
}

std::optional<std::string> Result::optional_text(int row, int column) const {
  if (is_null(row, column)) {
    return std::nullopt;
  }
  return text(row, column);
}

std::int64_t Result::affected() const {
  const char* tuples = PQcmdTuples(result_.get());
  if (tuples == nullptr || *tuples == '\0') {
    return 0;
  }
  return std::stoll(tuples);
}

void Connection::Finish::operator()(pg_conn* connection) const noexcept {
  PQfinish(connection);
}

Connection::Connection(const std::string& conninfo) : connection_(PQconnectdb(conninfo.c_str())) {
  if (!connection_) {
    throw StoreUnavailable("cannot connect to the PostgreSQL registry " +
                           redact_conninfo(conninfo) + ": out of memory");
  }
  if (PQstatus(connection_.get()) != CONNECTION_OK) {
    std::string reason = PQerrorMessage(connection_.get());
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
      reason.pop_back();
    }
    throw StoreUnavailable("cannot connect to the PostgreSQL registry " +
                           redact_conninfo(conninfo) + ": " + reason);
  }
  PQsetNoticeProcessor(connection_.get(), ignore_notice, nullptr);
  // Times and text travel as plain integers and UTF-8; nothing depends on the server's locale.
  execute("SET client_encoding = 'UTF8'", "registry connection setup failed");
}

Result Connection::check(pg_result* raw, std::string_view context) {
  Result result(raw);
  const auto status = PQresultStatus(raw);
  if (raw == nullptr || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
    throw_postgres_error(raw, connection_.get(), context);
  }
  return result;
}

void Connection::execute(const std::string& sql, std::string_view context) {
  check(PQexec(connection_.get(), sql.c_str()), context);
}

Result Connection::run(const char* name, const char* sql, const Params& params) {
  if (!prepared_.contains(name)) {
    check(PQprepare(connection_.get(), name, sql, 0, nullptr),
          std::string("registry statement ") + name + " cannot be prepared");
    prepared_.insert(name);
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
  }
  return check(PQexecPrepared(connection_.get(), name, static_cast<int>(values.size()),
                              values.data(), nullptr, nullptr, 0),
               std::string("registry statement ") + name + " failed");
}

Result Connection::run_once(const std::string& sql, const Params& params,
                            std::string_view context) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
  }
  return check(PQexecParams(connection_.get(), sql.c_str(), static_cast<int>(values.size()),
                            nullptr, values.data(), nullptr, nullptr, 0),
               context);
}

bool Connection::healthy() const noexcept {
  return PQstatus(connection_.get()) == CONNECTION_OK;
}

bool Connection::in_transaction() const noexcept {
  const auto status = PQtransactionStatus(connection_.get());
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

Param text_array(const std::vector<std::string>& texts) {
  std::string literal = "{";
  for (const auto& text : texts) {
    if (literal.size() > 1) {
      literal += ',';
    }
    literal += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        literal += '\\';
      }
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::string redact_conninfo(const std::string& conninfo) {
  std::string text = conninfo;
  // URI form: scheme://user:password@host...
  if (const auto scheme = text.find("://"); scheme != std::string::npos) {
    const auto authority = scheme + 3;
    const auto at = text.find('@', authority);
    const auto slash = text.find('/', authority);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = text.find(':', authority);
      if (colon != std::string::npos && colon < at) {
        text.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  // password=... as a key=value pair or a URI query parameter.
  for (std::size_t from = 0;;) {
    const auto key = text.find("password=", from);
    if (key == std::string::npos) {
      break;
    }
    const auto value = key + 9;
    auto end = text.find_first_of(" &", value);
    if (end == std::string::npos) {
      end = text.size();
    }
    text.replace(value, end - value, "***");
    from = value + 3;
  }
  return text;
}

}  // namespace estfleet::registry::postgres
