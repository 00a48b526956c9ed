// One cell's merge decision (merge/cell_decision.h), by cr-sqlite's rule
// (crsql-compat.md, "Merge rule", rules 4 and 5).
#include "merge/cell_decision.h"

namespace crlog::merge {
namespace {

const Value& ValueOrNull(const CellState& s) {
  static const Value kNull;
  return s.value ? *s.value : kNull;
}

}  // namespace

bool NeedsLocalValue(const CellState* local, const CellState& incoming, const Rules&) {
  return local != nullptr && local->col_version == incoming.col_version;
}

CellDecision DecideCell(const CellState* local, const CellState& incoming, const Rules& rules) {
  if (local == nullptr) return {CellOutcome::kNoLocalWrite, true, false};
  if (incoming.col_version > local->col_version) return {CellOutcome::kIncomingNewer, true, false};
  if (incoming.col_version < local->col_version) return {CellOutcome::kIncomingOlder, false, false};
  int c = CompareValues(ValueOrNull(incoming), ValueOrNull(*local));
  if (c != 0) {
    const bool conflict = incoming.site != local->site;
    return c > 0 ? CellDecision{CellOutcome::kIncomingValueGreater, true, conflict}
                 : CellDecision{CellOutcome::kLocalValueGreater, false, conflict};
  }
  if (rules.merge_equal_values && incoming.site > local->site) {
    return {CellOutcome::kEqualValueGreaterSite, true, false};
  }
  return {CellOutcome::kEqual, false, false};
}

}  // namespace crlog::merge
