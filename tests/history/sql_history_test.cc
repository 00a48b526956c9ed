// History from SQL, through the built extension as an app loads it:
// crlog_replay(point, path) writes the tables at a point to a new file,
// crlog_attach_at(point, schema) attaches them read-only, crlog_blame and
// crlog_cell_history answer who wrote each cell and what it held before.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "crlog/value.h"
#include "tests/capture/capture_test_util.h"
#include "tests/history/history_test_util.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::history_test {
namespace {

using capture_test::Db;
using capture_test::TempDir;
using merge_sql_test::Execute;
using merge_sql_test::Params;
using merge_sql_test::Query;

class SqlHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = merge_sql_test::OpenReplica(path_);
    ASSERT_TRUE(db_->loaded()) << db_->load_error();
    db_->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b);"
        "CREATE TABLE tags(x NOT NULL, y NOT NULL, n, PRIMARY KEY (x, y));"
        "SELECT crsql_as_crr('t'); SELECT crsql_as_crr('tags');");
    db_->Exec("INSERT INTO t VALUES (1, 'x', 10), (2, 'gone', 20)");
    e1_ = Newest();
    db_->Exec("UPDATE t SET a = 'y' WHERE id = 1");
    e2_ = Newest();
    db_->Exec("BEGIN; UPDATE t SET b = 11 WHERE id = 1; DELETE FROM t WHERE id = 2; COMMIT");
    e3_ = Newest();
    db_->Exec("INSERT INTO tags VALUES (1, 'a', 'first')");
    e4_ = Newest();
    db_->Exec("UPDATE tags SET n = 'second' WHERE x = 1 AND y = 'a'");
    e5_ = Newest();
    e4_ = Newest();
    site_ = db_->Bytes("SELECT crsql_site_id()");
  }

  // The id (hex) of the newest event.
  std::string Newest() { return db_->Bytes("SELECT lower(hex(hash)) FROM crlog_watermark"); }
  std::string Error(const std::string& sql, const Params& params = {}) { return Execute(*db_, sql, params); }
  std::vector<std::vector<std::string>> Rows(const std::string& sql) { return db_->Rows(sql); }

  TempDir dir_;
  std::string path_ = dir_.File("app.db");
  std::unique_ptr<Db> db_;
  std::string e1_, e2_, e3_, e4_, e5_, site_;
};

// --- crlog_replay -------------------------------------------------------------

TEST_F(SqlHistoryTest, ReplayAtHeadWritesTheTablesAsTheyAreToANewFile) {
  const std::string out = dir_.File("copy.db");
  Value folded = db_->One(absl::StrCat("SELECT crlog_replay('head', '", out, "')"));
  ASSERT_EQ(folded.type, ValueType::kInteger);
  EXPECT_EQ(folded.integer, db_->Int("SELECT count(*) FROM crlog_events"));
  Db copy(out, /*load_extension=*/false);
  auto want = ReplicaSnapshot(db_->get());
  auto got = PlainSnapshot(copy.get());
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(DiffSnapshots(*got, *want), "");
  // An ordinary database: no crlog tables in it.
  EXPECT_EQ(copy.Int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'crlog%'"), 0);
}

TEST_F(SqlHistoryTest, ReplayAtAnEventWritesTheTablesAsTheyStoodThen) {
  const std::string out = dir_.File("then.db");
  EXPECT_EQ(Error("SELECT crlog_replay(?, ?)", {Value::Text(e2_.substr(0, 12)), Value::Text(out)}), "");
  Db then(out, false);
  EXPECT_EQ(then.Rows("SELECT * FROM t ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"1", "'y'", "10"}, {"2", "'gone'", "20"}}));
  EXPECT_EQ(then.Int("SELECT count(*) FROM tags"), 0);
}

TEST_F(SqlHistoryTest, ReplayAtASiteSeqAndAtATime) {
  const std::string site = db_->Bytes("SELECT lower(hex(crsql_site_id()))");
  const int64_t seq = db_->Int("SELECT seq FROM crlog_events WHERE hash = '" + e1_ + "'");
  const std::string by_seq = dir_.File("seq.db");
  EXPECT_EQ(Error("SELECT crlog_replay(?, ?)", {Value::Text(absl::StrCat(site, ":", seq)), Value::Text(by_seq)}), "");
  Db a(by_seq, false);
  EXPECT_EQ(a.Rows("SELECT a, b FROM t WHERE id = 1"), (std::vector<std::vector<std::string>>{{"'x'", "10"}}));
  // A time after everything: the whole log.
  const std::string by_time = dir_.File("time.db");
  EXPECT_EQ(Error("SELECT crlog_replay('2999-01-01', ?)", {Value::Text(by_time)}), "");
  Db b(by_time, false);
  EXPECT_EQ(b.Rows("SELECT * FROM tags"), (std::vector<std::vector<std::string>>{{"1", "'a'", "'second'"}}));
}

TEST_F(SqlHistoryTest, ReplayErrorsAreSqlErrorsNamingTheCause) {
  const std::string out = dir_.File("x.db");
  std::string err = Error("SELECT crlog_replay('nonsense', ?)", {Value::Text(out)});
  EXPECT_NE(err.find("'nonsense' is not a point"), std::string::npos) << err;
  err = Error("SELECT crlog_replay('ffffffffffff', ?)", {Value::Text(out)});
  EXPECT_NE(err.find("ffffffffffff"), std::string::npos) << err;
  err = Error("SELECT crlog_replay('2001-01-01', ?)", {Value::Text(out)});
  EXPECT_NE(err.find("no event had arrived"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // An existing file is never overwritten.
  EXPECT_EQ(Error("SELECT crlog_replay('head', ?)", {Value::Text(out)}), "");
  err = Error("SELECT crlog_replay('head', ?)", {Value::Text(out)});
  EXPECT_NE(err.find("already exists"), std::string::npos) << err;
  err = Error("SELECT crlog_replay('head', NULL)");
  EXPECT_NE(err.find("crlog_replay takes a point and the path"), std::string::npos) << err;
  err = Error("SELECT crlog_replay('head')");
  EXPECT_NE(err.find("wrong number of arguments"), std::string::npos) << err;
}

// --- crlog_attach_at ----------------------------------------------------------

TEST_F(SqlHistoryTest, AttachAtShowsThePastAsAReadOnlySchema) {
  EXPECT_EQ(Error("SELECT crlog_attach_at(?, 'past')", {Value::Text(e1_)}), "");
  EXPECT_EQ(Rows("SELECT id, a, b FROM past.t ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"1", "'x'", "10"}, {"2", "'gone'", "20"}}));
  // Joined with today's tables.
  EXPECT_EQ(Rows("SELECT now.id, old.a, now.a FROM t AS now JOIN past.t AS old USING (id)"),
            (std::vector<std::vector<std::string>>{{"1", "'x'", "'y'"}}));
  std::string err = Error("UPDATE past.t SET a = 'no'");
  EXPECT_NE(err.find("readonly"), std::string::npos) << err;
  // Only the attached schema is read-only.
  EXPECT_EQ(Error("INSERT INTO t VALUES (9, 'still', 'writable')"), "");
}

TEST_F(SqlHistoryTest, AttachAtHasOnlyTheReplicatedTables) {
  EXPECT_EQ(Error("SELECT crlog_attach_at('head', 'now')"), "");
  EXPECT_EQ(Rows("SELECT name FROM now.sqlite_schema WHERE type = 'table' ORDER BY name"),
            (std::vector<std::vector<std::string>>{{"'t'"}, {"'tags'"}}));
}

TEST_F(SqlHistoryTest, AttachAtWorksInsideATransactionAndDetachFreesTheName) {
  db_->Exec("BEGIN; INSERT INTO t VALUES (5, 'uncommitted', 0)");
  EXPECT_EQ(Error("SELECT crlog_attach_at('head', 'h')"), "");
  // head is what was committed.
  EXPECT_EQ(db_->Int("SELECT count(*) FROM h.t WHERE id = 5"), 0);
  db_->Exec("COMMIT");
  EXPECT_EQ(Error("DETACH h"), "");
  EXPECT_EQ(Error("SELECT crlog_attach_at('head', 'h')"), "");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM h.t WHERE id = 5"), 1);
}

TEST_F(SqlHistoryTest, AttachAtErrorsNameTheCause) {
  std::string err = Error("SELECT crlog_attach_at('soon', 'x')");
  EXPECT_NE(err.find("'soon' is not a point"), std::string::npos) << err;
  err = Error("SELECT crlog_attach_at('head', 'main')");
  EXPECT_NE(err.find("'main' is SQLite's own schema"), std::string::npos) << err;
  EXPECT_EQ(Error("SELECT crlog_attach_at('head', 'x')"), "");
  err = Error("SELECT crlog_attach_at('head', 'X')");
  EXPECT_NE(err.find("already attached as 'X'"), std::string::npos) << err;
  err = Error("SELECT crlog_attach_at('head', '')");
  EXPECT_NE(err.find("crlog_attach_at takes a point and a schema name"), std::string::npos) << err;
}

// --- crlog_blame -------------------------------------------------------------

TEST_F(SqlHistoryTest, BlameNamesTheEventSiteAndVersionOfEachCell) {
  auto rows = Query(*db_,
                    "SELECT \"column\", value, event, site, col_version, kind, time IS NOT NULL, "
                    "arrival IS NOT NULL FROM crlog_blame('t', 1) WHERE \"column\" != '-1'");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].bytes, "a");
  EXPECT_EQ(rows[0][1], Value::Text("y"));
  EXPECT_EQ(rows[0][2].bytes, e2_);
  EXPECT_EQ(rows[0][3], Value::Blob(site_));
  EXPECT_EQ(rows[0][4], Value::Integer(2));
  EXPECT_EQ(rows[0][5], Value::Text("change"));
  EXPECT_EQ(rows[0][6], Value::Integer(1));
  EXPECT_EQ(rows[0][7], Value::Integer(1));
  EXPECT_EQ(rows[1][0].bytes, "b");
  EXPECT_EQ(rows[1][1], Value::Integer(11));
  EXPECT_EQ(rows[1][2].bytes, e3_);
  EXPECT_EQ(rows[1][4], Value::Integer(2));
}

TEST_F(SqlHistoryTest, BlameTakesACompositePkPacked) {
  auto rows = Query(*db_, "SELECT \"column\", value, event FROM crlog_blame('tags', crsql_pack_columns(1, 'a')) "
                          "WHERE \"column\" != '-1'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].bytes, "n");
  EXPECT_EQ(rows[0][1], Value::Text("second"));
  EXPECT_EQ(rows[0][2].bytes, e5_);
}

TEST_F(SqlHistoryTest, BlameOfADeletedRowShowsItsDeletion) {
  auto rows = Query(*db_, "SELECT \"column\", value, event FROM crlog_blame('t', 2)");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].bytes, "-1");
  EXPECT_EQ(rows[0][1], Value::Integer(0));
  EXPECT_EQ(rows[0][2].bytes, e3_);
}

TEST_F(SqlHistoryTest, BlameNamesTheSiteAMergedValueCameFrom) {
  auto other = merge_sql_test::OpenReplica(dir_.File("other.db"));
  ASSERT_TRUE(other->loaded()) << other->load_error();
  other->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b); SELECT crsql_as_crr('t');");
  EXPECT_EQ(Execute(*other, "SELECT crlog_apply(?)", {db_->One("SELECT crlog_export()")}), "");
  other->Exec("UPDATE t SET a = 'from other' WHERE id = 1");
  const std::string other_event = other->Bytes("SELECT lower(hex(hash)) FROM crlog_watermark");
  const std::string other_site = other->Bytes("SELECT crsql_site_id()");
  EXPECT_EQ(Execute(*db_, "SELECT crlog_apply(?)", {other->One("SELECT crlog_export()")}), "");
  auto rows = Query(*db_, "SELECT value, event, site FROM crlog_blame('t', 1) WHERE \"column\" = 'a'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], Value::Text("from other"));
  EXPECT_EQ(rows[0][1].bytes, other_event);
  EXPECT_EQ(rows[0][2], Value::Blob(other_site));
}

TEST_F(SqlHistoryTest, BlameErrorsNameTheTableOrRow) {
  std::string err = Error("SELECT * FROM crlog_blame('nope', 1)");
  EXPECT_NE(err.find("nope"), std::string::npos) << err;
  err = Error("SELECT * FROM crlog_blame('t', 404)");
  EXPECT_NE(err.find("crlog_blame"), std::string::npos) << err;
  err = Error("SELECT * FROM crlog_blame('t')");
  EXPECT_NE(err.find("crlog_blame takes a table name and a pk"), std::string::npos) << err;
  err = Error("SELECT * FROM crlog_blame");
  EXPECT_NE(err.find("crlog_blame takes a table name and a pk"), std::string::npos) << err;
}

// --- crlog_cell_history ---------------------------------------------------------

TEST_F(SqlHistoryTest, CellHistoryListsEveryValueInOrder) {
  auto rows = Rows("SELECT \"column\", value, event, col_version FROM crlog_cell_history('t', 1)");
  auto q = [](const std::string& hex) { return absl::StrCat("'", hex, "'"); };
  std::vector<std::vector<std::string>> want = {
      {"'-1'", "1", q(e1_), "1"},  {"'a'", "'x'", q(e1_), "1"}, {"'b'", "10", q(e1_), "1"},
      {"'a'", "'y'", q(e2_), "2"}, {"'b'", "11", q(e3_), "2"},
  };
  EXPECT_EQ(rows, want);
}

TEST_F(SqlHistoryTest, CellHistoryOfOneColumn) {
  EXPECT_EQ(Rows("SELECT value FROM crlog_cell_history('t', 1, 'a')"),
            (std::vector<std::vector<std::string>>{{"'x'"}, {"'y'"}}));
  // The same, filtered with WHERE.
  EXPECT_EQ(Rows("SELECT value FROM crlog_cell_history('t', 1) WHERE \"column\" = 'a'"),
            (std::vector<std::vector<std::string>>{{"'x'"}, {"'y'"}}));
}

TEST_F(SqlHistoryTest, CellHistoryOfADeletedRowEndsWithItsDeletion) {
  EXPECT_EQ(Rows("SELECT \"column\", value FROM crlog_cell_history('t', 2)"),
            (std::vector<std::vector<std::string>>{{"'-1'", "1"}, {"'a'", "'gone'"}, {"'b'", "20"}, {"'-1'", "0"}}));
}

TEST_F(SqlHistoryTest, CellHistoryTakesACompositePkAndAPoint) {
  EXPECT_EQ(Rows("SELECT \"column\", value FROM crlog_cell_history('tags', crsql_pack_columns(1, 'a'), 'n')"),
            (std::vector<std::vector<std::string>>{{"'n'", "'first'"}, {"'n'", "'second'"}}));
  // Up to a point: what the cell had held by then.
  EXPECT_EQ(Rows(absl::StrCat("SELECT value FROM crlog_cell_history('t', 1, 'a', '", e1_, "')")),
            (std::vector<std::vector<std::string>>{{"'x'"}}));
  EXPECT_EQ(Rows("SELECT count(*) FROM crlog_cell_history('t', 1, NULL, '2999-01-01')"),
            (std::vector<std::vector<std::string>>{{"5"}}));
}

TEST_F(SqlHistoryTest, CellHistoryAgreesWithCrlogOps) {
  // crlog_ops lists every op the log holds for the row; the history of a row
  // written only here holds the same values.
  EXPECT_EQ(Rows("SELECT \"column\", value, event, position, col_version FROM crlog_cell_history('t', 1) "
                 "WHERE \"column\" != '-1'"),
            Rows("SELECT cid, val, event, position, col_version FROM crlog_ops "
                 "WHERE \"table\" = 't' AND pk = crsql_pack_columns(1) AND cid != '-1' ORDER BY position"));
}

TEST_F(SqlHistoryTest, CellHistoryJoinsWithATableOfKeys) {
  // The arguments may come from another table: one history per row.
  EXPECT_EQ(Rows("SELECT t.id, h.value FROM t, crlog_cell_history('t', t.id, 'a') AS h ORDER BY t.id, h.position"),
            (std::vector<std::vector<std::string>>{{"1", "'x'"}, {"1", "'y'"}}));
}

TEST_F(SqlHistoryTest, CellHistoryMatchesTheTableNameAsSqliteDoes) {
  // 'T' names table t, as it does in SQL and in crlog_blame.
  EXPECT_EQ(Rows("SELECT \"column\", value FROM crlog_cell_history('T', 2)"),
            (std::vector<std::vector<std::string>>{{"'-1'", "1"}, {"'a'", "'gone'"}, {"'b'", "20"}, {"'-1'", "0"}}));
  EXPECT_EQ(Rows("SELECT value FROM crlog_blame('T', 1) WHERE \"column\" = 'a'"),
            (std::vector<std::vector<std::string>>{{"'y'"}}));
}

TEST_F(SqlHistoryTest, CellHistoryErrorsNameTheCause) {
  std::string err = Error("SELECT * FROM crlog_cell_history('t', 1, NULL, 'tomorrow-ish')");
  EXPECT_NE(err.find("'tomorrow-ish' is not a point"), std::string::npos) << err;
  err = Error("SELECT * FROM crlog_cell_history()");
  EXPECT_NE(err.find("crlog_cell_history takes a table name and a pk"), std::string::npos) << err;
}

}  // namespace
}  // namespace crlog::history_test
