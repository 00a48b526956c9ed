// What an alter does to crlog's per-row state, shared by crsql_commit_alter
// (engine/replica.cc) and replay (engine/replay.cc), so a replayed alter
// lands exactly where the live one did.
#ifndef CRLOG_ENGINE_ALTER_COLUMNS_H_
#define CRLOG_ENGINE_ALTER_COLUMNS_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/fold.h"

namespace crlog::engine {

// Old non-pk column index -> new index, or -1 for a dropped column. Columns
// are followed by name. Columns whose names are gone pair up, in order, with
// the new names when there are as many of each: that is a rename (RENAME
// COLUMN keeps the column's place). Otherwise the gone ones were dropped and
// the new ones added.
std::vector<int> MapColumns(const std::vector<std::string>& before, const std::vector<std::string>& after);

// Whether `map` changes nothing (same count, every column in place).
bool IsIdentity(const std::vector<int>& map, size_t after_count);

// Rewrites every clock of table `table_id` in crlog_clock through `map`.
absl::Status RemapClocks(sqlite3* db, int64_t table_id, const std::vector<int>& map);

// Removes from crlog_stash, and returns, the stashed changes of `table`
// whose column is now one of `columns`.
absl::StatusOr<std::vector<OwnedChange>> TakeStashed(sqlite3* db, const std::string& table,
                                                     const std::vector<std::string>& columns);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_ALTER_COLUMNS_H_
