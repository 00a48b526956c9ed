// Helpers for the history tests (history_test_util.h).
#include "tests/history/history_test_util.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/replica/meta_tables.h"
#include "util/sqlite/stmt.h"
#include "util/strings.h"
#include "util/sqlite/quote.h"

namespace crlog::history_test {

std::string Render(const Value& v) {
  // ValueToString shows 1.0 as 1: the type matters here.
  if (v.type == ValueType::kReal) return absl::StrFormat("r:%.17g", v.real);
  return ValueToString(v);
}

absl::StatusOr<Snapshot> ReadSnapshot(sqlite3* db, const std::string& list_sql) {
  auto names = sqlite::QueryTexts(sqlite::Stmt::Prepare(db, list_sql));
  if (!names.ok()) return names.status();
  Snapshot out;
  for (const std::string& name : *names) {
    TableSnapshot& t = out[name];
    auto cols = sqlite::Stmt::Prepare(db, "SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid");
    if (!cols.ok()) return cols.status();
    cols->BindText(1, name);
    while (true) {
      auto row = cols->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      std::string col(cols->ColumnText(0));
      if (cols->ColumnInt(1) > 0) absl::StrAppend(&col, "*", cols->ColumnInt(1));
      t.columns.push_back(std::move(col));
    }
    auto rows = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT * FROM ", sqlite::QuoteIdentifier(name)));
    if (!rows.ok()) return rows.status();
    while (true) {
      auto row = rows->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      std::vector<std::string> parts;
      for (int i = 0; i < sqlite3_column_count(rows->get()); ++i) parts.push_back(Render(rows->ColumnValue(i)));
      t.rows.push_back(absl::StrJoin(parts, "|"));
    }
    std::sort(t.rows.begin(), t.rows.end());
  }
  return out;
}

absl::StatusOr<Snapshot> ReplicaSnapshot(sqlite3* db) {
  return ReadSnapshot(db, "SELECT name FROM crlog_tables ORDER BY name");
}

absl::StatusOr<Snapshot> PlainSnapshot(sqlite3* db) {
  return ReadSnapshot(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                          "ESCAPE '\\' ORDER BY name");
}

std::string DiffSnapshots(const Snapshot& got, const Snapshot& want) {
  std::string out;
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    if (it == got.end()) {
      absl::StrAppend(&out, "  table ", name, " is missing\n");
      continue;
    }
    const TableSnapshot& g = it->second;
    if (g.columns != w.columns) {
      absl::StrAppend(&out, "  table ", name, ": columns (", absl::StrJoin(g.columns, ", "), "), want (",
                      absl::StrJoin(w.columns, ", "), ")\n");
    }
    std::vector<std::string> extra, missing;
    std::set_difference(g.rows.begin(), g.rows.end(), w.rows.begin(), w.rows.end(), std::back_inserter(extra));
    std::set_difference(w.rows.begin(), w.rows.end(), g.rows.begin(), g.rows.end(), std::back_inserter(missing));
    for (const std::string& r : extra) absl::StrAppend(&out, "  table ", name, ": extra row   ", r, "\n");
    for (const std::string& r : missing) absl::StrAppend(&out, "  table ", name, ": missing row ", r, "\n");
  }
  for (const auto& [name, g] : got) {
    if (!want.contains(name)) absl::StrAppend(&out, "  unexpected table ", name, "\n");
  }
  return out;
}

absl::StatusOr<ReplicaLog> OpenReplicaLog(const std::string& db_path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  ::crlog::sqlite::OwnedDb db(raw);
  if (rc != SQLITE_OK) return sqlite::SqliteError(raw, rc, absl::StrCat("opening ", db_path));
  ReplicaLog out;
  auto site = engine::meta::ReadSite(db.get());
  if (!site.ok()) return site.status();
  if (!site->has_value()) return absl::NotFoundError(absl::StrCat(db_path, " has no crlog_site"));
  out.site = (*site)->site;
  auto heads = engine::meta::ReadHeads(db.get());
  if (!heads.ok()) return heads.status();
  out.heads = *std::move(heads);
  log::StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  auto store = log::LogStore::Open(db_path + "-crlog", options);
  if (!store.ok()) return store.status();
  out.store = *std::move(store);
  return out;
}

absl::StatusOr<Snapshot> ReplaySnapshot(const log::LogStore& store, const engine::Point& point,
                                        const log::SiteId& local_site) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE, nullptr);
  ::crlog::sqlite::OwnedDb db(raw);
  if (rc != SQLITE_OK) return sqlite::SqliteError(raw, rc, "opening :memory:");
  engine::ReplayOptions options;
  options.local_site = local_site;
  auto stats = engine::ReplayInto(store, point, db.get(), options);
  if (!stats.ok()) return stats.status();
  auto tables = engine::ReplayedTables(db.get());
  if (!tables.ok()) return tables.status();
  if (tables->size() != stats->tables) {
    return absl::InternalError(absl::StrCat("ReplayStats::tables is ", stats->tables, " but ", tables->size(),
                                            " tables were replayed"));
  }
  return ReplicaSnapshot(db.get());
}

}  // namespace crlog::history_test
