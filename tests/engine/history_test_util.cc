// Helpers for the history tests (history_test_util.h).
#include "tests/engine/history_test_util.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/sqlite/stmt.h"
#include "gtest/gtest.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"

namespace crlog::engine::history_test {

using merge_sql_test::Execute;
using merge_sql_test::Query;

void ApplyAll(Db& from, Db& to) {
  auto bundle = Query(from, "SELECT crlog_export()");
  ASSERT_EQ(bundle.size(), 1u);
  std::string err = Execute(to, "SELECT crlog_apply(?)", {bundle[0][0]});
  ASSERT_EQ(err, "") << "crlog_apply";
}

void SendChanges(Db& from, Db& to) {
  merge_sql_test::SyncCursor cursor;
  ASSERT_EQ(merge_sql_test::SyncOnce(from, to, &cursor), "") << "INSERT INTO crsql_changes";
}

void RandomHistory(const std::vector<Db*>& replicas, std::mt19937* rng, int steps) {
  auto pick = [&](int n) { return static_cast<int>((*rng)() % static_cast<unsigned>(n)); };
  for (int step = 0; step < steps; ++step) {
    Db& db = *replicas[pick(static_cast<int>(replicas.size()))];
    if (replicas.size() > 1 && pick(10) < 3) {
      Db& other = *replicas[pick(static_cast<int>(replicas.size()))];
      if (&other == &db) continue;
      if (pick(2) == 0) {
        ApplyAll(other, db);
      } else {
        SendChanges(other, db);
      }
      continue;
    }
    const int ops = 1 + pick(3);
    if (ops > 1) db.Exec("BEGIN");
    for (int i = 0; i < ops; ++i) {
      const int64_t id = 1 + pick(6);
      const bool exists = !Query(db, "SELECT 1 FROM t WHERE id = ?", {Value::Integer(id)}).empty();
      std::string err;
      if (!exists) {
        err = Execute(db, "INSERT INTO t(id, a, b) VALUES (?, ?, ?)",
                      {Value::Integer(id), Value::Text(absl::StrCat("v", pick(100))), Value::Integer(pick(10))});
      } else if (int what = pick(4); what < 2) {
        err = Execute(db, "UPDATE t SET a = ? WHERE id = ?", {Value::Text(absl::StrCat("v", pick(100))), Value::Integer(id)});
      } else if (what == 2) {
        err = Execute(db, "UPDATE t SET b = ? WHERE id = ?", {Value::Integer(pick(10)), Value::Integer(id)});
      } else {
        err = Execute(db, "DELETE FROM t WHERE id = ?", {Value::Integer(id)});
      }
      ASSERT_EQ(err, "") << "step " << step;
    }
    if (ops > 1) db.Exec("COMMIT");
  }
}

MemoryDb::MemoryDb() { sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, nullptr); }
MemoryDb::~MemoryDb() { sqlite3_close_v2(db); }

void Replay(const HistoryDb& h, const Point& point, MemoryDb* out) {
  auto stats = ReplayInto(h.store(), point, out->db, h.Options());
  ASSERT_TRUE(stats.ok()) << "replaying " << point.text << ": " << stats.status();
}

std::vector<std::string> ColumnsOf(sqlite3* db, std::string_view table) {
  std::vector<std::string> out;
  auto info = schema::ReadTableInfo(db, "main", table);
  if (!info.ok()) return out;
  for (int i : info->non_pk) out.push_back(info->columns[i].name);
  return out;
}

std::map<std::string, std::vector<Value>> Rows(sqlite3* db, std::string_view table) {
  std::map<std::string, std::vector<Value>> out;
  auto info = schema::ReadTableInfo(db, "main", table);
  if (!info.ok()) return out;
  std::vector<std::string> cols;
  for (int i : info->pk) cols.push_back(sqlite::QuoteIdentifier(info->columns[i].name));
  for (int i : info->non_pk) cols.push_back(sqlite::QuoteIdentifier(info->columns[i].name));
  auto stmt = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT ", absl::StrJoin(cols, ", "), " FROM main.",
                                             sqlite::QuoteIdentifier(info->name)));
  EXPECT_TRUE(stmt.ok()) << stmt.status();
  if (!stmt.ok()) return out;
  while (true) {
    auto row = stmt->Step();
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok() || !*row) break;
    std::vector<Value> pk, values;
    int i = 0;
    for (size_t k = 0; k < info->pk.size(); ++k) pk.push_back(stmt->ColumnValue(i++));
    for (size_t k = 0; k < info->non_pk.size(); ++k) values.push_back(stmt->ColumnValue(i++));
    out[schema::PackColumns(pk)] = std::move(values);
  }
  return out;
}

std::unique_ptr<HistoryDb> OpenHistory(const std::string& path) {
  auto h = HistoryDb::Open(path);
  EXPECT_TRUE(h.ok()) << "opening the history of " << path << ": " << h.status();
  if (!h.ok()) return nullptr;
  return *std::move(h);
}

}  // namespace crlog::engine::history_test
