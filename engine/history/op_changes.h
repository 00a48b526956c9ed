// What each op of an event did here, as `crlog log --ops` shows it
// (crlog::OpChange, crlog/history.h). The old value is the cell's value just
// before the event in this replica's arrival order, the new one what the
// event wrote. Old values come from one forward replay of the database's
// history (engine/history/replay.h) with an observer that reads the touched rows
// before and after each event.
#ifndef CRLOG_ENGINE_HISTORY_OP_CHANGES_H_
#define CRLOG_ENGINE_HISTORY_OP_CHANGES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "crlog/history.h"
#include "engine/history/history_db.h"
#include "engine/history/replay.h"

namespace crlog::engine {

using crlog::OpChange;
using crlog::WrittenChanges;  // defined in engine/history/op_changes.cc

// Replays the database's history at head and records the changes of every
// event in `events`, by id. `only_rows` replays those rows alone (the rows
// the shown events touch are enough: a row's old values depend on its own
// ops only) and records their ops only.
absl::StatusOr<std::map<log::Hash, std::vector<OpChange>>> ReplayOpChanges(
    const HistoryDb& db, const std::set<log::Hash>& events, const std::optional<RowFilter>& only_rows,
    const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_OP_CHANGES_H_
