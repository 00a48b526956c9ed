// What each op of an event did here, as `crlog log --ops` shows it:
// "table, pk, column: old -> new". The old value is the cell's value just
// before the event in this replica's arrival order, the new one what the
// event wrote; a write that lost to a concurrent one, a delete and a
// resurrection are marked. Old values come from one forward replay of the
// database's history (engine/replay.h) with an observer that reads the
// touched rows before and after each event.
#ifndef CRLOG_TOOLS_OP_CHANGES_H_
#define CRLOG_TOOLS_OP_CHANGES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/history_db.h"
#include "log/event.h"
#include "log/hash.h"
#include "crlog/value.h"
#include "tools/json_value.h"

namespace crlog::tools {

struct OpChange {
  enum class Kind {
    kInsert,     // the row came into being here
    kResurrect,  // a deleted row came back
    kDelete,
    kCell,       // a cell write
    kSkipped,    // the table is not replicated here at that point
  };
  Kind kind = Kind::kCell;
  std::string table;
  std::string pk;  // packed
  std::string column;  // kCell
  // kCell: the value before the event; nullopt when the row (or the column)
  // did not exist, or when no database was at hand to tell.
  std::optional<Value> old_value;
  Value new_value;  // kCell: what the event wrote
  bool known = true;  // false without a database: old values and outcomes unknown
  // The op did not take effect: a cell write that lost to a concurrent
  // write, a delete of a row a concurrent resurrection keeps alive, or a
  // row that stays deleted.
  bool lost = false;
  std::optional<Value> now;  // kCell, lost: what the cell holds after the event (nullopt: no row)
  bool already_deleted = false;  // kDelete of a row that was not alive
  bool unknown_column = false;   // kCell of a column the table lacks here (kept for a later alter)
};

// Replays the database's history at head and records the changes of every
// event in `events`, by id. `only_rows` replays those rows alone (the rows
// the shown events touch are enough: a row's old values depend on its own
// ops only) and records their ops only.
absl::StatusOr<std::map<log::Hash, std::vector<OpChange>>> ReplayOpChanges(
    const engine::HistoryDb& db, const std::set<log::Hash>& events,
    const std::optional<engine::RowFilter>& only_rows,
    const std::function<void(uint64_t, uint64_t)>& progress);

// The event's ops as written, with no database to say what they replaced.
std::vector<OpChange> WrittenChanges(const log::Event& event);

// One line per change, indented, e.g.
//     todo (1) title: 'buy milk' -> 'buy oat milk'
//     todo (1) done: 0 -> 1 (lost to a concurrent write; the cell holds 2)
//     todo (1) deleted
void PrintOpChanges(const std::vector<OpChange>& changes, std::ostream& out);

// A JSON array of objects: table, pk (plain values), column (null for the
// row), change (insert, resurrect, delete, set, skipped), old (absent when
// there was none), new, lost, now (when lost).
Json OpChangesToJson(const std::vector<OpChange>& changes);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_OP_CHANGES_H_
