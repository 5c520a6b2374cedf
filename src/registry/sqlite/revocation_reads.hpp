// The revocation reads that unauthenticated requests trigger (OCSP, GET /crl), prepared once on
// the store's reader connection (sqlite_revocation.cpp), so a flood of them neither takes the
// writer's mutex nor prepares a statement per request.
#pragma once

#include "registry/sqlite/connection.hpp"
#include "registry/sqlite/statement.hpp"

namespace estfleet::registry::sqlite {

struct RevocationReads {
  explicit RevocationReads(Connection& reader);

  Statement entries_for;       // ?1: a JSON array of serials
  Statement published;         // the published CRL, none while its number is 0
  Statement published_number;  // 0 while none is published
};

}  // namespace estfleet::registry::sqlite
