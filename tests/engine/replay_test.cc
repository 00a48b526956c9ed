// Replay (engine/history/replay.h) and points (engine/history/point.h) on histories written
// through the built extension: schema that changes over time, a row alone,
// time points, and the errors a user meets.
#include "engine/history/replay.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "engine/replica/meta_tables.h"
#include "engine/history/point.h"
#include "engine/replica/replica.h"
#include "util/sqlite/stmt.h"
#include "engine/history/verify_database.h"
#include "log/store.h"
#include "schema/packed_pk.h"
#include "tests/support/temp_dir.h"

namespace crlog::engine {
namespace {

namespace fs = std::filesystem;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    path_ = (dir_ / "app.db").string();
  }

  static sqlite3* Open(const std::string& path, bool load) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    if (load) {
      sqlite3_enable_load_extension(db, 1);
      char* err = nullptr;
      int rc = sqlite3_load_extension(db, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err);
      EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
      sqlite3_free(err);
    }
    return db;
  }
  static void Run(sqlite3* db, const std::string& sql) {
    absl::Status s = sqlite::Exec(db, sql);
    ASSERT_TRUE(s.ok()) << s << "\n" << sql;
  }
  static std::string Query(sqlite3* db, const std::string& sql) {
    auto stmt = sqlite::Stmt::Prepare(db, sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status();
    if (!stmt.ok()) return "";
    std::string out;
    while (*stmt->Step()) {
      for (int i = 0; i < sqlite3_column_count(stmt->get()); ++i) {
        out += (i ? "|" : "") + std::string(stmt->ColumnText(i));
      }
      out += ";";
    }
    return out;
  }
  // Writes a history on a fresh replica, then closes it (the extension
  // holds the log open while loaded).
  void Write(const std::vector<std::string>& transactions) {
    sqlite3* db = Open(path_, true);
    for (const std::string& sql : transactions) Run(db, sql);
    sqlite3_close(db);
  }
  struct Opened {
    std::unique_ptr<log::LogStore> store;
    log::SiteId site{};
    std::vector<log::Hash> heads;
  };
  Opened OpenHistory() {
    Opened o;
    sqlite3* db = Open(path_, false);
    auto site = meta::ReadSite(db);
    EXPECT_TRUE(site.ok() && site->has_value());
    o.site = (*site)->site;
    o.heads = *meta::ReadHeads(db);
    sqlite3_close(db);
    log::StoreOptions options;
    options.read_only = true;
    auto store = log::LogStore::Open(LogPathFor(path_), options);
    EXPECT_TRUE(store.ok()) << store.status();
    o.store = *std::move(store);
    return o;
  }
  std::string Replayed(const Opened& h, const std::string& point_text, const std::string& sql,
                       ReplayOptions options = {}) {
    auto point = ResolvePoint(*h.store, h.site, h.heads, point_text);
    EXPECT_TRUE(point.ok()) << point.status();
    if (!point.ok()) return "";
    sqlite3* db = Open(":memory:", false);
    options.local_site = h.site;
    auto stats = ReplayInto(*h.store, *point, db, options);
    EXPECT_TRUE(stats.ok()) << stats.status();
    std::string out = Query(db, sql);
    sqlite3_close(db);
    return out;
  }

  test_support::TempDir tmp_{"crlog-replay"};
  fs::path dir_;
  std::string path_;
};

TEST_F(ReplayTest, FollowsRenamesAndAddedColumnsAndMatchesTheLiveTables) {
  Write({"CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER)",
         "SELECT crsql_as_crr('t')",
         "INSERT INTO t VALUES (1, 'one', 10), (2, 'two', 20)",
         "UPDATE t SET a = 'uno' WHERE id = 1",
         "SELECT crsql_begin_alter('t'); ALTER TABLE t RENAME COLUMN a TO name; "
         "ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 7; SELECT crsql_commit_alter('t')",
         "UPDATE t SET name = 'dos', c = 8 WHERE id = 2",
         "DELETE FROM t WHERE id = 1"});
  auto report = VerifyDatabase(path_);
  ASSERT_TRUE(report.ok()) << report.status();

  Opened h = OpenHistory();
  sqlite3* live = Open(path_, false);
  const std::string live_rows = Query(live, "SELECT * FROM t ORDER BY id");
  sqlite3_close(live);
  EXPECT_EQ(live_rows, "2|dos|20|8;");
  EXPECT_EQ(Replayed(h, "head", "SELECT * FROM t ORDER BY id"), live_rows);

  // Before the alter (the site's 3rd event: schema, insert, update), the
  // table had its first columns and row 1 still had its update.
  const std::string site = log::ToHex(h.site);
  EXPECT_EQ(Replayed(h, site + ":3", "SELECT * FROM t ORDER BY id"), "1|uno|10;2|two|20;");
  EXPECT_EQ(Replayed(h, site + ":3", "SELECT group_concat(name) FROM pragma_table_info('t')"), "id,a,b;");
  EXPECT_EQ(Replayed(h, site.substr(0, 6) + ":2", "SELECT * FROM t ORDER BY id"), "1|one|10;2|two|20;");
}

TEST_F(ReplayTest, OneRowAloneEndsAsTheFullReplayLeavesIt) {
  Write({"CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", "SELECT crsql_as_crr('t')",
         "INSERT INTO t VALUES (1, 'a'), (2, 'b')", "UPDATE t SET a = 'c' WHERE id = 2",
         "DELETE FROM t WHERE id = 2", "INSERT INTO t VALUES (2, 'd')", "UPDATE t SET a = 'e' WHERE id = 1"});
  Opened h = OpenHistory();
  ReplayOptions only;
  only.only_rows.emplace("t", schema::PackColumns({Value::Integer(2)}));
  EXPECT_EQ(Replayed(h, "head", "SELECT * FROM t ORDER BY id", only), "2|d;");
  EXPECT_EQ(Replayed(h, "head", "SELECT * FROM t WHERE id = 2"), "2|d;");
}

TEST_F(ReplayTest, SomeRowsAloneEndAsTheFullReplayLeavesThem) {
  Write({"CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", "SELECT crsql_as_crr('t')",
         "CREATE TABLE u(k TEXT PRIMARY KEY NOT NULL, v INTEGER)", "SELECT crsql_as_crr('u')",
         "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'); INSERT INTO u VALUES ('x', 1), ('y', 2)",
         "UPDATE t SET a = a || '!'; UPDATE u SET v = v * 10", "DELETE FROM t WHERE id = 3",
         "INSERT INTO t VALUES (3, 'back')"});
  Opened h = OpenHistory();
  ReplayOptions some;
  some.only_rows.emplace();
  some.only_rows->Add("T", schema::PackColumns({Value::Integer(1)}));  // names match as in SQLite
  some.only_rows->Add("t", schema::PackColumns({Value::Integer(3)}));
  some.only_rows->Add("u", schema::PackColumns({Value::Text("y")}));
  EXPECT_EQ(some.only_rows->size(), 3u);
  EXPECT_EQ(Replayed(h, "head", "SELECT * FROM t ORDER BY id", some), "1|a!;3|back;");
  EXPECT_EQ(Replayed(h, "head", "SELECT * FROM u ORDER BY k", some), "y|20;");
  EXPECT_EQ(Replayed(h, "head", "SELECT * FROM t WHERE id IN (1, 3) ORDER BY id"), "1|a!;3|back;");
}

TEST_F(ReplayTest, ATimePointIsWhatHadArrivedByThen) {
  Write({"CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", "SELECT crsql_as_crr('t')",
         "INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')", "INSERT INTO t VALUES (3, 'c')"});
  Opened h = OpenHistory();
  auto second = h.store->GetBySiteSeq(h.site, 3);
  ASSERT_TRUE(second.ok()) << second.status();
  auto arrived = h.store->ArrivalMicros(second->position);
  ASSERT_TRUE(arrived.ok() && arrived->has_value());
  auto point = ResolvePoint(*h.store, h.site, h.heads, "@" + std::to_string(**arrived / 1000000 + 1));
  ASSERT_TRUE(point.ok()) << point.status();
  ASSERT_TRUE(point->up_to_position.has_value());
  EXPECT_GE(*point->up_to_position, second->position);

  // Arrival times never go back: each position's is at least the one before.
  int64_t previous = 0;
  for (uint64_t p = 1; p <= 4; ++p) {
    auto at = h.store->ArrivalMicros(p);
    ASSERT_TRUE(at.ok() && at->has_value()) << p;
    EXPECT_GE(**at, previous);
    previous = **at;
  }
  auto before = ResolvePoint(*h.store, h.site, h.heads, "2001-01-01");
  EXPECT_TRUE(absl::IsNotFound(before.status())) << before.status();
}

TEST_F(ReplayTest, PointsThatNameNothingSayWhy) {
  Write({"CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", "SELECT crsql_as_crr('t')",
         "INSERT INTO t VALUES (1, 'a')"});
  Opened h = OpenHistory();
  const std::string site = log::ToHex(h.site);
  auto unknown = ResolvePoint(*h.store, h.site, h.heads, "ffff0000ffff0000");
  EXPECT_TRUE(absl::IsNotFound(unknown.status())) << unknown.status();
  EXPECT_NE(unknown.status().message().find("ffff0000ffff0000"), std::string::npos);
  auto past_end = ResolvePoint(*h.store, h.site, h.heads, site + ":9");
  EXPECT_TRUE(absl::IsNotFound(past_end.status())) << past_end.status();
  EXPECT_NE(past_end.status().message().find("seq 1 to 2"), std::string::npos) << past_end.status();
  auto garbage = ResolvePoint(*h.store, h.site, h.heads, "yesterday-ish");
  EXPECT_TRUE(absl::IsInvalidArgument(garbage.status())) << garbage.status();
  auto short_prefix = ResolvePoint(*h.store, h.site, h.heads, "ab");
  EXPECT_TRUE(absl::IsInvalidArgument(short_prefix.status())) << short_prefix.status();
}

TEST_F(ReplayTest, ReplayToFileWritesAnOrdinaryDatabaseAndNeverOverwrites) {
  Write({"CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", "SELECT crsql_as_crr('t')",
         "INSERT INTO t VALUES (1, 'a'), (2, 'b')"});
  Opened h = OpenHistory();
  auto point = ResolvePoint(*h.store, h.site, h.heads, "head");
  ASSERT_TRUE(point.ok());
  ReplayOptions options;
  options.local_site = h.site;
  const std::string out = (dir_ / "then.db").string();
  auto stats = ReplayToFile(*h.store, *point, out, options);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->tables, 1u);
  sqlite3* db = Open(out, false);
  EXPECT_EQ(Query(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"), "t;");
  EXPECT_EQ(Query(db, "SELECT * FROM t ORDER BY id"), "1|a;2|b;");
  sqlite3_close(db);
  auto again = ReplayToFile(*h.store, *point, out, options);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
}

}  // namespace
}  // namespace crlog::engine
