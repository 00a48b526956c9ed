// Column mapping, clock rewriting and stash release for alters
// (engine/fold/alter_columns.h).
#include "engine/fold/alter_columns.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "log/hash.h"
#include "util/sqlite/quote.h"

namespace crlog::engine {

std::vector<int> MapColumns(const std::vector<std::string>& before, const std::vector<std::string>& after) {
  std::vector<int> map(before.size(), -1);
  std::vector<size_t> gone, added;
  for (size_t i = 0; i < before.size(); ++i) {
    auto it = std::find(after.begin(), after.end(), before[i]);
    if (it != after.end()) map[i] = static_cast<int>(it - after.begin());
    if (map[i] < 0) gone.push_back(i);
  }
  for (size_t i = 0; i < after.size(); ++i) {
    if (std::find(before.begin(), before.end(), after[i]) == before.end()) added.push_back(i);
  }
  if (gone.size() == added.size()) {
    for (size_t k = 0; k < gone.size(); ++k) map[gone[k]] = static_cast<int>(added[k]);
  }
  return map;
}

bool IsIdentity(const std::vector<int>& map, size_t after_count) {
  if (map.size() != after_count) return false;
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i] != static_cast<int>(i)) return false;
  }
  return true;
}

std::vector<int> SameNamed(std::vector<int> map, const std::vector<std::string>& before,
                           const std::vector<std::string>& after) {
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i] >= 0 && after[map[i]] != before[i]) map[i] = -1;
  }
  return map;
}

absl::StatusOr<AlterProjection> ProjectAlter(sqlite3* db, const std::string& table,
                                             const std::vector<std::string>& old_pk,
                                             const std::vector<std::string>& old_columns,
                                             const std::vector<std::string>& new_pk,
                                             const std::vector<std::string>& new_columns,
                                             const std::string& prefix) {
  AlterProjection p;
  p.pk_changed = old_pk != new_pk;
  auto defaults = sqlite::Stmt::Prepare(db, "SELECT name, dflt_value FROM pragma_table_xinfo(?1, 'main')");
  if (!defaults.ok()) return defaults.status();
  defaults->BindText(1, table);
  std::vector<std::pair<std::string, std::optional<std::string>>> dflt;
  while (true) {
    auto row = defaults->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    std::optional<std::string> d;
    if (!defaults->ColumnIsNull(1)) d = std::string(defaults->ColumnText(1));
    dflt.emplace_back(std::string(defaults->ColumnText(0)), std::move(d));
  }
  auto default_of = [&](const std::string& name) -> std::optional<std::string> {
    for (const auto& [n, d] : dflt) {
      if (n == name) return d;
    }
    return std::nullopt;
  };
  auto old_has = [&](const std::string& name) {
    return std::find(old_pk.begin(), old_pk.end(), name) != old_pk.end() ||
           std::find(old_columns.begin(), old_columns.end(), name) != old_columns.end();
  };
  auto column = [&](const std::string& name) { return absl::StrCat(prefix, sqlite::QuoteIdentifier(name)); };
  for (const std::string& c : new_pk) {
    p.pk.push_back(old_has(c) ? std::optional<std::string>(column(c)) : std::nullopt);
    p.pk_defaults.push_back(default_of(c));
  }
  const std::vector<int> map = MapColumns(old_columns, new_columns);
  for (size_t j = 0; j < new_columns.size(); ++j) {
    const std::string& c = new_columns[j];
    std::optional<std::string> from;
    if (old_has(c)) {
      from = column(c);
    } else {
      for (size_t i = 0; i < map.size(); ++i) {
        if (map[i] == static_cast<int>(j)) from = column(old_columns[i]);
      }
    }
    p.columns.push_back(std::move(from));
    p.carried.push_back(std::find(old_columns.begin(), old_columns.end(), c) != old_columns.end());
    p.defaults.push_back(default_of(c));
  }
  return p;
}

absl::Status RemapClocks(sqlite3* db, int64_t table_id, const std::vector<int>& map) {
  auto read = sqlite::Stmt::Prepare(db, "SELECT pk, clock FROM main.crlog_clock WHERE tbl = ?1");
  auto write = sqlite::Stmt::Prepare(db, "UPDATE main.crlog_clock SET clock = ?3 WHERE tbl = ?1 AND pk = ?2");
  if (!read.ok()) return read.status();
  if (!write.ok()) return write.status();
  read->BindInt(1, table_id);
  // Collected first: updating rows under a live SELECT on the same table
  // could visit them twice.
  std::vector<std::pair<std::string, std::string>> rewritten;
  while (true) {
    auto row = read->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto clock = RowClock::Decode(read->ColumnBlob(1));
    if (!clock.ok()) return clock.status();
    std::vector<CellClock> cells;
    for (CellClock c : clock->cells) {
      if (c.column >= map.size() || map[c.column] < 0) continue;  // the column was dropped
      c.column = static_cast<uint32_t>(map[c.column]);
      cells.push_back(c);
    }
    std::sort(cells.begin(), cells.end(), [](const CellClock& a, const CellClock& b) { return a.column < b.column; });
    clock->cells = std::move(cells);
    rewritten.emplace_back(std::string(read->ColumnBlob(0)), clock->Encode());
  }
  for (const auto& [pk, clock] : rewritten) {
    write->BindInt(1, table_id);
    write->BindBlob(2, pk);
    write->BindBlob(3, clock);
    if (absl::Status s = write->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OwnedChange>> TakeStashed(sqlite3* db, const std::string& table,
                                                     const std::vector<std::string>& columns) {
  std::vector<OwnedChange> ready;
  auto stashed = sqlite::Stmt::Prepare(db, "SELECT pk, cid, val, col_version, site, cl, seq FROM main.crlog_stash "
                                   "WHERE tbl = ?1 ORDER BY pk, cid");
  if (!stashed.ok()) return stashed.status();
  stashed->BindText(1, table);
  while (true) {
    auto row = stashed->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    std::string cid(stashed->ColumnText(1));
    if (std::find(columns.begin(), columns.end(), cid) == columns.end()) continue;
    OwnedChange c;
    c.table = table;
    c.pk = std::string(stashed->ColumnBlob(0));
    c.cid = std::move(cid);
    c.val = stashed->ColumnValue(2);
    c.col_version = static_cast<uint64_t>(stashed->ColumnInt(3));
    c.site = log::ToArray<16>(stashed->ColumnBlob(4));
    c.cl = static_cast<uint64_t>(stashed->ColumnInt(5));
    c.seq = static_cast<uint64_t>(stashed->ColumnInt(6));
    ready.push_back(std::move(c));
  }
  auto drop = sqlite::Stmt::Prepare(db, "DELETE FROM main.crlog_stash WHERE tbl = ?1 AND pk = ?2 AND cid = ?3");
  if (!drop.ok()) return drop.status();
  for (const OwnedChange& c : ready) {
    drop->BindText(1, c.table);
    drop->BindBlob(2, c.pk);
    drop->BindText(3, c.cid);
    if (absl::Status s = drop->Run(); !s.ok()) return s;
  }
  return ready;
}

}  // namespace crlog::engine
