// The per-row clock: what crlog knows about each row of a replicated table
// besides its values: causal length, and per cell the column version, the
// local db_version that recorded it, the origin site (as a local ordinal) and
// its seq inside that transaction. It lives in the SQLite table crlog_clock,
// one row per data row, so it commits with the data (docs/architecture.md).
#ifndef CRLOG_ENGINE_FOLD_ROW_CLOCK_H_
#define CRLOG_ENGINE_FOLD_ROW_CLOCK_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace crlog::engine {

struct CellClock {
  uint32_t column = 0;      // index among the table's non-pk columns
  uint64_t col_version = 0;
  uint64_t db_version = 0;  // local db_version that recorded this write
  uint32_t site = 0;        // ordinal in crlog_sites; 0 is this replica
  uint64_t seq = 0;         // order inside that db_version
  friend bool operator==(const CellClock&, const CellClock&) = default;
};

struct RowClock {
  uint64_t cl = 0;  // 0: never seen
  // The row's existence entry (cid '-1' in crsql_changes): present for a
  // table whose columns are all pk, and once a row has been deleted.
  bool has_sentinel = false;
  CellClock sentinel;           // column unused; col_version == cl
  std::vector<CellClock> cells;  // sorted by column; removed when the row is deleted

  bool alive() const { return cl % 2 == 1; }
  CellClock* Find(uint32_t column);
  const CellClock* Find(uint32_t column) const;
  CellClock& Upsert(uint32_t column);

  std::string Encode() const;
  static absl::StatusOr<RowClock> Decode(std::string_view bytes);
  friend bool operator==(const RowClock&, const RowClock&) = default;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_ROW_CLOCK_H_
