// Rule 1 of DESIGN.md: the log records exactly what SQLite kept. Every test
// ends by comparing the tables with the model replayed from the log.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "engine/history/verify_database.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class Rule1Test : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER CHECK (b IS NULL OR b >= 0));"
        "SELECT crsql_as_crr('t');");
  }
};

// --- Plain commits -------------------------------------------------------------

TEST_F(Rule1Test, CommittedInsertIsOneEventWithEveryColumn) {
  size_t before = EventCount();
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='x' b@1=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, CommittedUpdateRecordsOnlyTheChangedCells) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  size_t before = EventCount();
  db_->Exec("UPDATE t SET a = 'y' WHERE id = 1");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@2='y'")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, CommittedDeleteRecordsAnEvenCausalLengthAndNoCells) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  size_t before = EventCount();
  db_->Exec("DELETE FROM t WHERE id = 1");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, EveryStorageClassIsRecordedAsStored) {
  db_->Exec(
      "CREATE TABLE v(id TEXT PRIMARY KEY NOT NULL, x);"
      "SELECT crsql_as_crr('v');"
      "INSERT INTO v VALUES ('i', 42), ('r', 1.5), ('t', 'text'), ('b', X'00ff'), ('n', NULL),"
      "  ('big', 9223372036854775807), ('neg', -7), ('e', '');");
  EXPECT_TRUE(Matches({"v"}));
}

TEST_F(Rule1Test, UpsertRecordsTheUpdateItMade) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  size_t before = EventCount();
  db_->Exec("INSERT INTO t VALUES (1, 'z', 2) ON CONFLICT(id) DO UPDATE SET a = excluded.a");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@2='z'")));
  EXPECT_TRUE(Matches({"t"}));
}

// --- Rollback and savepoints -------------------------------------------------------

TEST_F(Rule1Test, RollbackLeavesNoEvent) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  size_t before = EventCount();
  db_->Exec(
      "BEGIN; INSERT INTO t VALUES (2, 'y', 3); UPDATE t SET a = 'q' WHERE id = 1;"
      "DELETE FROM t WHERE id = 1; ROLLBACK;");
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(Log().pending, 0u);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, WritesAfterARollbackAreRecordedWithoutTheRolledBackOnes) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'gone', 1); ROLLBACK;");
  db_->Exec("INSERT INTO t VALUES (2, 'kept', 2)");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(2) cl=1 a@1='kept' b@1=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, RollbackToSavepointDropsOnlyTheWritesAfterIt) {
  size_t before = EventCount();
  db_->Exec(
      "BEGIN; INSERT INTO t VALUES (1, 'a', 1);"
      "SAVEPOINT s; INSERT INTO t VALUES (2, 'b', 2); UPDATE t SET a = 'changed' WHERE id = 1;"
      "ROLLBACK TO s;"
      "INSERT INTO t VALUES (3, 'c', 3); COMMIT;");
  EXPECT_THAT(RowsSince(before),
              ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1", "t(3) cl=1 a@1='c' b@1=3")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, NestedSavepointsFollowRollbackToAndRelease) {
  size_t before = EventCount();
  db_->Exec(
      "BEGIN; INSERT INTO t VALUES (1, 'a', 1);"
      "SAVEPOINT outer_sp; INSERT INTO t VALUES (2, 'b', 2);"
      "  SAVEPOINT inner_sp; INSERT INTO t VALUES (3, 'c', 3);"
      "  ROLLBACK TO inner_sp;"  // drops 3
      "  INSERT INTO t VALUES (4, 'd', 4);"
      "  RELEASE inner_sp;"      // keeps 4 inside outer_sp
      "  SAVEPOINT third_sp; INSERT INTO t VALUES (5, 'e', 5); RELEASE third_sp;"
      "RELEASE outer_sp;"        // keeps 2, 4, 5
      "SAVEPOINT last_sp; INSERT INTO t VALUES (6, 'f', 6);"
      "  SAVEPOINT deeper_sp; INSERT INTO t VALUES (7, 'g', 7);"
      "ROLLBACK TO last_sp;"     // drops 6 and 7
      "COMMIT;");
  EXPECT_THAT(RowsSince(before),
              ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1", "t(2) cl=1 a@1='b' b@1=2",
                                      "t(4) cl=1 a@1='d' b@1=4", "t(5) cl=1 a@1='e' b@1=5")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, RollbackToTheSameSavepointTwiceDropsBothBatches) {
  size_t before = EventCount();
  db_->Exec(
      "BEGIN; SAVEPOINT s; INSERT INTO t VALUES (1, 'a', 1); ROLLBACK TO s;"
      "INSERT INTO t VALUES (2, 'b', 2); ROLLBACK TO s;"
      "INSERT INTO t VALUES (3, 'c', 3); RELEASE s; COMMIT;");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(3) cl=1 a@1='c' b@1=3")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, SavepointAsTheOutermostTransactionCommitsOnRelease) {
  size_t before = EventCount();
  db_->Exec(
      "SAVEPOINT a; INSERT INTO t VALUES (1, 'a', 1);"
      "SAVEPOINT b; INSERT INTO t VALUES (2, 'b', 2); ROLLBACK TO b;"
      "RELEASE a;");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, OutermostSavepointRolledBackEntirelyLeavesNoEvent) {
  size_t before = EventCount();
  db_->Exec("SAVEPOINT a; INSERT INTO t VALUES (1, 'a', 1); ROLLBACK TO a; RELEASE a;");
  EXPECT_EQ(EventCount(), before);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, ReleasedSavepointInWhichTheTableJoinedKeepsItsWrites) {
  size_t before = EventCount();
  db_->Exec("BEGIN; SAVEPOINT s; INSERT INTO t VALUES (1, 'a', 1); RELEASE s; COMMIT;");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, RollbackToAfterAFailedStatementInsideASavepoint) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1); SAVEPOINT s; INSERT INTO t VALUES (2, 'b', 2);");
  EXPECT_NE(db_->Try("INSERT INTO t VALUES (3, 'c', 3), (4, 'bad', -1)"), "");
  db_->Exec("ROLLBACK TO s; INSERT INTO t VALUES (5, 'e', 5); COMMIT;");
  EXPECT_THAT(RowsSince(before),
              ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1", "t(5) cl=1 a@1='e' b@1=5")));
  EXPECT_TRUE(Matches({"t"}));
}

// The capture table joins the transaction inside the savepoint: SQLite
// tells it about the savepoint level in effect when it joined only.
TEST_F(Rule1Test, RollbackToASavepointOpenedBeforeTheTableWasFirstWritten) {
  size_t before = EventCount();
  db_->Exec(
      "BEGIN; SAVEPOINT s1; SAVEPOINT s2; INSERT INTO t VALUES (1, 'a', 1);"
      "ROLLBACK TO s1; INSERT INTO t VALUES (2, 'b', 2); COMMIT;");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(2) cl=1 a@1='b' b@1=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, RollbackToKeepsAnotherTablesWritesMadeBeforeTheSavepoint) {
  db_->Exec("CREATE TABLE u(id INTEGER PRIMARY KEY NOT NULL, v TEXT); SELECT crsql_as_crr('u');");
  size_t before = EventCount();
  db_->Exec(
      "BEGIN; INSERT INTO u VALUES (1, 'u1');"
      "SAVEPOINT s; INSERT INTO t VALUES (1, 'a', 1); INSERT INTO u VALUES (2, 'u2');"
      "ROLLBACK TO s; INSERT INTO u VALUES (3, 'u3'); COMMIT;");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("u(1) cl=1 v@1='u1'", "u(3) cl=1 v@1='u3'")));
  EXPECT_TRUE(Matches({"t", "u"}));
}

// --- Statements that fail --------------------------------------------------------

TEST_F(Rule1Test, FailedMultiRowInsertInATransactionKeepsOnlyEarlierStatements) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'kept', 1);");
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (2, 'x', 2), (3, 'x', 3), (4, 'bad', -1), (5, 'x', 5)"),
              HasSubstr("CHECK constraint failed"));
  db_->Exec("COMMIT");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='kept' b@1=1")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, FailedNotNullOnTheThirdRowInATransactionKeepsOnlyEarlierStatements) {
  db_->Exec(
      "CREATE TABLE n(id INTEGER PRIMARY KEY NOT NULL, v TEXT NOT NULL DEFAULT 'd');"
      "SELECT crsql_as_crr('n');");
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO n VALUES (1, 'kept');");
  EXPECT_THAT(db_->Try("INSERT INTO n VALUES (2, 'x'), (3, 'y'), (4, NULL), (5, 'z')"),
              HasSubstr("NOT NULL constraint failed"));
  db_->Exec("COMMIT");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("n(1) cl=1 v@1='kept'")));
  EXPECT_TRUE(Matches({"n"}));
}

TEST_F(Rule1Test, FailedUpdateHalfwayInATransactionUndoesTheRowsItHadChanged) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 5), (2, 'b', 5), (3, 'c', 1), (4, 'd', 5)");
  size_t before = EventCount();
  db_->Exec("BEGIN; UPDATE t SET a = 'first' WHERE id = 4;");
  EXPECT_THAT(db_->Try("UPDATE t SET b = b - 2"), HasSubstr("CHECK constraint failed"));
  db_->Exec("COMMIT");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(4) cl=1 a@2='first'")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, FailedStatementInAutocommitLeavesNothing) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  size_t before = EventCount();
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (2, 'x', 2), (3, 'x', 3), (4, 'bad', -1)"),
              HasSubstr("CHECK constraint failed"));
  EXPECT_THAT(db_->Try("UPDATE t SET b = -1"), HasSubstr("CHECK constraint failed"));
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(Log().pending, 0u);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM t"), 1);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, InsertOrFailInAutocommitKeepsTheRowsBeforeTheFailingOne) {
  size_t before = EventCount();
  EXPECT_THAT(db_->Try("INSERT OR FAIL INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'bad', -1), (4, 'd', 4)"),
              HasSubstr("CHECK constraint failed"));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM t"), 2);
  EXPECT_THAT(RowsSince(before),
              ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1", "t(2) cl=1 a@1='b' b@1=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, InsertOrFailInATransactionKeepsTheRowsBeforeTheFailingOne) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (10, 'first', 10);");
  EXPECT_THAT(db_->Try("INSERT OR FAIL INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'bad', -1), (4, 'd', 4)"),
              HasSubstr("CHECK constraint failed"));
  db_->Exec("COMMIT");
  // Rows appear in the order the transaction first touched them.
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(10) cl=1 a@1='first' b@1=10",
                                                         "t(1) cl=1 a@1='a' b@1=1", "t(2) cl=1 a@1='b' b@1=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, UpdateOrFailKeepsTheRowsItChangedBeforeFailing) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 5), (2, 'b', 1), (3, 'c', 5)");
  size_t before = EventCount();
  EXPECT_THAT(db_->Try("UPDATE OR FAIL t SET b = b - 2"), HasSubstr("CHECK constraint failed"));
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 b@2=3")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, InsertOrIgnoreRecordsOnlyTheInsertedRows) {
  db_->Exec("INSERT INTO t VALUES (2, 'old', 2)");
  size_t before = EventCount();
  db_->Exec("INSERT OR IGNORE INTO t VALUES (1, 'a', 1), (2, 'new', 20), (3, 'bad', -1), (4, 'd', 4)");
  EXPECT_THAT(RowsSince(before),
              ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1", "t(4) cl=1 a@1='d' b@1=4")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, InsertOrRollbackRecordsNothingOfTheTransaction) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1);");
  EXPECT_THAT(db_->Try("INSERT OR ROLLBACK INTO t VALUES (2, 'b', 2), (3, 'bad', -1)"),
              HasSubstr("CHECK constraint failed"));
  EXPECT_EQ(sqlite3_get_autocommit(db_->get()), 1) << "OR ROLLBACK ends the transaction";
  EXPECT_EQ(EventCount(), before);
  // The next transaction records its own rows and nothing left over.
  db_->Exec("INSERT INTO t VALUES (5, 'e', 5)");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(5) cl=1 a@1='e' b@1=5")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, ABeforeTriggerRaiseIgnoreSkipsTheRowInTableAndLog) {
  db_->Exec(
      "CREATE TRIGGER skip99 BEFORE INSERT ON t WHEN NEW.b = 99 BEGIN SELECT RAISE(IGNORE); END;"
      "INSERT INTO t VALUES (1, 'a', 1), (2, 'skipped', 99), (3, 'c', 3);");
  EXPECT_EQ(db_->Int("SELECT count(*) FROM t"), 2);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, AUserTriggerRaiseAbortDropsTheWholeStatementFromTheLog) {
  db_->Exec("CREATE TRIGGER no99 AFTER INSERT ON t WHEN NEW.b = 99 BEGIN SELECT RAISE(ABORT, 'no 99'); END;");
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'kept', 1);");
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (2, 'x', 2), (3, 'y', 99)"), HasSubstr("no 99"));
  db_->Exec("COMMIT");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='kept' b@1=1")));
  EXPECT_TRUE(Matches({"t"}));
}

// RAISE(FAIL) keeps what the statement did so far, including the row whose
// AFTER trigger failed. SQLite runs a table's newest trigger first, so a user
// trigger created after crsql_as_crr would run before crlog's and could stop
// it; crsql_as_crr (called again) and loading crlog re-create crlog's
// triggers so that they run first (docs/sql.md).
TEST_F(Rule1Test, AUserAfterTriggerRaiseFailKeepsInTheLogWhatSqliteKept) {
  db_->Exec("CREATE TRIGGER no99 AFTER INSERT ON t WHEN NEW.b = 99 BEGIN SELECT RAISE(FAIL, 'no 99'); END;");
  db_->Exec("SELECT crsql_as_crr('t')");
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 99), (3, 'c', 3)"), HasSubstr("no 99"));
  EXPECT_EQ(db_->Rows("SELECT id FROM t ORDER BY id").size(), 2u);
  EXPECT_TRUE(Matches({"t"})) << "table holds ids "
                              << ::testing::PrintToString(db_->Rows("SELECT id FROM t ORDER BY id"));
}

// RAISE(IGNORE) in an AFTER trigger abandons the remaining triggers of a
// row SQLite has already inserted; nothing is rolled back.
TEST_F(Rule1Test, AUserAfterTriggerRaiseIgnoreKeepsInTheLogWhatSqliteKept) {
  db_->Exec("CREATE TRIGGER quiet AFTER INSERT ON t WHEN NEW.b = 99 BEGIN SELECT RAISE(IGNORE); END;");
  db_->Exec("SELECT crsql_as_crr('t')");
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 99), (3, 'c', 3)");
  EXPECT_EQ(db_->Rows("SELECT id FROM t ORDER BY id").size(), 3u);
  EXPECT_TRUE(Matches({"t"})) << "table holds ids "
                              << ::testing::PrintToString(db_->Rows("SELECT id FROM t ORDER BY id"));
}

TEST_F(Rule1Test, AFailingFirstWriteOfATransactionLeavesNothingOfIt) {
  db_->Exec("CREATE TABLE plain(x); INSERT INTO t VALUES (100, 'before', 1);");
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO plain VALUES (1);");
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'bad', -1)"),
              HasSubstr("CHECK constraint failed"));
  db_->Exec("COMMIT");
  EXPECT_EQ(EventCount(), before);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, DeletingEveryRowIsRecordedRowByRow) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
  size_t before = EventCount();
  db_->Exec("DELETE FROM t");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=2", "t(2) cl=2", "t(3) cl=2")));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, AsCrrRolledBackToASavepointLeavesNoTrace) {
  db_->Exec("CREATE TABLE late(id INTEGER PRIMARY KEY NOT NULL, v); INSERT INTO late VALUES (1, 'x');");
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1); SAVEPOINT s; SELECT crsql_as_crr('late');"
            "INSERT INTO late VALUES (2, 'y'); ROLLBACK TO s; COMMIT;");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1")));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'late' AND type = 'trigger'"), 0);
  EXPECT_TRUE(Matches({"t"}));
}

// --- OR REPLACE ------------------------------------------------------------------

class ReplaceTest : public Rule1Test, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    Rule1Test::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec(GetParam() ? "PRAGMA recursive_triggers = ON" : "PRAGMA recursive_triggers = OFF");
  }
};

TEST_P(ReplaceTest, InsertOrReplaceOverAnExistingRowEndsWithLogEqualToTable) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2)");
  db_->Exec("INSERT OR REPLACE INTO t VALUES (1, 'replaced', 10)");
  EXPECT_TRUE(Matches({"t"}));
  EXPECT_EQ(db_->Rows("SELECT cid, val, cl FROM crsql_changes WHERE pk = crsql_pack_columns(1) AND cid != '-1' ORDER BY cid"),
            (std::vector<std::vector<std::string>>{{"'a'", "'replaced'", GetParam() ? "3" : "1"},
                                                   {"'b'", "10", GetParam() ? "3" : "1"}}));
}

TEST_P(ReplaceTest, InsertOrReplaceOfSomeColumnsResetsTheOthersInTheLog) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  db_->Exec("REPLACE INTO t(id, a) VALUES (1, 'only a')");
  EXPECT_EQ(db_->Rows("SELECT b FROM t"), (std::vector<std::vector<std::string>>{{"NULL"}}));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_P(ReplaceTest, InsertOrReplaceOfNullIntoANotNullColumnRecordsTheDefaultItStored) {
  db_->Exec(
      "CREATE TABLE n(id INTEGER PRIMARY KEY NOT NULL, v TEXT NOT NULL DEFAULT 'dflt');"
      "SELECT crsql_as_crr('n');"
      "INSERT INTO n VALUES (1, 'x');"
      "INSERT OR REPLACE INTO n VALUES (1, NULL), (2, NULL);");
  EXPECT_EQ(db_->Rows("SELECT v FROM n ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"'dflt'"}, {"'dflt'"}}));
  EXPECT_TRUE(Matches({"n"}));
}

TEST_P(ReplaceTest, InsertOrReplaceInATransactionWithASavepointRolledBack) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  db_->Exec(
      "BEGIN; SAVEPOINT s; INSERT OR REPLACE INTO t VALUES (1, 'gone', 7); ROLLBACK TO s;"
      "INSERT OR REPLACE INTO t VALUES (1, 'kept', 8); COMMIT;");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_P(ReplaceTest, UpdateOrReplaceMovingAPkOntoAnExistingRow) {
  db_->Exec("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3)");
  size_t before = EventCount();
  db_->Exec("UPDATE OR REPLACE t SET id = 2 WHERE id = 1");
  EXPECT_EQ(db_->Rows("SELECT id, a FROM t ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"2", "'one'"}, {"3", "'three'"}}));
  auto rows = RowsSince(before);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0], ::testing::Contains("t(1) cl=2"));
  EXPECT_TRUE(Matches({"t"}));
}

// Without recursive triggers the replaced row is never deleted: its cells'
// versions, which peers hold, still stand at the new key, so every moved
// cell must outrank them. Moved at its old version, an unchanged cell tied
// them, and every fold of the log (verify, replay, a peer) kept the
// replaced row's larger value while the table showed the moved one.
TEST_P(ReplaceTest, UpdateOrReplaceOntoAnExistingRowOutranksTheReplacedCells) {
  db_->Exec("INSERT INTO t VALUES (1, 'aaa', 1), (2, 'zzz', 2)");
  db_->Exec("UPDATE t SET a = 'zzz2', b = 20 WHERE id = 2");
  const int64_t replaced = db_->Int("SELECT max(col_version) FROM crsql_changes WHERE pk = crsql_pack_columns(2)");
  db_->Exec("UPDATE OR REPLACE t SET id = 2 WHERE id = 1");
  EXPECT_EQ(db_->Rows("SELECT id, a, b FROM t"), (std::vector<std::vector<std::string>>{{"2", "'aaa'", "1"}}));
  if (!GetParam()) {
    EXPECT_GT(db_->Int("SELECT min(col_version) FROM crsql_changes WHERE pk = crsql_pack_columns(2) AND cid != '-1'"),
              replaced);
  }
  EXPECT_TRUE(Matches({"t"}));
  db_.reset();
  auto report = engine::VerifyDatabase(path_);
  EXPECT_TRUE(report.ok()) << report.status();
}

INSTANTIATE_TEST_SUITE_P(RecursiveTriggers, ReplaceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "On" : "Off";
                         });

// --- Cells and keys -----------------------------------------------------------------

TEST_F(Rule1Test, UpdateToTheCurrentValueRecordsNoChangeForThatCell) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  int64_t a_version = db_->Int("SELECT col_version FROM crsql_changes WHERE cid = 'a'");
  int64_t a_db_version = db_->Int("SELECT db_version FROM crsql_changes WHERE cid = 'a'");
  size_t before = EventCount();
  db_->Exec("UPDATE t SET a = 'x', b = 3 WHERE id = 1");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 b@2=3")));
  EXPECT_EQ(db_->Int("SELECT col_version FROM crsql_changes WHERE cid = 'a'"), a_version);
  EXPECT_EQ(db_->Int("SELECT db_version FROM crsql_changes WHERE cid = 'a'"), a_db_version);
  EXPECT_EQ(db_->Int("SELECT col_version FROM crsql_changes WHERE cid = 'b'"), 2);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, UpdateThatChangesNoValueRecordsNoCell) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  size_t before = EventCount();
  db_->Exec("UPDATE t SET a = a, b = 2");
  for (const auto& rows : RowsSince(before)) EXPECT_THAT(rows, IsEmpty());
  EXPECT_EQ(db_->Int("SELECT max(col_version) FROM crsql_changes"), 1);
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, AValueOfAnotherStorageClassIsAChange) {
  db_->Exec(
      "CREATE TABLE v(id INTEGER PRIMARY KEY NOT NULL, x);"
      "SELECT crsql_as_crr('v');"
      "INSERT INTO v VALUES (1, 1);");
  size_t before = EventCount();
  db_->Exec("UPDATE v SET x = 1.0");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("v(1) cl=1 x@2=1")));
  EXPECT_EQ(db_->Rows("SELECT typeof(x) FROM v"), (std::vector<std::vector<std::string>>{{"'real'"}}));
  EXPECT_TRUE(Matches({"v"}));
}

TEST_F(Rule1Test, PkChangeIsADeleteOfTheOldRowAndAnInsertOfTheNewOne) {
  db_->Exec("INSERT INTO t VALUES (1, 'x', 2)");
  size_t before = EventCount();
  db_->Exec("UPDATE t SET id = 5 WHERE id = 1");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=2", "t(5) cl=1 a@1='x' b@1=2")));
  EXPECT_EQ(db_->Rows("SELECT cid, cl FROM crsql_changes WHERE pk = crsql_pack_columns(1)"),
            (std::vector<std::vector<std::string>>{{"'-1'", "2"}}));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, PkMovedOntoAKeyFreedInTheSameTransaction) {
  db_->Exec("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2)");
  db_->Exec("BEGIN; UPDATE t SET id = 10 WHERE id = 1; UPDATE t SET id = 1 WHERE id = 2; COMMIT;");
  EXPECT_EQ(db_->Rows("SELECT id, a FROM t ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"1", "'two'"}, {"10", "'one'"}}));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, ManyPkChangesInOneStatement) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
  db_->Exec("UPDATE t SET id = id + 10");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, DeleteAndReinsertInOneTransactionStartsANewLife) {
  db_->Exec("INSERT INTO t VALUES (1, 'old', 1)");
  size_t before = EventCount();
  db_->Exec("BEGIN; DELETE FROM t WHERE id = 1; INSERT INTO t(id, a) VALUES (1, 'new'); COMMIT;");
  auto rows = RowsSince(before);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].size(), 1u);
  EXPECT_THAT(rows[0][0], ::testing::StartsWith("t(1) cl=3 "));
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, InsertThenDeleteInOneTransactionLeavesNoLiveRow) {
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'brief', 1); DELETE FROM t WHERE id = 1; COMMIT;");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(Rule1Test, ManyWritesToOneRowInOneTransactionRecordTheFinalValues) {
  db_->Exec(
      "BEGIN; INSERT INTO t VALUES (1, 'a', 1); UPDATE t SET a = 'b'; UPDATE t SET b = 5;"
      "UPDATE t SET a = 'c'; COMMIT;");
  EXPECT_TRUE(Matches({"t"}));
  EXPECT_EQ(db_->Rows("SELECT cid, val FROM crsql_changes ORDER BY cid"),
            (std::vector<std::vector<std::string>>{{"'a'", "'c'"}, {"'b'", "5"}}));
}

// --- Other ways a commit can end -----------------------------------------------------

// An application's commit hook may veto the commit after crlog's phase one
// stored the event pending: SQLite rolls back, and so must the log.
TEST_F(Rule1Test, ACommitVetoedAfterPhaseOneLeavesNoEventAndNoGap) {
  db_->Exec("INSERT INTO t VALUES (1, 'a', 1)");
  size_t before = EventCount();
  sqlite3_commit_hook(db_->get(), [](void*) { return 1; }, nullptr);
  EXPECT_THAT(db_->Try("INSERT INTO t VALUES (2, 'vetoed', 2)"), HasSubstr("constraint"));
  EXPECT_THAT(db_->Try("BEGIN; INSERT INTO t VALUES (3, 'vetoed', 3); COMMIT;"), HasSubstr("constraint"));
  db_->Try("ROLLBACK");
  sqlite3_commit_hook(db_->get(), nullptr, nullptr);
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(Log().pending, 0u);
  db_->Exec("INSERT INTO t VALUES (4, 'd', 4)");
  EXPECT_EQ(CheckSingleChain(Log()), "");
  EXPECT_TRUE(Matches({"t"}));
}

// A value too large for one event is either recorded or refused with the
// transaction; never kept by SQLite and missing from the log.
TEST_F(Rule1Test, AHugeValueIsRecordedOrRefusedButNeverLost) {
  db_->Exec("CREATE TABLE big(id INTEGER PRIMARY KEY NOT NULL, data BLOB); SELECT crsql_as_crr('big');");
  std::string err = db_->Try("INSERT INTO big VALUES (1, zeroblob(20 * 1024 * 1024))");
  SCOPED_TRACE("insert answered: " + err);
  EXPECT_EQ(Log().pending, 0u);
  EXPECT_TRUE(Matches({"big"}));
}

TEST_F(Rule1Test, TablesAndColumnsWithQuotesAndSpacesInTheirNamesAreCaptured) {
  db_->Exec(
      "CREATE TABLE \"it's a \"\"odd\"\" table\"(\"key col\" TEXT NOT NULL PRIMARY KEY, \"op\" TEXT,"
      " \"n0\" INTEGER, \"we'ird\" REAL);"
      "SELECT crsql_as_crr('it''s a \"odd\" table');"
      "INSERT INTO \"it's a \"\"odd\"\" table\" VALUES ('k1', 'x', 1, 1.5), ('k2', 'y', 2, 2.5);"
      "UPDATE \"it's a \"\"odd\"\" table\" SET \"we'ird\" = 9 WHERE \"key col\" = 'k1';"
      "UPDATE \"it's a \"\"odd\"\" table\" SET \"key col\" = 'k3' WHERE \"key col\" = 'k2';");
  EXPECT_TRUE(Matches({"it's a \"odd\" table"}));
}

TEST_F(Rule1Test, WithoutRowidTableWithACompositeKeyIsCaptured) {
  db_->Exec(
      "CREATE TABLE w(x TEXT NOT NULL, y INTEGER NOT NULL, v, PRIMARY KEY (x, y)) WITHOUT ROWID;"
      "SELECT crsql_as_crr('w');"
      "INSERT INTO w VALUES ('a', 1, 'one'), ('a', 2, 'two'), ('b', 1, NULL);"
      "UPDATE w SET y = y + 10 WHERE x = 'a';"
      "UPDATE w SET v = 'set' WHERE x = 'b';"
      "DELETE FROM w WHERE y = 12;");
  EXPECT_TRUE(Matches({"w"}));
}

// --- Commit retried after SQLITE_BUSY (rollback journal: a reader blocks COMMIT) ---

class BusyCommitTest : public Rule1Test {
 protected:
  void SetUp() override {
    Rule1Test::SetUp();
    if (HasFatalFailure()) return;
    reader_ = std::make_unique<Db>(path_);
    ASSERT_TRUE(reader_->loaded()) << reader_->load_error();
    ASSERT_EQ(db_->Rows("PRAGMA journal_mode")[0][0], "'delete'");
  }
  // Holds a SHARED lock until ReleaseReader().
  void HoldReader() { reader_->Exec("BEGIN; SELECT count(*) FROM t;"); }
  void ReleaseReader() { reader_->Exec("COMMIT"); }
  std::unique_ptr<Db> reader_;
};

TEST_F(BusyCommitTest, CommitRetriedAfterBusyRecordsOneEvent) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1);");
  HoldReader();
  EXPECT_THAT(db_->Try("COMMIT"), HasSubstr("locked"));
  ASSERT_EQ(sqlite3_get_autocommit(db_->get()), 0) << "the transaction stays open after a busy COMMIT";
  ReleaseReader();
  EXPECT_EQ(db_->Try("COMMIT"), "");
  EXPECT_THAT(RowsSince(before), ElementsAre(ElementsAre("t(1) cl=1 a@1='a' b@1=1")));
  LogSnapshot log = Log();
  EXPECT_EQ(log.pending, 0u);
  EXPECT_EQ(CheckSingleChain(log), "");
  EXPECT_TRUE(Matches({"t"}));
}

// After a busy COMMIT the transaction is still open and the application may
// write more before retrying. Those writes must be recorded with the rest,
// or refused; never committed by SQLite without the log.
TEST_F(BusyCommitTest, WriteAfterABusyCommitIsRecordedOrRefused) {
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1);");
  HoldReader();
  EXPECT_THAT(db_->Try("COMMIT"), HasSubstr("locked"));
  ReleaseReader();
  std::string err = db_->Try("INSERT INTO t VALUES (2, 'after the busy commit', 2)");
  SCOPED_TRACE("the insert after the busy COMMIT answered: " + (err.empty() ? std::string("OK") : err));
  EXPECT_EQ(db_->Try("COMMIT"), "");
  LogSnapshot log = Log();
  EXPECT_EQ(log.pending, 0u);
  EXPECT_TRUE(Matches({"t"}));
}

// The same with ROLLBACK TO between the busy COMMIT and its retry: the
// retried COMMIT must not record what was rolled back, and the database
// must stay writable.
TEST_F(BusyCommitTest, RollbackToAfterABusyCommitIsFollowedByTheLog) {
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1); SAVEPOINT s; INSERT INTO t VALUES (2, 'b', 2);");
  HoldReader();
  EXPECT_THAT(db_->Try("COMMIT"), HasSubstr("locked"));
  ReleaseReader();
  std::string err = db_->Try("ROLLBACK TO s");
  SCOPED_TRACE("ROLLBACK TO after the busy COMMIT answered: " + (err.empty() ? std::string("OK") : err));
  db_->Try("COMMIT");
  EXPECT_EQ(sqlite3_get_autocommit(db_->get()), 1);
  EXPECT_EQ(db_->Try("INSERT INTO t VALUES (3, 'c', 3)"), "") << "the database stays writable";
  LogSnapshot log = Log();
  EXPECT_EQ(log.pending, 0u);
  EXPECT_EQ(CheckSingleChain(log), "");
  EXPECT_TRUE(Matches({"t"}));
}

TEST_F(BusyCommitTest, BusyCommitThenRollbackLeavesNoEventAndNoGap) {
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (1, 'a', 1);");
  HoldReader();
  EXPECT_THAT(db_->Try("COMMIT"), HasSubstr("locked"));
  db_->Exec("ROLLBACK");
  ReleaseReader();
  EXPECT_EQ(EventCount(), before);
  db_->Exec("INSERT INTO t VALUES (2, 'b', 2)");
  LogSnapshot log = Log();
  EXPECT_EQ(log.pending, 0u);
  EXPECT_EQ(CheckSingleChain(log), "");
  EXPECT_TRUE(Matches({"t"}));
}

}  // namespace
}  // namespace crlog::capture_test
