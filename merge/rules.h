// The merge rules a database runs by: the settings that change how an
// incoming write is judged against the local one. One struct, so that every
// path that merges (the fold, INSERT INTO crsql_changes, replay) judges by
// the same rules; per-column policies will be added here.
#ifndef CRLOG_MERGE_RULES_H_
#define CRLOG_MERGE_RULES_H_

namespace crlog::merge {

struct Rules {
  // cr-sqlite's 'merge-equal-values': of two equal values at the same column
  // version, the one written by the bytewise greater site wins, so that the
  // cell's site converges too. Off, the local write stays.
  bool merge_equal_values = false;
};

}  // namespace crlog::merge

#endif  // CRLOG_MERGE_RULES_H_
