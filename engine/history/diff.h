// Diff: what differs between the replicated tables at two points of a
// replica's history (engine/history/point.h). Both points are replayed
// (engine/history/replay.h) and compared in SQL, so a diff agrees with the two
// replays by construction.
#ifndef CRLOG_ENGINE_HISTORY_DIFF_H_
#define CRLOG_ENGINE_HISTORY_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crlog/history.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "log/store.h"
#include "crlog/value.h"

namespace crlog::engine {

// The result types are public (crlog/history.h).
using crlog::CellChange;
using crlog::ChangedRow;
using crlog::DiffRow;
using crlog::PointDiff;
using crlog::TableDiff;

// Replays `a` and `b` with `options` (only_rows and observer are not used;
// progress counts the events of both) and compares every table.
absl::StatusOr<PointDiff> DiffPoints(const log::LogStore& store, const Point& a, const Point& b,
                                     const ReplayOptions& options);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_DIFF_H_
