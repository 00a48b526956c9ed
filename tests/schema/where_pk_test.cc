// A row by its primary key in SQL text (schema/where_pk.h): the terms, their
// quoting and numbering, and that SQLite finds the row by them.
#include "schema/where_pk.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "util/sqlite/stmt.h"

namespace crlog::schema {
namespace {

TEST(WherePkTest, OneTermAPkColumnNumberedInPkOrder) {
  EXPECT_EQ(WherePk(std::vector<std::string>{"a"}), "\"a\" = ?1");
  EXPECT_EQ(WherePk(std::vector<std::string>{"b", "a"}), "\"b\" = ?1 AND \"a\" = ?2");
  EXPECT_EQ(WherePk(std::vector<std::string>{}), "");
}

TEST(WherePkTest, NamesAreQuotedSoAnyNameWorks) {
  EXPECT_EQ(WherePk(std::vector<std::string>{"my \"odd\" col", "and"}),
            "\"my \"\"odd\"\" col\" = ?1 AND \"and\" = ?2");
}

TEST(WherePkTest, AStartingParameterAndAQualifierShiftAndPrefixEachTerm) {
  EXPECT_EQ(WherePk(std::vector<std::string>{"a", "b"}, 3, "x."), "x.\"a\" = ?3 AND x.\"b\" = ?4");
}

TEST(WherePkTest, TableInfoGivesItsPkColumnsInPkOrder) {
  TableInfo info;
  info.columns = {{"v", "", false, false, 0}, {"k2", "", true, false, 2}, {"k1", "", true, false, 1}};
  info.pk = {2, 1};
  info.non_pk = {0};
  EXPECT_EQ(WherePk(info), "\"k1\" = ?1 AND \"k2\" = ?2");
}

TEST(PkEqualsTest, MatchesTheSameKeyInAnotherRow) {
  EXPECT_EQ(PkEquals(std::vector<std::string>{"a", "b"}, "NEW."), "\"a\" = NEW.\"a\" AND \"b\" = NEW.\"b\"");
  EXPECT_EQ(PkEquals(std::vector<std::string>{"a"}, "y.", "x."), "x.\"a\" = y.\"a\"");
  EXPECT_EQ(PkEquals(std::vector<std::string>{"a"}, "NEW.", "", "after_"), "\"a\" = NEW.\"after_a\"");
  EXPECT_EQ(PkEquals(std::vector<std::string>{}, "NEW."), "");
}

TEST(WherePkTest, SqliteFindsTheRowByIt) {
  auto db = sqlite::OpenDb(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "opening a scratch database");
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(sqlite::Exec(db->get(),
                           "CREATE TABLE t(\"odd \"\"k\", k2, v, PRIMARY KEY (\"odd \"\"k\", k2));"
                           "INSERT INTO t VALUES (1, 'a', 'one'), (1, 'b', 'two'), (2, 'a', 'three');")
                  .ok());
  const std::vector<std::string> pk = {"odd \"k", "k2"};
  auto stmt = sqlite::Stmt::Prepare(db->get(), absl::StrCat("SELECT v FROM t WHERE ", WherePk(pk, 2)));
  ASSERT_TRUE(stmt.ok()) << stmt.status();
  stmt->BindValue(2, Value::Integer(1));
  stmt->BindValue(3, Value::Text("b"));
  auto row = stmt->Step();
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_TRUE(*row);
  EXPECT_EQ(stmt->ColumnText(0), "two");
}

}  // namespace
}  // namespace crlog::schema
