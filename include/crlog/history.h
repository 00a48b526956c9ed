// crlog/history.h: history questions about a replicated database from
// outside it: who wrote each cell (blame), every value a cell held, the
// tables as they stood at a point (replay), what differs between two points
// (diff), and a full check of database against log (verify).
//
// A point is written as one of (docs/cli.md, "Points"):
//   head             everything the database has materialised
//   <hex>            an event id, or an unambiguous prefix (>= 4 digits)
//   <site hex>:<seq> a site's seq-th event (site as a full id or a prefix)
//   <time>           what this replica had received by then: 2026-11-22,
//                    2026-11-22T07:00:00Z (RFC 3339), or @1763794800
//
// Thread rules: a History is used from one thread at a time (it holds a
// read-only SQLite connection); results are values.
#ifndef CRLOG_HISTORY_H_
#define CRLOG_HISTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/event.h"
#include "crlog/ids.h"
#include "crlog/log.h"
#include "crlog/value.h"

namespace crlog {

// (The result types, Provenance, CellBlame, RowBlame, CellVersion,
// ReplayStats, DiffRow, CellChange, ChangedRow, TableDiff, PointDiff,
// DatabaseReport, are defined here: moved from engine/.)

class History {
 public:
  // Opens the database at `db_path` and its log read-only. NotFound when it
  // does not exist or is not replicated by crlog; FailedPrecondition when
  // its log is missing or belongs to another database.
  static absl::StatusOr<std::unique_ptr<History>> Open(const std::string& db_path);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  struct Impl;

 private:
  explicit History(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crlog

#endif  // CRLOG_HISTORY_H_
