// crsql_begin_alter / crsql_commit_alter: adding, dropping and renaming a
// column keep the table replicated, its clocks attached to the right
// columns, its history readable, and the change itself an event.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";

TEST_F(MergeSqlTest, AddColumnIsASchemaEventAndKeepsCapturing) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  const int64_t schema_events = EventCount(*a, "schema");
  ASSERT_EQ(a->Try("BEGIN; SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN c TEXT; "
                   "SELECT crsql_commit_alter('t'); COMMIT;"),
            "");
  EXPECT_EQ(EventCount(*a, "schema"), schema_events + 1) << "the alter is recorded as a schema-change event";
  a->Exec("UPDATE t SET c = 'new' WHERE id = 1");
  auto c = SelectChanges(*a, "WHERE cid = 'c'");
  ASSERT_EQ(c.size(), 1u) << "writes to the new column are captured";
  EXPECT_EQ(c[0].val.bytes, "new");
  // The old history is still readable, by column name.
  EXPECT_EQ(a->Int("SELECT count(*) FROM crlog_ops WHERE \"table\" = 't' AND cid = 'a'"), 1);
}

TEST_F(MergeSqlTest, RenameColumnKeepsItsVersions) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  a->Exec("UPDATE t SET b = 2 WHERE id = 1");
  ASSERT_EQ(a->Try("SELECT crsql_alter_begin('t'); ALTER TABLE t RENAME COLUMN b TO bee; "
                   "SELECT crsql_alter_commit('t');"),
            "");
  auto bee = SelectChanges(*a, "WHERE cid = 'bee'");
  ASSERT_EQ(bee.size(), 1u);
  EXPECT_EQ(bee[0].col_version, 2) << "the renamed column keeps its clock";
  a->Exec("UPDATE t SET bee = 3 WHERE id = 1");
  EXPECT_EQ(SelectChanges(*a, "WHERE cid = 'bee'")[0].col_version, 3);
}

TEST_F(MergeSqlTest, DropColumnKeepsTheRestSyncing) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  SyncCursor ab, ba;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  ASSERT_EQ(b->Try("SELECT crsql_begin_alter('t'); ALTER TABLE t DROP COLUMN b; SELECT crsql_commit_alter('t');"), "");
  EXPECT_EQ(b->Int("SELECT count(*) FROM crsql_changes WHERE cid = 'b'"), 0);
  a->Exec("UPDATE t SET a = 'y', b = 2 WHERE id = 1");
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "") << "the dropped column's changes are kept, the rest applied";
  EXPECT_EQ(TableLines(*b, "t"), (std::vector<std::string>{"1|'y'"}));
  b->Exec("UPDATE t SET a = 'z' WHERE id = 1");
  ASSERT_EQ(SyncOnce(*b, *a, &ba), "");
  EXPECT_EQ(TableLines(*a, "t"), (std::vector<std::string>{"1|'z'|2"}));
}

TEST_F(MergeSqlTest, CommitAlterWithoutBeginIsRefused) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  EXPECT_THAT(a->Try("SELECT crsql_commit_alter('t')"), HasSubstr("crsql_begin_alter('t')"));
  EXPECT_THAT(a->Try("SELECT crsql_begin_alter('nope')"), HasSubstr("nope"));
}

TEST_F(MergeSqlTest, AlterThatBreaksReplicationIsRefused) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  ASSERT_EQ(a->Try("BEGIN; SELECT crsql_begin_alter('t'); CREATE UNIQUE INDEX t_a ON t(a);"), "");
  EXPECT_THAT(a->Try("SELECT crsql_commit_alter('t')"), HasSubstr("'t'"));
  ASSERT_EQ(a->Try("ROLLBACK"), "");
  // Rolled back: capture is intact.
  const int64_t changes = EventCount(*a, "change");
  a->Exec("UPDATE t SET a = 'y'");
  EXPECT_EQ(EventCount(*a, "change"), changes + 1);
}

}  // namespace
}  // namespace crlog::merge_sql_test
