// crsql_as_crr: what it refuses and why, idempotence, trusted_schema=OFF,
// and journal_mode=OFF (which cannot roll back, so capture refuses it).
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Rows = std::vector<std::vector<std::string>>;

class AsCrrTest : public CaptureTest {
 protected:
  // Creates the table, calls crsql_as_crr on it and returns the error.
  std::string Refusal(const std::string& create, const std::string& call = "SELECT crsql_as_crr('t')") {
    db_->Exec(create);
    size_t before = EventCount();
    std::string err = db_->Try(call);
    EXPECT_EQ(EventCount(), before) << "a refused table makes no event";
    EXPECT_EQ(db_->Int("SELECT count(*) FROM sqlite_schema WHERE name GLOB 'crlog_t_*' OR name = 'crlog_capture_t'"), 0)
        << "a refused table gets no triggers";
    return err;
  }
};

TEST_F(AsCrrTest, RefusesATableWithoutAPrimaryKey) {
  EXPECT_THAT(Refusal("CREATE TABLE t(a, b)"), AllOf(HasSubstr("t"), HasSubstr("no primary key")));
}

TEST_F(AsCrrTest, RefusesAPrimaryKeyThatMayBeNull) {
  EXPECT_THAT(Refusal("CREATE TABLE t(id INTEGER PRIMARY KEY, a)"),
              AllOf(HasSubstr("\"id\""), HasSubstr("NOT NULL")));
}

TEST_F(AsCrrTest, RefusesAPrimaryKeyColumnOfACompositeKeyThatMayBeNull) {
  EXPECT_THAT(Refusal("CREATE TABLE t(x TEXT NOT NULL, y TEXT, a, PRIMARY KEY (x, y))"),
              AllOf(HasSubstr("\"y\""), HasSubstr("NOT NULL")));
}

TEST_F(AsCrrTest, RefusesAutoincrement) {
  EXPECT_THAT(Refusal("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, a)"),
              HasSubstr("AUTOINCREMENT"));
}

TEST_F(AsCrrTest, RefusesAUniqueConstraint) {
  EXPECT_THAT(Refusal("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, email TEXT UNIQUE)"),
              AllOf(HasSubstr("UNIQUE"), HasSubstr("email")));
}

TEST_F(AsCrrTest, RefusesAUniqueIndex) {
  EXPECT_THAT(Refusal("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, email TEXT);"
                      "CREATE UNIQUE INDEX t_email ON t(email);"),
              AllOf(HasSubstr("UNIQUE"), HasSubstr("t_email")));
}

TEST_F(AsCrrTest, AcceptsAnOrdinaryIndex) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, email TEXT); CREATE INDEX t_email ON t(email);");
  EXPECT_EQ(db_->Try("SELECT crsql_as_crr('t')"), "");
}

TEST_F(AsCrrTest, RefusesAForeignKey) {
  EXPECT_THAT(Refusal("CREATE TABLE parent(id INTEGER PRIMARY KEY NOT NULL);"
                      "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, p INTEGER REFERENCES parent(id))"),
              AllOf(HasSubstr("foreign key"), HasSubstr("parent")));
}

TEST_F(AsCrrTest, RefusesANotNullColumnWithoutADefault) {
  EXPECT_THAT(Refusal("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL)"),
              AllOf(HasSubstr("\"name\""), HasSubstr("NOT NULL"), HasSubstr("DEFAULT")));
}

TEST_F(AsCrrTest, AcceptsANotNullColumnWithADefault) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '')");
  EXPECT_EQ(db_->Try("SELECT crsql_as_crr('t')"), "");
}

TEST_F(AsCrrTest, RefusesATableOfAnAttachedSchema) {
  db_->Exec("ATTACH DATABASE '" + dir_.File("aux.db") + "' AS aux; CREATE TABLE aux.t(id INTEGER PRIMARY KEY NOT NULL, a);");
  EXPECT_THAT(db_->Try("SELECT crsql_as_crr('aux', 't')"), AllOf(HasSubstr("aux"), HasSubstr("main")));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM aux.sqlite_schema WHERE type = 'trigger'"), 0);
}

TEST_F(AsCrrTest, RefusesATableThatDoesNotExist) {
  EXPECT_THAT(db_->Try("SELECT crsql_as_crr('nope')"), HasSubstr("nope"));
}

TEST_F(AsCrrTest, AcceptsTheMainSchemaNamedExplicitly) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a)");
  EXPECT_EQ(db_->Try("SELECT crsql_as_crr('main', 't')"), "");
  db_->Exec("INSERT INTO t VALUES (1, 2)");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(AsCrrTest, AcceptsTheTableNameInAnyCase) {
  db_->Exec("CREATE TABLE Todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)");
  EXPECT_EQ(db_->Try("SELECT crsql_as_crr('TODO')"), "");
  db_->Exec("INSERT INTO todo VALUES (1, 'x')");
  EXPECT_EQ(db_->Rows("SELECT \"table\" FROM crsql_changes"), (Rows{{"'Todo'"}}));
  EXPECT_TRUE(Matches({"Todo"}));
}

TEST_F(AsCrrTest, IsIdempotentWithoutASecondBackfill) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a); INSERT INTO t VALUES (1, 'x'), (2, 'y');");
  EXPECT_EQ(db_->Rows("SELECT crsql_as_crr('t')"), (Rows{{"'OK'"}}));
  size_t before = EventCount();
  Rows changes = db_->Rows("SELECT * FROM crsql_changes");
  int64_t version = db_->Int("SELECT crsql_db_version()");
  EXPECT_EQ(db_->Rows("SELECT crsql_as_crr('t')"), (Rows{{"'OK'"}}));
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(db_->Rows("SELECT * FROM crsql_changes"), changes);
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), version);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 't'"), 3);
  db_->Exec("INSERT INTO t VALUES (3, 'z')");
  EXPECT_TRUE(Matches({"t"})) << "each write is captured once";
}

TEST_F(AsCrrTest, WorksWithTrustedSchemaOff) {
  db_.reset();
  Db db(path_, true, "PRAGMA trusted_schema = OFF");
  ASSERT_TRUE(db.loaded()) << db.load_error();
  ASSERT_EQ(db.Int("PRAGMA trusted_schema"), 0);
  db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a); SELECT crsql_as_crr('t');"
          "INSERT INTO t VALUES (1, 'x'); UPDATE t SET a = 'y'; INSERT INTO t VALUES (2, 'z'); DELETE FROM t WHERE id = 2;");
  LogSnapshot log = ReadLog(path_);
  ASSERT_EQ(log.error, "");
  EXPECT_EQ(log.Changes().size(), 4u);
  EXPECT_TRUE(LogMatchesTables(db, path_, {"t"}));
}

TEST_F(AsCrrTest, ASecondConnectionWithTrustedSchemaOffWritesThroughTheStoredTriggers) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a); SELECT crsql_as_crr('t');");
  Db other(path_, true, "PRAGMA trusted_schema = OFF");
  ASSERT_TRUE(other.loaded()) << other.load_error();
  other.Exec("INSERT INTO t VALUES (1, 'x'); UPDATE t SET a = 'y'; DELETE FROM t; INSERT INTO t VALUES (2, 'z');");
  EXPECT_TRUE(LogMatchesTables(other, path_, {"t"}));
  EXPECT_EQ(ReadLog(path_).Changes().size(), 4u);
}

// --- journal_mode=OFF ------------------------------------------------------------------

TEST_F(AsCrrTest, RefusedUnderJournalModeOff) {
  ASSERT_EQ(db_->Rows("PRAGMA journal_mode = OFF"), (Rows{{"'off'"}}));
  EXPECT_THAT(Refusal("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a)"), HasSubstr("journal_mode"));
}

TEST_F(AsCrrTest, AWriteAfterSwitchingToJournalModeOffFailsNamingJournalMode) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a); SELECT crsql_as_crr('t'); INSERT INTO t VALUES (1, 'x');");
  size_t before = EventCount();
  ASSERT_EQ(db_->Rows("PRAGMA journal_mode = OFF"), (Rows{{"'off'"}}));
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (2, 'y')"), HasSubstr("journal_mode"));
  EXPECT_THAT(db_->Try("BEGIN; UPDATE t SET a = 'z'; COMMIT;"), HasSubstr("journal_mode"));
  db_->Try("ROLLBACK");
  EXPECT_EQ(EventCount(), before);
  EXPECT_TRUE(Matches({"t"})) << "SQLite must not keep what the log refused";
}

}  // namespace
}  // namespace crlog::capture_test
