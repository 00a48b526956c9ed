// Last-writer-wins as cr-sqlite 0.16 orders a cell's writes, so that a mixed
// network of crlog and cr-sqlite replicas converges. Pure: decides, never
// writes.
#ifndef CRLOG_MERGE_LWW_H_
#define CRLOG_MERGE_LWW_H_

#include <cstdint>
#include <string_view>

#include "crlog/value.h"

namespace crlog::merge {

// cr-sqlite's value order for equal column versions: any INTEGER > any REAL
// > any TEXT > any BLOB > NULL; within a type, numbers numerically, text and
// blobs bytewise. Returns <0, 0, >0.
int CompareValues(const Value& a, const Value& b);

// What an incoming row state does to the local one, by causal length
// (odd = alive, even = deleted).
enum class RowAction {
  kIgnore,     // incoming cl smaller: stale
  kNothing,    // equal and even: both deleted
  kDelete,     // incoming larger and even: delete locally
  kResurrect,  // incoming larger and odd: back to life, other cells lose their versions
  kMergeCells, // equal and odd: compare cell by cell
};
RowAction DecideRow(uint64_t local_cl, uint64_t incoming_cl);

// One side of a cell comparison.
struct CellState {
  uint64_t col_version = 0;
  const Value* value = nullptr;
  std::string_view site;  // 16 bytes, for merge-equal-values
};

}  // namespace crlog::merge

#endif  // CRLOG_MERGE_LWW_H_
