// How `crlog log --ops` shows what each op of an event did here:
// "table, pk, column: old -> new", with a write that lost to a concurrent
// one, a delete and a resurrection marked. The changes themselves come from
// crlog::History::OpChanges (one replay of the database's history) or, with
// no database, crlog::WrittenChanges (crlog/history.h).
#ifndef CRLOG_TOOLS_OP_CHANGES_H_
#define CRLOG_TOOLS_OP_CHANGES_H_

#include <ostream>
#include <vector>

#include "crlog/history.h"
#include "tools/json_value.h"

namespace crlog::tools {

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
