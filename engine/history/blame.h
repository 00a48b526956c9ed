// Blame and cell history: who wrote each cell of a row, when, from where,
// and what the cell held before.
//
// BlameRow answers from the database's clock (engine/fold/row_clock.h) and
// crlog_versions, so it costs a few lookups and the decoding of the events
// named, not a walk of the log. RowHistory replays the row alone
// (ReplayOptions::only_rows) and records every value each cell held here, in
// arrival order: the same fold, so it agrees with `crlog replay` by
// construction.
#ifndef CRLOG_ENGINE_HISTORY_BLAME_H_
#define CRLOG_ENGINE_HISTORY_BLAME_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/history.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/store.h"
#include "crlog/value.h"

namespace crlog::engine {

// The result types are public (crlog/history.h); the engine names them as
// its own.
using crlog::CellBlame;
using crlog::CellVersion;
using crlog::Provenance;
using crlog::RowBlame;

// The packed pk of the row of `table` whose pk values are `pk`, each value
// converted by its column's affinity as SQLite converts an inserted value
// (the text '42' is the integer 42 in an INTEGER column, 42 the text '42'
// in a TEXT one). When the table is not replicated or the number of values
// is not its pk's, the values packed as given (BlameRow then says what is
// wrong).
std::string PackRowKey(sqlite3* db, std::string_view table, absl::Span<const Value> pk);

// Blames the row `packed_pk` of replicated `table` in `db` (crlog's tables
// present), finding events in `store`. NotFound names the table or row when
// the table is not replicated or the row was never seen.
absl::StatusOr<RowBlame> BlameRow(sqlite3* db, const log::LogStore& store, std::string_view table,
                                  std::string_view packed_pk);

// Every value each cell of the row held, in the order this replica took
// them in, up to `point` (ReplayOptions give the site; only_rows is set
// here). Entries of one column are in order; entries are grouped by event
// in arrival order, existence first within an event.
absl::StatusOr<std::vector<CellVersion>> RowHistory(const log::LogStore& store, const Point& point,
                                                    std::string_view table, std::string_view packed_pk,
                                                    ReplayOptions options);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_BLAME_H_
