// Encoding of RowClock: varints, about 5 bytes a cell.
//   cl, has_sentinel, [sentinel: db_version, site, seq], ncells,
//   per cell: column, col_version, db_version, site, seq
#include "engine/fold/row_clock.h"

#include <algorithm>

#include "util/varint.h"

namespace crlog::engine {

CellClock* RowClock::Find(uint32_t column) {
  auto it = std::lower_bound(cells.begin(), cells.end(), column,
                             [](const CellClock& c, uint32_t col) { return c.column < col; });
  return it != cells.end() && it->column == column ? &*it : nullptr;
}

const CellClock* RowClock::Find(uint32_t column) const {
  return const_cast<RowClock*>(this)->Find(column);
}

CellClock& RowClock::Upsert(uint32_t column) {
  auto it = std::lower_bound(cells.begin(), cells.end(), column,
                             [](const CellClock& c, uint32_t col) { return c.column < col; });
  if (it == cells.end() || it->column != column) {
    it = cells.insert(it, CellClock{});
    it->column = column;
  }
  return *it;
}

std::string RowClock::Encode() const {
  std::string out;
  out.reserve(8 + cells.size() * 6);
  util::PutVarint(&out, cl);
  util::PutVarint(&out, has_sentinel ? 1 : 0);
  if (has_sentinel) {
    util::PutVarint(&out, sentinel.db_version);
    util::PutVarint(&out, sentinel.site);
    util::PutVarint(&out, sentinel.seq);
  }
  util::PutVarint(&out, cells.size());
  for (const CellClock& c : cells) {
    util::PutVarint(&out, c.column);
    util::PutVarint(&out, c.col_version);
    util::PutVarint(&out, c.db_version);
    util::PutVarint(&out, c.site);
    util::PutVarint(&out, c.seq);
  }
  return out;
}

absl::StatusOr<RowClock> RowClock::Decode(std::string_view in) {
  RowClock r;
  uint64_t sentinel, n, v[5];
  auto bad = [] { return absl::DataLossError("a crlog_clock entry is corrupt: run `crlog verify`"); };
  if (!util::GetVarint(&in, &r.cl) || !util::GetVarint(&in, &sentinel)) return bad();
  r.has_sentinel = sentinel != 0;
  if (r.has_sentinel) {
    if (!util::GetVarint(&in, &v[0]) || !util::GetVarint(&in, &v[1]) || !util::GetVarint(&in, &v[2])) {
      return bad();
    }
    r.sentinel = CellClock{0, r.cl, v[0], static_cast<uint32_t>(v[1]), v[2]};
  }
  if (!util::GetVarint(&in, &n) || n > in.size()) return bad();
  r.cells.resize(n);
  for (CellClock& c : r.cells) {
    for (uint64_t& x : v) {
      if (!util::GetVarint(&in, &x)) return bad();
    }
    c = CellClock{static_cast<uint32_t>(v[0]), v[1], v[2], static_cast<uint32_t>(v[3]), v[4]};
  }
  return r;
}

}  // namespace crlog::engine
