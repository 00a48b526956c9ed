// Diff: what differs between the replicated tables at two points of a
// replica's history (engine/point.h). Both points are replayed
// (engine/replay.h) and compared in SQL, so a diff agrees with the two
// replays by construction.
#ifndef CRLOG_ENGINE_DIFF_H_
#define CRLOG_ENGINE_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/point.h"
#include "engine/replay.h"
#include "log/store.h"
#include "crlog/value.h"

namespace crlog::engine {

// A row present at one point only: its pk and its values there.
struct DiffRow {
  std::string pk;                  // packed
  std::vector<Value> pk_values;
  std::vector<std::string> columns;  // the non-pk columns of its side
  std::vector<Value> values;         // parallel to `columns`
};

struct CellChange {
  std::string column;
  Value a, b;
};

// A row present at both points whose shared columns differ.
struct ChangedRow {
  std::string pk;  // packed
  std::vector<Value> pk_values;
  std::vector<CellChange> cells;  // in B's column order
};

struct TableDiff {
  std::string table;
  std::vector<std::string> pk_columns;
  std::vector<std::string> columns_only_in_a;  // non-pk columns, by name
  std::vector<std::string> columns_only_in_b;
  // The primary key is not the same at both points: rows are not compared.
  bool pk_differs = false;
  std::vector<DiffRow> only_in_a;  // each list ordered by pk
  std::vector<DiffRow> only_in_b;
  std::vector<ChangedRow> changed;

  bool empty() const {
    return columns_only_in_a.empty() && columns_only_in_b.empty() && !pk_differs && only_in_a.empty() &&
           only_in_b.empty() && changed.empty();
  }
};

struct PointDiff {
  ReplayStats a, b;
  std::vector<std::string> tables_only_in_a;  // sorted
  std::vector<std::string> tables_only_in_b;
  std::vector<TableDiff> tables;  // tables at both points that differ, sorted by name

  bool empty() const { return tables_only_in_a.empty() && tables_only_in_b.empty() && tables.empty(); }
};

// Replays `a` and `b` with `options` (only_rows and observer are not used;
// progress counts the events of both) and compares every table.
absl::StatusOr<PointDiff> DiffPoints(const log::LogStore& store, const Point& a, const Point& b,
                                     const ReplayOptions& options);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_DIFF_H_
