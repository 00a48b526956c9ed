// DiffPoints (engine/history/diff.h): replay A into an in-memory database, B into a
// second one sharing its cache, attach B to A's connection, and let SQL find
// the differences table by table.
#include "engine/history/diff.h"

#include "util/sqlite/api.h"
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/sqlite/stmt.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"
#include "schema/where_pk.h"

namespace crlog::engine {
namespace {

absl::StatusOr<sqlite::OwnedDb> OpenMemory(const std::string& uri) {
  return sqlite::OpenDb(uri, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                "opening an in-memory database for a diff");
}

std::vector<std::string> Quoted(const std::vector<std::string>& names, std::string_view prefix = "") {
  std::vector<std::string> out;
  for (const std::string& n : names) out.push_back(absl::StrCat(Sv(prefix), sqlite::QuoteIdentifier(n)));
  return out;
}

std::vector<std::string> Names(const schema::TableInfo& info, const std::vector<int>& indexes) {
  std::vector<std::string> out;
  for (int i : indexes) out.push_back(info.columns[i].name);
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Rows of `side`.T whose pk `other`.T lacks, with all of `side`'s columns.
absl::StatusOr<std::vector<DiffRow>> RowsOnlyIn(sqlite3* db, const std::string& side, const std::string& other,
                                                const std::string& table, const std::vector<std::string>& pk,
                                                const std::vector<std::string>& columns) {
  const std::string q = sqlite::QuoteIdentifier(table);
  const std::string pk_list = absl::StrJoin(Quoted(pk), ", ");
  std::vector<std::string> select = Quoted(pk);
  for (const std::string& c : Quoted(columns)) select.push_back(c);
  auto stmt = sqlite::Stmt::Prepare(
      db, absl::StrCat("SELECT ", absl::StrJoin(select, ", "), " FROM ", side, ".", q, " WHERE (", pk_list,
                       ") IN (SELECT ", pk_list, " FROM ", side, ".", q, " EXCEPT SELECT ", pk_list, " FROM ",
                       other, ".", q, ") ORDER BY ", pk_list));
  if (!stmt.ok()) return stmt.status();
  std::vector<DiffRow> rows;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    DiffRow r;
    int i = 0;
    for (size_t k = 0; k < pk.size(); ++k) r.pk_values.push_back(stmt->ColumnValue(i++));
    r.pk = schema::PackColumns(r.pk_values);
    r.columns = columns;
    for (size_t k = 0; k < columns.size(); ++k) r.values.push_back(stmt->ColumnValue(i++));
    rows.push_back(std::move(r));
  }
  return rows;
}

// Rows at both points whose `common` columns differ: in type or content,
// compared byte for byte whatever the column's collation.
absl::StatusOr<std::vector<ChangedRow>> ChangedRows(sqlite3* db, const std::string& table,
                                                    const std::vector<std::string>& pk,
                                                    const std::vector<std::string>& common) {
  if (common.empty()) return std::vector<ChangedRow>();
  const std::string q = sqlite::QuoteIdentifier(table);
  std::vector<std::string> select, differs, order;
  for (const std::string& p : pk) {
    const std::string c = sqlite::QuoteIdentifier(p);
    select.push_back(absl::StrCat("x.", c));
    order.push_back(absl::StrCat("x.", c));
  }
  for (const std::string& name : common) {
    const std::string c = sqlite::QuoteIdentifier(name);
    select.push_back(absl::StrCat("x.", c));
    select.push_back(absl::StrCat("y.", c));
    differs.push_back(absl::StrCat("x.", c, " IS NOT y.", c, " COLLATE BINARY OR typeof(x.", c, ") <> typeof(y.",
                                   c, ")"));
  }
  auto stmt = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT ", absl::StrJoin(select, ", "), " FROM main.", q,
                                             " x JOIN b.", q, " y ON ", schema::PkEquals(pk, "y.", "x."), " WHERE ",
                                             absl::StrJoin(differs, " OR "), " ORDER BY ",
                                             absl::StrJoin(order, ", ")));
  if (!stmt.ok()) return stmt.status();
  std::vector<ChangedRow> rows;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ChangedRow r;
    int i = 0;
    for (size_t k = 0; k < pk.size(); ++k) r.pk_values.push_back(stmt->ColumnValue(i++));
    r.pk = schema::PackColumns(r.pk_values);
    for (const std::string& name : common) {
      Value a = stmt->ColumnValue(i++);
      Value b = stmt->ColumnValue(i++);
      if (!(a == b)) r.cells.push_back(CellChange{name, std::move(a), std::move(b)});
    }
    if (!r.cells.empty()) rows.push_back(std::move(r));
  }
  return rows;
}

absl::StatusOr<TableDiff> DiffTable(sqlite3* db, const std::string& table) {
  TableDiff d;
  d.table = table;
  auto a = schema::ReadTableInfo(db, "main", table);
  if (!a.ok()) return a.status();
  auto b = schema::ReadTableInfo(db, "b", table);
  if (!b.ok()) return b.status();
  const std::vector<std::string> pk_a = Names(*a, a->pk), pk_b = Names(*b, b->pk);
  const std::vector<std::string> cols_a = Names(*a, a->non_pk), cols_b = Names(*b, b->non_pk);
  d.pk_columns = pk_b;
  for (const std::string& c : cols_a) {
    if (!Contains(cols_b, c)) d.columns_only_in_a.push_back(c);
  }
  std::vector<std::string> common;
  for (const std::string& c : cols_b) {
    if (Contains(cols_a, c)) {
      common.push_back(c);
    } else {
      d.columns_only_in_b.push_back(c);
    }
  }
  if (pk_a != pk_b) {
    d.pk_differs = true;
    return d;
  }
  auto only_a = RowsOnlyIn(db, "main", "b", table, pk_a, cols_a);
  if (!only_a.ok()) return only_a.status();
  d.only_in_a = *std::move(only_a);
  auto only_b = RowsOnlyIn(db, "b", "main", table, pk_b, cols_b);
  if (!only_b.ok()) return only_b.status();
  d.only_in_b = *std::move(only_b);
  auto changed = ChangedRows(db, table, pk_a, common);
  if (!changed.ok()) return changed.status();
  d.changed = *std::move(changed);
  return d;
}

}  // namespace

absl::StatusOr<PointDiff> DiffPoints(const log::LogStore& store, const Point& a, const Point& b,
                                     const ReplayOptions& options) {
  PointDiff out;
  ReplayOptions o = options;
  o.only_rows.reset();
  o.observer = nullptr;

  auto main = OpenMemory(":memory:");
  if (!main.ok()) return main.status();
  if (options.progress) o.progress = [&](uint64_t done, uint64_t total) { options.progress(done, 2 * total); };
  auto stats_a = ReplayInto(store, a, main->get(), o);
  if (!stats_a.ok()) return stats_a.status();
  out.a = *stats_a;

  // B lives in a named in-memory database whose cache A's connection
  // shares through ATTACH; the name is unique in this process.
  static std::atomic<uint64_t> counter{0};
  const std::string uri = absl::StrCat("file:crlog-diff-", getpid(), "-", counter.fetch_add(1),
                                       "?mode=memory&cache=shared");
  auto other = OpenMemory(uri);
  if (!other.ok()) return other.status();
  if (options.progress) {
    const uint64_t before = out.a.events;
    o.progress = [&, before](uint64_t done, uint64_t total) { options.progress(before + done, before + total); };
  }
  auto stats_b = ReplayInto(store, b, other->get(), o);
  if (!stats_b.ok()) return stats_b.status();
  out.b = *stats_b;

  auto attach = sqlite::Stmt::Prepare(main->get(), "ATTACH ?1 AS b");
  if (!attach.ok()) return attach.status();
  attach->BindText(1, uri);
  if (absl::Status s = attach->Run(); !s.ok()) return s;

  auto names_a = ReplayedTables(main->get());
  if (!names_a.ok()) return names_a.status();
  auto names_b = sqlite::QueryTexts(sqlite::Stmt::Prepare(main->get(), "SELECT name FROM b.crlog_tables ORDER BY name"));
  if (!names_b.ok()) return names_b.status();
  for (const std::string& t : *names_a) {
    if (!Contains(*names_b, t)) out.tables_only_in_a.push_back(t);
  }
  for (const std::string& t : *names_b) {
    if (!Contains(*names_a, t)) {
      out.tables_only_in_b.push_back(t);
      continue;
    }
    auto d = DiffTable(main->get(), t);
    if (!d.ok()) return d.status();
    if (!d->empty()) out.tables.push_back(*std::move(d));
  }
  if (absl::Status s = sqlite::Exec(main->get(), "DETACH b"); !s.ok()) return s;
  return out;
}

}  // namespace crlog::engine
