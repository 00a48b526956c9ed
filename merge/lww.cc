// cr-sqlite's merge order (crsql-compat.md, "Merge rule").
#include "merge/lww.h"

#include <algorithm>
#include <cstring>

namespace crlog::merge {
namespace {

int TypeRank(ValueType t) {
  switch (t) {
    case ValueType::kInteger: return 4;
    case ValueType::kReal: return 3;
    case ValueType::kText: return 2;
    case ValueType::kBlob: return 1;
    case ValueType::kNull: return 0;
  }
  return 0;
}

}  // namespace

int CompareValues(const Value& a, const Value& b) {
  int ra = TypeRank(a.type), rb = TypeRank(b.type);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type) {
    case ValueType::kInteger: return a.integer < b.integer ? -1 : a.integer > b.integer ? 1 : 0;
    case ValueType::kReal: return a.real < b.real ? -1 : a.real > b.real ? 1 : 0;
    case ValueType::kText:
    case ValueType::kBlob: {
      int c = a.bytes.compare(b.bytes);
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    case ValueType::kNull: return 0;
  }
  return 0;
}

RowAction DecideRow(uint64_t local_cl, uint64_t incoming_cl) {
  if (incoming_cl < local_cl) return RowAction::kIgnore;
  if (incoming_cl > local_cl) return incoming_cl % 2 == 0 ? RowAction::kDelete : RowAction::kResurrect;
  return incoming_cl % 2 == 0 ? RowAction::kNothing : RowAction::kMergeCells;
}

}  // namespace crlog::merge
