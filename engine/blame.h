// Blame and cell history: who wrote each cell of a row, when, from where,
// and what the cell held before.
//
// BlameRow answers from the database's clock (engine/row_clock.h) and
// crlog_versions, so it costs a few lookups and the decoding of the events
// named, not a walk of the log. RowHistory replays the row alone
// (ReplayOptions::only_rows) and records every value each cell held here, in
// arrival order: the same fold, so it agrees with `crlog replay` by
// construction.
#ifndef CRLOG_ENGINE_BLAME_H_
#define CRLOG_ENGINE_BLAME_H_

#include "schema/sqlite_api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/point.h"
#include "engine/replay.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/store.h"
#include "crlog/value.h"

namespace crlog::engine {

// The event behind a value.
struct Provenance {
  log::Hash event{};
  uint64_t position = 0;
  log::EventKind kind = log::EventKind::kChange;
  log::SiteId site{};          // who wrote it: the event's site, or an import cell's origin
  int64_t time_micros = 0;     // the writer's clock; 0 for imports (they carry none)
  std::optional<int64_t> arrival_micros;  // when this log stored the event
  uint64_t col_version = 0;
};

struct CellBlame {
  std::string column;
  Value value;
  // Unset when no event in the log explains the value (a column added by an
  // alter with a default, or a clock the log cannot account for).
  std::optional<Provenance> written_by;
};

struct RowBlame {
  std::string table;
  std::string pk;             // packed
  bool exists = false;        // the row is in the table now
  uint64_t causal_length = 0; // odd: alive, even: deleted, 0: never seen
  // The event that last created, deleted or resurrected the row, when the
  // clock records one (deleted rows, resurrected rows, all-pk tables).
  std::optional<Provenance> existence;
  std::vector<CellBlame> cells;  // the non-pk columns in table order (empty if deleted)
};

// Blames the row `packed_pk` of replicated `table` in `db` (crlog's tables
// present), finding events in `store`. NotFound names the table or row when
// the table is not replicated or the row was never seen.
absl::StatusOr<RowBlame> BlameRow(sqlite3* db, const log::LogStore& store, std::string_view table,
                                  std::string_view packed_pk);

// One value a cell (or the row's existence) held.
struct CellVersion {
  std::string column;  // "" for the row's existence
  // The value after the event; for existence: Integer 1 alive, 0 deleted.
  Value value;
  Provenance written_by;
};

// Every value each cell of the row held, in the order this replica took
// them in, up to `point` (ReplayOptions give the site; only_rows is set
// here). Entries of one column are in order; entries are grouped by event
// in arrival order, existence first within an event.
absl::StatusOr<std::vector<CellVersion>> RowHistory(const log::LogStore& store, const Point& point,
                                                    std::string_view table, std::string_view packed_pk,
                                                    ReplayOptions options);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_BLAME_H_
