// crsql_begin_alter / crsql_commit_alter: adding, dropping and renaming a
// column keep the table replicated, its clocks attached to the right
// columns, its history readable, and the change itself an event.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
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

TEST_F(MergeSqlTest, RenamedColumnIsRestampedAtTheCurrentVersionAsCrSqliteDoes) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  a->Exec("UPDATE t SET b = 2 WHERE id = 1");
  const int64_t before = DbVersion(*a);
  ASSERT_EQ(a->Try("SELECT crsql_alter_begin('t'); ALTER TABLE t RENAME COLUMN b TO bee; "
                   "SELECT crsql_alter_commit('t');"),
            "");
  auto bee = SelectChanges(*a, "WHERE cid = 'bee'");
  ASSERT_EQ(bee.size(), 1u);
  EXPECT_EQ(bee[0].col_version, 1) << "cr-sqlite restamps a renamed column";
  EXPECT_EQ(bee[0].db_version, before) << "at the current db_version: a peer that synced is sent nothing again";
  EXPECT_EQ(bee[0].site, SiteOf(*a));
  EXPECT_EQ(DbVersion(*a), before) << "an alter with no writes in its bracket consumes no db_version";
  a->Exec("UPDATE t SET bee = 3 WHERE id = 1");
  EXPECT_EQ(SelectChanges(*a, "WHERE cid = 'bee'")[0].col_version, 2);
  EXPECT_EQ(VerifyInProcess(File("a.db")), "") << "the log replays the rename to the same table";
}

// Syncs `from` into a peer that synced before the alter (`before`, which
// runs `migration` itself) and into a fresh peer made with `fresh_schema`,
// and checks both hold exactly `from`'s table.
void ExpectPeersConverge(Db& from, Db& before, SyncCursor* before_cursor, Db& fresh, std::string_view migration,
                         std::string_view fresh_schema) {
  ASSERT_EQ(before.Try(migration), "");
  ASSERT_EQ(SyncOnce(from, before, before_cursor), "");
  MakeCrr(fresh, fresh_schema, "t");
  SyncCursor fresh_cursor;
  ASSERT_EQ(SyncOnce(from, fresh, &fresh_cursor), "");
  EXPECT_EQ(TableLines(before, "t"), TableLines(from, "t")) << "a peer that synced before the alter";
  EXPECT_EQ(TableLines(fresh, "t"), TableLines(from, "t")) << "a fresh peer";
}

TEST_F(MergeSqlTest, WritesInsideTheAlterBracketReachPeers) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'foo', 1), (2, 'baz', 2), (3, 'gone', 3)");
  SyncCursor ab;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  const int64_t synced = ab.last;
  const std::string migration = "SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 0; ";
  ASSERT_EQ(a->Try(migration + "UPDATE t SET c = 44 WHERE id = 1; UPDATE t SET a = 'bar' WHERE id = 2; "
                               "DELETE FROM t WHERE id = 3; INSERT INTO t VALUES (4, 'new', 4, 5); "
                               "SELECT crsql_commit_alter('t');"),
            "");
  EXPECT_EQ(TableLines(*a, "t"), (std::vector<std::string>{"1|'foo'|1|44", "2|'bar'|2|0", "4|'new'|4|5"}));
  // What a peer that synced before is sent: every write of the bracket, at a
  // new db_version.
  auto sent = SelectChanges(*a, "WHERE db_version > ?", {Value::Integer(synced)});
  std::vector<std::string> lines;
  for (const Change& ch : sent) lines.push_back(absl::StrCat(Hex(ch.pk), " ", ch.cid, " v", ch.col_version, " cl", ch.cl));
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"010901 c v1 cl1", "010902 a v2 cl1", "010903 -1 v2 cl2",
                                             "010904 a v1 cl1", "010904 b v1 cl1", "010904 c v1 cl1"}));
  ExpectPeersConverge(*a, *b, &ab, *c, migration + "SELECT crsql_commit_alter('t');",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b, c INTEGER DEFAULT 0)");
  EXPECT_EQ(a->Try("SELECT crsql_begin_alter('t')"), "");
  EXPECT_EQ(a->One("SELECT crsql_commit_alter('t')").type, ValueType::kNull) << "cr-sqlite returns NULL";
}

TEST_F(MergeSqlTest, PrimaryKeyChangesReKeyEveryRowAndKeepBracketWrites) {
  struct Case {
    const char* name;
    const char* before;
    const char* after;
    const char* copy;  // the columns the 12-step copies
  } cases[] = {
      {"an existing column joins the pk", "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, k INTEGER NOT NULL DEFAULT 0, b)",
       "CREATE TABLE t2(id INTEGER NOT NULL, k INTEGER NOT NULL DEFAULT 0, b, PRIMARY KEY (id, k))", "id, k, b"},
      {"a column leaves the pk", "CREATE TABLE t(id INTEGER NOT NULL, k INTEGER NOT NULL DEFAULT 0, b, PRIMARY KEY (id, k))",
       "CREATE TABLE t2(id INTEGER PRIMARY KEY NOT NULL, k INTEGER NOT NULL DEFAULT 0, b)", "id, k, b"},
      {"a new column joins the pk", "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, k INTEGER NOT NULL DEFAULT 0, b)",
       "CREATE TABLE t2(id INTEGER NOT NULL, k INTEGER NOT NULL DEFAULT 0, b, n INTEGER NOT NULL DEFAULT 7, "
       "PRIMARY KEY (id, n))",
       "id, k, b"},
  };
  int round = 0;
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    ++round;
    OPEN_REPLICA(a, absl::StrCat("a", round, ".db"));
    OPEN_REPLICA(b, absl::StrCat("b", round, ".db"));
    OPEN_REPLICA(c, absl::StrCat("c", round, ".db"));
    MakeCrr(*a, tc.before, "t");
    MakeCrr(*b, tc.before, "t");
    a->Exec("INSERT INTO t(id, k, b) VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three')");
    SyncCursor ab;
    ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
    const std::string migration =
        absl::StrCat("SELECT crsql_begin_alter('t'); ", tc.after, "; INSERT INTO t2(", tc.copy, ") SELECT ", tc.copy,
                     " FROM t; DROP TABLE t; ALTER TABLE t2 RENAME TO t; ");
    ASSERT_EQ(a->Try(migration + "UPDATE t SET b = 'TWO' WHERE id = 2; DELETE FROM t WHERE id = 3; "
                                 "INSERT INTO t(id, k, b) VALUES (4, 40, 'four'); SELECT crsql_commit_alter('t');"),
              "");
    // Every entry names a row that exists, and every row has entries.
    std::set<std::string> listed, rows;
    for (const Change& ch : SelectChanges(*a)) {
      if (ch.cl % 2 == 1) listed.insert(ch.pk);
    }
    std::vector<std::string> names;
    for (const auto& r : a->Values("SELECT name FROM pragma_table_info('t') WHERE pk > 0 ORDER BY pk")) {
      names.push_back(r[0].bytes);
    }
    for (const auto& r : a->Values(absl::StrCat("SELECT crsql_pack_columns(", absl::StrJoin(names, ", "), ") FROM t"))) {
      rows.insert(r[0].bytes);
    }
    EXPECT_EQ(listed, rows) << "crsql_changes lists the current rows, under their new keys";
    ExpectPeersConverge(*a, *b, &ab, *c, migration + "SELECT crsql_commit_alter('t');",
                        absl::StrReplaceAll(tc.after, {{"t2(", "t("}}));
    EXPECT_EQ(VerifyInProcess(File(absl::StrCat("a", round, ".db"))), "") << "the log still replays to the table";
  }
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

std::string ApplyExport(Db& from, Db& to) {
  Value bundle = from.One("SELECT crlog_export()");
  return Execute(to, "SELECT crlog_apply(?)", {Value::Blob(bundle.bytes)});
}

// DROP TABLE, CREATE TABLE and crsql_as_crr again, in one session: the old
// rows used to come back on every peer and in replay, because nothing
// recorded that they were gone. Now the re-replication deletes every row of
// the old life and writes the new table's rows, one transaction.
TEST_F(MergeSqlTest, ATableDroppedAndCreatedAgainDoesNotBringItsOldRowsBack) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(engine_peer, "b.db");
  OPEN_REPLICA(sql_peer, "c.db");
  OPEN_REPLICA(fresh, "d.db");
  constexpr std::string_view kCreate = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)";
  for (Db* db : {a.get(), engine_peer.get(), sql_peer.get(), fresh.get()}) MakeCrr(*db, kCreate, "t");
  a->Exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
  ASSERT_EQ(ApplyExport(*a, *engine_peer), "");
  SyncCursor cursor;
  ASSERT_EQ(SyncOnce(*a, *sql_peer, &cursor), "");
  a->Exec("DROP TABLE t");
  a->Exec(std::string(kCreate));
  a->Exec("INSERT INTO t VALUES (2, 'deux'), (3, 'three')");
  a->Exec("SELECT crsql_as_crr('t')");
  a->Exec("INSERT INTO t VALUES (4, 'four')");
  const std::vector<std::string> want = {"2|'deux'", "3|'three'", "4|'four'"};
  EXPECT_EQ(TableLines(*a, "t"), want);
  ASSERT_EQ(ApplyExport(*a, *engine_peer), "");
  ASSERT_EQ(ApplyExport(*a, *fresh), "");
  ASSERT_EQ(SyncOnce(*a, *sql_peer, &cursor), "");
  EXPECT_EQ(TableLines(*engine_peer, "t"), want);
  EXPECT_EQ(TableLines(*fresh, "t"), want);
  EXPECT_EQ(TableLines(*sql_peer, "t"), want);
  EXPECT_EQ(ChangeLines(*engine_peer), ChangeLines(*a));
  EXPECT_EQ(VerifyInProcess(File("a.db")), "") << "replay of A's log gives A's table";
  EXPECT_EQ(VerifyInProcess(File("b.db")), "");
}

// Created again with a key of another width, the old rows cannot be named
// in the new table: the table starts anew, and the log records the drop, so
// that replay does not bring the old rows back.
TEST_F(MergeSqlTest, ATableCreatedAgainWithAnotherKeyRecordsTheDrop) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT)", "t");
  a->Exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
  const int64_t schema_events = EventCount(*a, "schema");
  a->Exec("DROP TABLE t");
  a->Exec("CREATE TABLE t(id INTEGER NOT NULL, k TEXT NOT NULL, a TEXT, PRIMARY KEY (id, k))");
  a->Exec("INSERT INTO t VALUES (1, 'x', 'new')");
  a->Exec("SELECT crsql_as_crr('t')");
  EXPECT_EQ(EventCount(*a, "schema"), schema_events + 2) << "the drop, then the new table";
  EXPECT_EQ(TableLines(*a, "t"), std::vector<std::string>{"1|'x'|'new'"});
  EXPECT_EQ(a->Int("SELECT count(*) FROM crlog_tables"), 1);
  EXPECT_EQ(VerifyInProcess(File("a.db")), "");
  OPEN_REPLICA(fresh, "d.db");
  MakeCrr(*fresh, "CREATE TABLE t(id INTEGER NOT NULL, k TEXT NOT NULL, a TEXT, PRIMARY KEY (id, k))", "t");
  SyncCursor cursor;
  ASSERT_EQ(SyncOnce(*a, *fresh, &cursor), "");
  EXPECT_EQ(TableLines(*fresh, "t"), std::vector<std::string>{"1|'x'|'new'"});
}

// ALTER TABLE ADD COLUMN without crsql_begin_alter used to go unnoticed: the
// new column's cells never replicated. Now the next write and crsql_changes
// say so, naming the table and the way out, and crsql_commit_alter takes
// the alter in after the fact as if it had been bracketed.
TEST_F(MergeSqlTest, AnAddColumnOutsideTheAlterBracketIsRefusedUntilCommitAlterTakesItIn) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(peer, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*peer, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  SyncCursor cursor;
  ASSERT_EQ(SyncOnce(*a, *peer, &cursor), "");
  const int64_t events = EventCount(*a);
  a->Exec("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'dflt'");
  for (const char* sql : {"INSERT INTO t VALUES (2, 'y', 2, 'cee')", "UPDATE t SET c = 'changed'",
                          "SELECT count(*) FROM crsql_changes"}) {
    EXPECT_THAT(a->Try(sql), ::testing::AllOf(::testing::HasSubstr("table 't' was altered outside crsql_begin_alter"),
                                              ::testing::HasSubstr("(id, a, b) but it now has (id, a, b, c)"),
                                              ::testing::HasSubstr("crsql_commit_alter('t')")))
        << sql;
  }
  EXPECT_EQ(EventCount(*a), events) << "nothing was captured under wrong columns";
  a->Exec("SELECT crsql_commit_alter('t')");
  a->Exec("INSERT INTO t VALUES (2, 'y', 2, 'cee')");
  a->Exec("UPDATE t SET c = 'changed' WHERE id = 1");
  ASSERT_EQ(peer->Try("SELECT crsql_begin_alter('t'); ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'dflt'; "
                      "SELECT crsql_commit_alter('t');"),
            "");
  ASSERT_EQ(SyncOnce(*a, *peer, &cursor), "");
  EXPECT_EQ(TableLines(*peer, "t"), (std::vector<std::string>{"1|'x'|1|'changed'", "2|'y'|2|'cee'"}));
  EXPECT_EQ(VerifyInProcess(File("a.db")), "");
}

// An ALTER made by a connection without crlog is found when the extension
// next opens the database, which still opens.
TEST_F(MergeSqlTest, AnAlterByAConnectionWithoutCrlogIsFoundWhenTheExtensionOpensTheDatabase) {
  {
    OPEN_REPLICA(a, "a.db");
    MakeCrr(*a, kT, "t");
    a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  }
  {
    Db plain(File("a.db"), /*load_extension=*/false);
    plain.Exec("ALTER TABLE t ADD COLUMN c");
  }
  OPEN_REPLICA(a, "a.db");
  EXPECT_THAT(a->Try("INSERT INTO t VALUES (2, 'y', 2, 3)"), ::testing::HasSubstr("but it now has (id, a, b, c)"));
  a->Exec("SELECT crsql_commit_alter('t')");
  a->Exec("INSERT INTO t VALUES (2, 'y', 2, 3)");
  EXPECT_EQ(SelectChanges(*a, "WHERE cid = 'c'").size(), 1u);
  EXPECT_EQ(VerifyInProcess(File("a.db")), "");
}

// RENAME COLUMN outside the bracket used to make crsql_changes send the old
// cells under the new name. The same refusal; crsql_commit_alter restamps
// the renamed column as a bracketed rename does.
TEST_F(MergeSqlTest, ARenameOutsideTheAlterBracketIsTakenInByCommitAlter) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1)");
  a->Exec("ALTER TABLE t RENAME COLUMN b TO bee");
  EXPECT_THAT(a->Try("UPDATE t SET bee = 5"), ::testing::HasSubstr("(id, a, b) but it now has (id, a, bee)"));
  EXPECT_THAT(a->Try("SELECT * FROM crsql_changes"), ::testing::HasSubstr("was altered outside"));
  const int64_t before = DbVersion(*a);
  a->Exec("SELECT crsql_commit_alter('t')");
  auto bee = SelectChanges(*a, "WHERE cid = 'bee'");
  ASSERT_EQ(bee.size(), 1u);
  EXPECT_EQ(bee[0].col_version, 1) << "restamped, as a bracketed rename";
  EXPECT_EQ(bee[0].db_version, before);
  EXPECT_EQ(SelectChanges(*a, "WHERE cid = 'b'").size(), 0u);
  a->Exec("UPDATE t SET bee = 5");
  OPEN_REPLICA(fresh, "c.db");
  MakeCrr(*fresh, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, bee)", "t");
  SyncCursor cursor;
  ASSERT_EQ(SyncOnce(*a, *fresh, &cursor), "");
  EXPECT_EQ(TableLines(*fresh, "t"), std::vector<std::string>{"1|'x'|5"});
  EXPECT_EQ(VerifyInProcess(File("a.db")), "");
}

}  // namespace
}  // namespace crlog::merge_sql_test
