// What an alter does to crlog's per-row state, shared by crsql_commit_alter
// (engine/replica/replica.cc) and replay (engine/history/replay.cc), so a replayed alter
// lands exactly where the live one did.
#ifndef CRLOG_ENGINE_FOLD_ALTER_COLUMNS_H_
#define CRLOG_ENGINE_FOLD_ALTER_COLUMNS_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/fold/fold.h"

namespace crlog::engine {

// Old non-pk column index -> new index, or -1 for a dropped column. Columns
// are followed by name. Columns whose names are gone pair up, in order, with
// the new names when there are as many of each: that is a rename (RENAME
// COLUMN keeps the column's place). Otherwise the gone ones were dropped and
// the new ones added.
std::vector<int> MapColumns(const std::vector<std::string>& before, const std::vector<std::string>& after);

// Whether `map` changes nothing (same count, every column in place).
bool IsIdentity(const std::vector<int>& map, size_t after_count);

// `map` with only the columns that kept their name: a renamed column's
// clocks are not carried, because cr-sqlite restamps a renamed column (its
// cells come back as the alter's derived cells, column version 1).
std::vector<int> SameNamed(std::vector<int> map, const std::vector<std::string>& before,
                           const std::vector<std::string>& after);

// Rewrites every clock of table `table_id` in crlog_clock through `map`.
absl::Status RemapClocks(sqlite3* db, int64_t table_id, const std::vector<int>& map);

// How each column of an altered table follows from a row as it was before
// the alter, as SQL over the old row's columns (`prefix` + quoted old name):
// a column of the same name (pk or not), a renamed one (MapColumns), or the
// new column's default. Shared by crsql_commit_alter, which compares this
// expected table with what the alter left to find the writes made inside the
// alter bracket, and by replay, which rebuilds the table with it.
struct AlterProjection {
  bool pk_changed = false;  // the pk's column names (in order) differ
  // Per new pk column, then per new non-pk column: the expression, or
  // nullopt for a new column (its default).
  std::vector<std::optional<std::string>> pk;
  std::vector<std::optional<std::string>> columns;
  // Per new non-pk column: it existed before under this name and outside
  // the pk, so its clocks are carried (otherwise its cells are derived).
  std::vector<bool> carried;
  // Per new non-pk column: its DEFAULT expression, or nullopt for none.
  std::vector<std::optional<std::string>> defaults;
  std::vector<std::optional<std::string>> pk_defaults;
};
absl::StatusOr<AlterProjection> ProjectAlter(sqlite3* db, const std::string& table,
                                             const std::vector<std::string>& old_pk,
                                             const std::vector<std::string>& old_columns,
                                             const std::vector<std::string>& new_pk,
                                             const std::vector<std::string>& new_columns,
                                             const std::string& prefix);

// Removes from crlog_stash, and returns, the stashed changes of `table`
// whose column is now one of `columns`.
absl::StatusOr<std::vector<OwnedChange>> TakeStashed(sqlite3* db, const std::string& table,
                                                     const std::vector<std::string>& columns);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_ALTER_COLUMNS_H_
