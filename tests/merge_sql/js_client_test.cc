// What real hosts send and expect, beyond the common sync loop: JavaScript
// clients send every number as a float64 and may leave seq out; a comparison
// with NULL selects nothing; last_insert_rowid() names the row an INSERT
// into a replicated table made, as on a plain table.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";
constexpr std::string_view kInsert =
    "INSERT INTO crsql_changes(\"table\", pk, cid, val, col_version, db_version, site_id, cl, seq) "
    "VALUES ('t', ?, 'a', 'v', ?, ?, ?, ?, ?)";

TEST_F(MergeSqlTest, WholeRealNumbersFromJavaScriptAreAccepted) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  ASSERT_EQ(b->Try("BEGIN"), "");
  EXPECT_EQ(Execute(*b, kInsert,
                    {Value::Blob(PkInt(1)), Value::Real(3.0), Value::Real(5.0), Value::Blob(FakeSite(1)),
                     Value::Real(1.0), Value::Real(2.0)}),
            "");
  ASSERT_EQ(b->Try("COMMIT"), "");
  auto a = SelectChanges(*b, "WHERE cid = 'a'");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].col_version, 3);
  EXPECT_EQ(a[0].seq, 2) << "a merged change keeps its seq";
  EXPECT_EQ(TableLines(*b, "t"), (std::vector<std::string>{"1|'v'|NULL"}));
}

TEST_F(MergeSqlTest, EightColumnInsertWithoutSeqIsAcceptedAsSeqZero) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  ASSERT_EQ(b->Try("BEGIN"), "");
  EXPECT_EQ(Execute(*b,
                    "INSERT INTO crsql_changes(\"table\", pk, cid, val, col_version, db_version, site_id, cl) "
                    "VALUES ('t', ?, 'a', 'v', 1, 1, ?, 1)",
                    {Value::Blob(PkInt(1)), Value::Blob(FakeSite(1))}),
            "");
  ASSERT_EQ(b->Try("COMMIT"), "");
  auto a = SelectChanges(*b, "WHERE cid = 'a'");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].seq, 0);
}

TEST_F(MergeSqlTest, NumbersThatAreNotWholeOrLeaveNoRoomAreRefusedNamingTheColumn) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  struct Case {
    Value col_version, db_version, cl;
    const char* expect;
  } cases[] = {
      {Value::Real(3.5), Value::Integer(1), Value::Integer(1), "col_version REAL 3.5, which is not a whole number"},
      {Value::Integer(1), Value::Text("2"), Value::Integer(1), "db_version TEXT"},
      {Value::Integer(1), Value::Integer(1), Value::Blob("x"), "cl a BLOB"},
      {Value::Integer(-1), Value::Integer(1), Value::Integer(1), "col_version -1; it must not be negative"},
      {Value::Integer(1), Value::Integer(INT64_MAX), Value::Integer(1), "leaves no room to grow"},
      {Value::Integer(1), Value::Null(), Value::Integer(1), "db_version NULL"},
      {Value::Integer(1), Value::Integer(1), Value::Real(-2.0), "cl -2; it must not be negative"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expect);
    ASSERT_EQ(b->Try("BEGIN"), "");
    std::string error = Execute(*b, kInsert,
                                {Value::Blob(PkInt(1)), c.col_version, c.db_version, Value::Blob(FakeSite(1)), c.cl,
                                 Value::Integer(0)});
    EXPECT_THAT(error, HasSubstr(c.expect));
    EXPECT_THAT(error, HasSubstr("table 't'"));
    ASSERT_EQ(b->Try("ROLLBACK"), "");
  }
  EXPECT_EQ(b->Int("SELECT count(*) FROM t"), 0) << "nothing of a refused change is kept";
}

TEST_F(MergeSqlTest, ComparingSiteIdWithNullSelectsNothing) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  EXPECT_EQ(a->Int("SELECT count(*) FROM crsql_changes WHERE site_id != NULL"), 0);
  EXPECT_EQ(a->Int("SELECT count(*) FROM crsql_changes WHERE site_id = NULL"), 0);
  EXPECT_EQ(a->Int("SELECT count(*) FROM crsql_changes WHERE site_id IS NULL"), 0);
  EXPECT_EQ(a->Int("SELECT count(*) FROM crsql_changes WHERE site_id IS NOT NULL"), 2);
  EXPECT_EQ(a->Int("SELECT count(*) FROM crsql_changes WHERE db_version > NULL"), 0);
}

TEST_F(MergeSqlTest, LastInsertRowidNamesTheInsertedRow) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a)", "t");
  a->Exec("INSERT INTO t VALUES (41, 'x')");
  EXPECT_EQ(a->Int("SELECT last_insert_rowid()"), 41) << "in autocommit, after commit phase one wrote crlog's tables";
  a->Exec("BEGIN; INSERT INTO t(a) VALUES ('y')");
  EXPECT_EQ(a->Int("SELECT last_insert_rowid()"), 42);
  a->Exec("COMMIT");
  EXPECT_EQ(a->Int("SELECT last_insert_rowid()"), 42) << "COMMIT leaves it as the application's INSERT set it";
  MakeCrr(*a, "CREATE TABLE k(name TEXT PRIMARY KEY NOT NULL, v)", "k");
  a->Exec("INSERT INTO k VALUES ('n', 1)");
  EXPECT_EQ(a->Int("SELECT last_insert_rowid()"), a->Int("SELECT rowid FROM k WHERE name = 'n'"));
}

}  // namespace
}  // namespace crlog::merge_sql_test
