// The fold applies events by cr-sqlite's rule, whatever order concurrent
// events arrive in.
#include "engine/fold/fold.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/replica/meta_tables.h"
#include "util/sqlite/stmt.h"
#include "log/event.h"
#include "log/row_codec.h"
#include "schema/packed_pk.h"

namespace crlog::engine {
namespace {

log::SiteId Site(uint8_t b) {
  log::SiteId s{};
  s.fill(b);
  return s;
}

struct Cell {
  uint32_t column;
  uint64_t version;
  Value value;
};

// One event of `site` with one row of todo(id, title, done).
std::pair<log::Hash, log::Event> RowEvent(log::SiteId site, uint64_t seq, int64_t id, uint64_t cl,
                                          std::vector<Cell> cells) {
  log::RowsWriter rows;
  rows.BeginRow(schema::PackColumns({Value::Integer(id)}), cl, static_cast<uint32_t>(cells.size()));
  for (const Cell& c : cells) rows.AddCell(c.column, c.version, c.value);
  log::Event e;
  e.site = site;
  e.seq = seq;
  e.lamport = seq;
  e.tables.push_back({"todo", {"title", "done"}, rows.row_count(), rows.Release(), {}});
  auto enc = log::EncodeEvent(e);
  EXPECT_TRUE(enc.ok()) << enc.status();
  return {enc->hash, e};
}

class FoldTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(); }
  void TearDown() override { sqlite3_close(db_); }
  void Reset() {
    if (db_) sqlite3_close(db_);
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(meta::CreateTables(db_).ok());
    ASSERT_TRUE(sqlite::Exec(db_, "CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0);"
                          "INSERT INTO crlog_tables(id, name) VALUES (1, 'todo');").ok());
  }
  void FoldAll(const std::vector<std::pair<log::Hash, log::Event>>& events) {
    FoldOptions options;
    options.local_site = Site(0xee);
    auto fold = Fold::Begin(db_, options);
    ASSERT_TRUE(fold.ok()) << fold.status();
    for (const auto& [hash, e] : events) {
      absl::Status s = (*fold)->Apply(hash, e);
      ASSERT_TRUE(s.ok()) << s;
    }
  }
  std::string Rows() {
    std::string out;
    auto stmt = sqlite::Stmt::Prepare(db_, "SELECT id, quote(title), quote(done) FROM todo ORDER BY id");
    EXPECT_TRUE(stmt.ok());
    while (*stmt->Step()) {
      out += std::to_string(stmt->ColumnInt(0)) + ":" + std::string(stmt->ColumnText(1)) + "," +
             std::string(stmt->ColumnText(2)) + ";";
    }
    return out;
  }
  sqlite3* db_ = nullptr;
};

TEST_F(FoldTest, InsertUpdateDeleteAndResurrect) {
  FoldAll({RowEvent(Site(1), 1, 7, 1, {{0, 1, Value::Text("a")}, {1, 1, Value::Integer(0)}}),
           RowEvent(Site(1), 2, 7, 1, {{1, 2, Value::Integer(1)}})});
  EXPECT_EQ(Rows(), "7:'a',1;");
  FoldAll({RowEvent(Site(1), 3, 7, 2, {})});
  EXPECT_EQ(Rows(), "");
  FoldAll({RowEvent(Site(1), 4, 7, 3, {{0, 1, Value::Text("again")}})});
  // Back to life: the incoming cell wins, the others start from defaults.
  EXPECT_EQ(Rows(), "7:'again',0;");
}

TEST_F(FoldTest, ConcurrentWritesConvergeInEveryOrder) {
  // Two sites write the same cells concurrently: higher column version wins,
  // then the greater value (any integer beats any real beats any text).
  std::vector<std::pair<log::Hash, log::Event>> events = {
      RowEvent(Site(1), 1, 1, 1, {{0, 1, Value::Text("from one")}, {1, 2, Value::Real(1.5)}}),
      RowEvent(Site(2), 1, 1, 1, {{0, 2, Value::Text("from two")}, {1, 2, Value::Integer(1)}}),
      RowEvent(Site(3), 1, 1, 1, {{0, 1, Value::Text("zzz")}, {1, 1, Value::Integer(99)}}),
  };
  std::vector<int> order = {0, 1, 2};
  do {
    Reset();
    std::vector<std::pair<log::Hash, log::Event>> arranged;
    for (int i : order) arranged.push_back(events[i]);
    FoldAll(arranged);
    EXPECT_EQ(Rows(), "1:'from two',1;") << "order " << order[0] << order[1] << order[2];
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_F(FoldTest, ADeleteBeatsAConcurrentUpdateOfTheSameLife) {
  auto insert = RowEvent(Site(1), 1, 5, 1, {{0, 1, Value::Text("x")}, {1, 1, Value::Integer(0)}});
  auto update = RowEvent(Site(2), 1, 5, 1, {{0, 9, Value::Text("edited")}});
  auto del = RowEvent(Site(1), 2, 5, 2, {});
  FoldAll({insert, del, update});
  EXPECT_EQ(Rows(), "");
  Reset();
  FoldAll({insert, update, del});
  EXPECT_EQ(Rows(), "");
}

}  // namespace
}  // namespace crlog::engine
