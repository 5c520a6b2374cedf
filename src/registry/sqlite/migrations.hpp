#pragma once

#include <sqlite3.h>

namespace estfleet::registry::sqlite {

// Applies every migration newer than the recorded schema version, each in its own transaction.
// Idempotent: a second call changes nothing.
void migrate(sqlite3* db);

}  // namespace estfleet::registry::sqlite
