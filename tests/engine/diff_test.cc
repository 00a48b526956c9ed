// Diff (engine/history/diff.h): the diff of two points equals comparing the two
// replays row by row, on random multi-site histories, and names tables and
// columns that exist at one point only.
#include "engine/history/diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/history/history_db.h"
#include "log/hash.h"
#include "schema/packed_pk.h"
#include "tests/engine/history_test_util.h"

namespace crlog::engine {
namespace {

using history_test::Db;
using merge_sql_test::MakeCrr;
using merge_sql_test::OpenReplica;

// A diff rendered as sorted lines, so that two diffs compare as wholes and
// a mismatch shows what differs.
std::vector<std::string> Lines(const PointDiff& d) {
  std::vector<std::string> out;
  for (const std::string& t : d.tables_only_in_a) out.push_back(absl::StrCat("-table ", t));
  for (const std::string& t : d.tables_only_in_b) out.push_back(absl::StrCat("+table ", t));
  for (const TableDiff& t : d.tables) {
    for (const std::string& c : t.columns_only_in_a) out.push_back(absl::StrCat(t.table, " -column ", c));
    for (const std::string& c : t.columns_only_in_b) out.push_back(absl::StrCat(t.table, " +column ", c));
    auto row = [&](const char* sign, const DiffRow& r) {
      std::vector<std::string> values;
      for (size_t i = 0; i < r.columns.size(); ++i) {
        values.push_back(absl::StrCat(r.columns[i], "=", ValueToString(r.values[i])));
      }
      return absl::StrCat(t.table, " ", sign, "row ", log::ToHex(r.pk), " ", absl::StrJoin(values, ","));
    };
    for (const DiffRow& r : t.only_in_a) out.push_back(row("-", r));
    for (const DiffRow& r : t.only_in_b) out.push_back(row("+", r));
    for (const ChangedRow& r : t.changed) {
      for (const CellChange& c : r.cells) {
        out.push_back(absl::StrCat(t.table, " row ", log::ToHex(r.pk), " ", c.column, " ", ValueToString(c.a), "->",
                                   ValueToString(c.b)));
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The same lines, from two replays compared in C++.
std::vector<std::string> ExpectedLines(sqlite3* a, sqlite3* b) {
  std::vector<std::string> out;
  auto ta = ReplayedTables(a), tb = ReplayedTables(b);
  EXPECT_TRUE(ta.ok() && tb.ok());
  if (!ta.ok() || !tb.ok()) return out;
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (const std::string& t : *ta) {
    if (!has(*tb, t)) out.push_back(absl::StrCat("-table ", t));
  }
  for (const std::string& t : *tb) {
    if (!has(*ta, t)) {
      out.push_back(absl::StrCat("+table ", t));
      continue;
    }
    const auto cols_a = history_test::ColumnsOf(a, t), cols_b = history_test::ColumnsOf(b, t);
    for (const std::string& c : cols_a) {
      if (!has(cols_b, c)) out.push_back(absl::StrCat(t, " -column ", c));
    }
    for (const std::string& c : cols_b) {
      if (!has(cols_a, c)) out.push_back(absl::StrCat(t, " +column ", c));
    }
    const auto rows_a = history_test::Rows(a, t), rows_b = history_test::Rows(b, t);
    auto whole = [&](const char* sign, const std::string& pk, const std::vector<std::string>& cols,
                     const std::vector<Value>& values) {
      std::vector<std::string> parts;
      for (size_t i = 0; i < cols.size(); ++i) parts.push_back(absl::StrCat(cols[i], "=", ValueToString(values[i])));
      return absl::StrCat(t, " ", sign, "row ", log::ToHex(pk), " ", absl::StrJoin(parts, ","));
    };
    for (const auto& [pk, values] : rows_a) {
      auto other = rows_b.find(pk);
      if (other == rows_b.end()) {
        out.push_back(whole("-", pk, cols_a, values));
        continue;
      }
      for (size_t j = 0; j < cols_b.size(); ++j) {
        auto i = std::find(cols_a.begin(), cols_a.end(), cols_b[j]) - cols_a.begin();
        if (static_cast<size_t>(i) == cols_a.size()) continue;
        if (!(values[i] == other->second[j])) {
          out.push_back(absl::StrCat(t, " row ", log::ToHex(pk), " ", cols_b[j], " ", ValueToString(values[i]), "->",
                                     ValueToString(other->second[j])));
        }
      }
    }
    for (const auto& [pk, values] : rows_b) {
      if (!rows_a.contains(pk)) out.push_back(whole("+", pk, cols_b, values));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every event id of the log, in arrival order.
std::vector<std::string> EventIds(const HistoryDb& h) {
  std::vector<std::string> ids;
  EXPECT_TRUE(h.store().ForEach([&](const log::StoredEvent& e) {
    ids.push_back(log::ToHex(e.hash));
    return true;
  }).ok());
  return ids;
}

class DiffTest : public merge_sql_test::MergeSqlTest {};

TEST_F(DiffTest, DiffOfTwoPointsEqualsComparingTheirReplays) {
  for (uint32_t seed : {11u, 12u, 13u}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    const std::string a_path = File(absl::StrCat("a", seed, ".db")), b_path = File(absl::StrCat("b", seed, ".db"));
    {
      OPEN_REPLICA_AT(a, a_path);
      OPEN_REPLICA_AT(b, b_path);
      MakeCrr(*a, history_test::kTable, "t");
      MakeCrr(*b, history_test::kTable, "t");
      std::mt19937 rng(seed);
      history_test::RandomHistory({a.get(), b.get()}, &rng, 40);
      // A column added half way, and a table that appears late.
      a->Exec("SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN c TEXT; SELECT crsql_commit_alter('t');");
      a->Exec("UPDATE t SET c = 'see' WHERE id % 2 = 0");
      history_test::RandomHistory({a.get(), b.get()}, &rng, 30);
      MakeCrr(*a, "CREATE TABLE u(k TEXT PRIMARY KEY NOT NULL, v)", "u");
      a->Exec("INSERT INTO u VALUES ('x', 1), ('y', 2.5)");
      history_test::SendChanges(*b, *a);
      ASSERT_FALSE(HasFailure());
    }
    auto h = history_test::OpenHistory(a_path);
    ASSERT_NE(h, nullptr);
    std::vector<std::string> texts = EventIds(*h);
    texts.push_back("head");
    std::mt19937 rng(seed);
    int changed_cells = 0, added_or_removed = 0, schema = 0;
    for (int trial = 0; trial < 12; ++trial) {
      const std::string& ta = texts[rng() % texts.size()];
      const std::string& tb = texts[rng() % texts.size()];
      SCOPED_TRACE(absl::StrCat(ta.substr(0, 12), " .. ", tb.substr(0, 12)));
      auto pa = h->Resolve(ta), pb = h->Resolve(tb);
      ASSERT_TRUE(pa.ok() && pb.ok()) << pa.status() << " " << pb.status();
      auto diff = DiffPoints(h->store(), *pa, *pb, h->Options());
      ASSERT_TRUE(diff.ok()) << diff.status();
      history_test::MemoryDb ra, rb;
      history_test::Replay(*h, *pa, &ra);
      history_test::Replay(*h, *pb, &rb);
      EXPECT_EQ(Lines(*diff), ExpectedLines(ra.db, rb.db));
      EXPECT_EQ(diff->empty(), ExpectedLines(ra.db, rb.db).empty());
      schema += !diff->tables_only_in_a.empty() || !diff->tables_only_in_b.empty();
      for (const TableDiff& t : diff->tables) {
        changed_cells += !t.changed.empty();
        added_or_removed += !t.only_in_a.empty() || !t.only_in_b.empty();
        schema += !t.columns_only_in_a.empty() || !t.columns_only_in_b.empty();
        if (t.table != "t") continue;
        for (const auto* rows : {&t.only_in_a, &t.only_in_b}) {
          for (size_t i = 1; i < rows->size(); ++i) {
            EXPECT_LT((*rows)[i - 1].pk_values[0].integer, (*rows)[i].pk_values[0].integer) << "rows come in pk order";
          }
        }
      }
    }
    EXPECT_GT(changed_cells, 0);
    EXPECT_GT(added_or_removed, 0);
    EXPECT_GT(schema, 0);
  }
}

TEST_F(DiffTest, NamesTablesAndColumnsAtOnePointOnlyAndCellsThatChanged) {
  const std::string path = File("a.db");
  {
    OPEN_REPLICA_AT(a, path);
    // b has no type, so 1 and 1.0 stay what they were written as.
    MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b)", "t");
    a->Exec("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3)");
  }
  std::string early;
  {
    auto h = history_test::OpenHistory(path);
    ASSERT_NE(h, nullptr);
    early = EventIds(*h).back();
  }
  {
    OPEN_REPLICA_AT(a, path);
    a->Exec("SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN note TEXT; SELECT crsql_commit_alter('t');");
    a->Exec("UPDATE t SET a = 'TWO', note = 'n' WHERE id = 2");
    a->Exec("UPDATE t SET b = 1.0 WHERE id = 1");  // the same number as a real: a difference of type
    a->Exec("DELETE FROM t WHERE id = 3");
    a->Exec("INSERT INTO t VALUES (4, 'four', 4, NULL)");
    MakeCrr(*a, "CREATE TABLE u(k TEXT PRIMARY KEY NOT NULL, v)", "u");
    a->Exec("INSERT INTO u VALUES ('x', 1)");
  }
  auto h = history_test::OpenHistory(path);
  ASSERT_NE(h, nullptr);
  auto pa = h->Resolve(early.substr(0, 10));
  auto pb = h->Resolve("head");
  ASSERT_TRUE(pa.ok() && pb.ok());
  auto d = DiffPoints(h->store(), *pa, *pb, h->Options());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->tables_only_in_b, std::vector<std::string>{"u"});
  EXPECT_TRUE(d->tables_only_in_a.empty());
  ASSERT_EQ(d->tables.size(), 1u);
  const TableDiff& t = d->tables[0];
  EXPECT_EQ(t.table, "t");
  EXPECT_EQ(t.columns_only_in_b, std::vector<std::string>{"note"});
  ASSERT_EQ(t.only_in_a.size(), 1u);
  EXPECT_EQ(t.only_in_a[0].pk_values, std::vector<Value>{Value::Integer(3)});
  ASSERT_EQ(t.only_in_b.size(), 1u);
  EXPECT_EQ(t.only_in_b[0].pk_values, std::vector<Value>{Value::Integer(4)});
  EXPECT_EQ(t.only_in_b[0].columns, (std::vector<std::string>{"a", "b", "note"}));
  ASSERT_EQ(t.changed.size(), 2u);
  EXPECT_EQ(t.changed[0].pk_values, std::vector<Value>{Value::Integer(1)});
  ASSERT_EQ(t.changed[0].cells.size(), 1u);
  EXPECT_EQ(t.changed[0].cells[0].column, "b");
  EXPECT_EQ(t.changed[0].cells[0].a, Value::Integer(1));
  EXPECT_EQ(t.changed[0].cells[0].b, Value::Real(1.0));
  ASSERT_EQ(t.changed[1].cells.size(), 1u) << "only columns both points have are compared";
  EXPECT_EQ(t.changed[1].cells[0].column, "a");
  EXPECT_EQ(t.changed[1].cells[0].b, Value::Text("TWO"));

  auto back = DiffPoints(h->store(), *pb, *pa, h->Options());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->tables_only_in_a, std::vector<std::string>{"u"});
  ASSERT_EQ(back->tables.size(), 1u);
  EXPECT_EQ(back->tables[0].columns_only_in_a, std::vector<std::string>{"note"});
  EXPECT_EQ(back->tables[0].only_in_b.size(), 1u);

  auto same = DiffPoints(h->store(), *pb, *pb, h->Options());
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->empty());
}

}  // namespace
}  // namespace crlog::engine
