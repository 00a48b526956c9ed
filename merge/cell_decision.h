// The decision for one cell of a live row (equal, odd causal lengths:
// DecideRow's kMergeCells): does the incoming write replace the local one,
// and is the pair a conflict worth recording. Pure: the fold gathers both
// sides from the row's clock and the table, asks, and applies the answer.
//
// Rules are passed in so that a per-column policy can change the answer
// here without the fold knowing how it was reached.
#ifndef CRLOG_MERGE_CELL_DECISION_H_
#define CRLOG_MERGE_CELL_DECISION_H_

#include "merge/lww.h"
#include "merge/rules.h"

namespace crlog::merge {

// Why the incoming write was taken or not.
enum class CellOutcome {
  kNoLocalWrite,           // the column has no local write: taken
  kIncomingNewer,          // higher column version: taken
  kIncomingOlder,          // lower column version: ignored
  kIncomingValueGreater,   // same version, incoming value sorts higher: taken
  kLocalValueGreater,      // same version, local value sorts higher: ignored
  kEqualValueGreaterSite,  // same version and value, merge-equal-values, greater site: taken
  kEqual,                  // same version and value: ignored
};

struct CellDecision {
  CellOutcome outcome = CellOutcome::kEqual;
  // The incoming write replaces the local one.
  bool take = false;
  // Two sites wrote different values at the same column version, each
  // without seeing the other's write: recorded (crlog_conflicts) whoever
  // wins.
  bool conflict = false;
};

// Whether DecideCell will look at the local value: a caller that must read
// it from the table can skip the read otherwise. `local` null: the column
// has no local write.
bool NeedsLocalValue(const CellState* local, const CellState& incoming, const Rules& rules);

// Decides `incoming` against `local` (null: no local write). `local->value`
// must be set when NeedsLocalValue says so; a null value elsewhere is NULL.
CellDecision DecideCell(const CellState* local, const CellState& incoming, const Rules& rules);

}  // namespace crlog::merge

#endif  // CRLOG_MERGE_CELL_DECISION_H_
