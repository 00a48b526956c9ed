// db_version as a Lamport clock (crsql-compat.md, "db_version"), relaying,
// and what a merge leaves in the log: merged writes are one import event,
// never captured again as a local change.
#include <cstdio>

#include "absl/strings/str_cat.h"

#include "gtest/gtest.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::merge_sql_test {
namespace {

constexpr std::string_view kT = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)";

// A fresh replica that receives a change made at db_version 50 commits it at
// 50, and its next local write commits above.
TEST_F(MergeSqlTest, ReceivingDbVersion50MovesAFreshReplicaTo50) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  ASSERT_EQ(DbVersion(*b), 0);
  Change c{"t", PkInt(1), "a", Value::Text("far"), 1, 50, FakeSite(0xee), 1, 0};
  ASSERT_EQ(ApplyBatch(*b, {c}), "");
  EXPECT_GE(DbVersion(*b), 50);
  auto merged = SelectChanges(*b, "WHERE cid = 'a'");
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].db_version, 50) << "D = max(committed + 1, incoming db_version)";
  b->Exec("UPDATE t SET b = 'local' WHERE id = 1");
  auto local = SelectChanges(*b, "WHERE cid = 'b'");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_GT(local[0].db_version, 50);
  EXPECT_EQ(local[0].db_version, DbVersion(*b));
}

// All merged cells of one transaction share its db_version; afterwards the
// clock is above every incoming db_version seen.
TEST_F(MergeSqlTest, MergeMovesTheClockAboveEveryIncomingDbVersion) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  b->Exec("INSERT INTO t VALUES (9, 'mine', 0)");
  b->Exec("UPDATE t SET b = 1 WHERE id = 9");  // db_version 2
  ASSERT_EQ(DbVersion(*b), 2);
  std::vector<Change> batch = {
      {"t", PkInt(1), "a", Value::Text("p"), 1, 50, FakeSite(0xee), 1, 0},
      {"t", PkInt(2), "a", Value::Text("q"), 1, 70, FakeSite(0xee), 1, 0},
      {"t", PkInt(3), "a", Value::Text("r"), 1, 60, FakeSite(0xdd), 1, 0},
  };
  ASSERT_EQ(ApplyBatch(*b, batch), "");
  auto merged = SelectChanges(*b, "WHERE site_id IS NOT crsql_site_id()");
  ASSERT_EQ(merged.size(), 3u);
  for (const Change& c : merged) EXPECT_EQ(c.db_version, 50) << Describe(c);
  EXPECT_GE(DbVersion(*b), 70);
  b->Exec("UPDATE t SET b = 2 WHERE id = 9");
  auto local = SelectChanges(*b, "WHERE pk = X'010909' AND cid = 'b'");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_GT(local[0].db_version, 70);
}

// Merged changes carry the receiver's db_version (above its own history) and
// the origin's site.
TEST_F(MergeSqlTest, MergedChangesShowReceiverDbVersionAndOriginSite) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'from a', 1)");  // A's db_version 1
  for (int i = 0; i < 5; ++i) b->Exec(absl::StrCat("INSERT INTO t VALUES (", 10 + i, ", 'b', 0)"));
  ASSERT_EQ(DbVersion(*b), 5);
  SyncCursor ab;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  auto merged = SelectChanges(*b, "WHERE site_id = ?", {Value::Blob(SiteOf(*a))});
  ASSERT_EQ(merged.size(), 2u);
  for (const Change& c : merged) {
    EXPECT_EQ(c.db_version, 6) << Describe(c);
    EXPECT_EQ(c.pk, PkInt(1));
  }
  EXPECT_EQ(DbVersion(*b), 6);
}

// A -> B -> C: C gets A's change from B, still naming A's site, at C's own
// db_version; and C does not send it back to B or A as new.
TEST_F(MergeSqlTest, RelayThroughThirdReplicaKeepsOriginSite) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  OPEN_REPLICA(c, "c.db");
  for (Db* db : {a.get(), b.get(), c.get()}) MakeCrr(*db, kT, "t");
  a->Exec("INSERT INTO t VALUES (1, 'from a', 1)");
  b->Exec("INSERT INTO t VALUES (2, 'from b', 2)");
  for (int i = 0; i < 3; ++i) c->Exec(absl::StrCat("INSERT INTO t VALUES (", 30 + i, ", 'c', 0)"));
  SyncCursor ab, bc, cb;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  ASSERT_EQ(SyncOnce(*b, *c, &bc), "");
  auto from_a = SelectChanges(*c, "WHERE pk = X'010901'");
  ASSERT_EQ(from_a.size(), 2u);
  for (const Change& ch : from_a) {
    EXPECT_EQ(Hex(ch.site), Hex(SiteOf(*a))) << Describe(ch);
    EXPECT_GT(ch.db_version, 3) << "C's own db_version, above its 3 local commits";
  }
  auto from_b = SelectChanges(*c, "WHERE pk = X'010902'");
  ASSERT_EQ(from_b.size(), 2u);
  for (const Change& ch : from_b) EXPECT_EQ(Hex(ch.site), Hex(SiteOf(*b)));
  // C -> B sends C's own rows; A's and B's come back with no effect.
  const int64_t b_events = EventCount(*b);
  size_t sent = 0;
  ASSERT_EQ(SyncOnce(*c, *b, &cb, &sent), "");
  EXPECT_EQ(sent, 6u + 2u) << "C's 3 rows, and A's relayed row (B's own are filtered)";
  EXPECT_EQ(EventCount(*b), b_events + 1) << "one import for C's rows only";
  EXPECT_EQ(TableLines(*b, "t"), TableLines(*c, "t"));
  EXPECT_EQ(ChangeLines(*b), ChangeLines(*c));
}

// crsql_next_db_version(v) inside a merging transaction raises the version
// the merge commits at.
TEST_F(MergeSqlTest, NextDbVersionFloorRaisesTheMergeVersion) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  ASSERT_EQ(b->Try("BEGIN"), "");
  EXPECT_EQ(b->Int("SELECT crsql_next_db_version(100)"), 100);
  ASSERT_EQ(InsertChange(*b, {"t", PkInt(1), "a", Value::Text("r"), 1, 3, FakeSite(0xee), 1, 0}), "");
  ASSERT_EQ(b->Try("COMMIT"), "");
  auto merged = SelectChanges(*b);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].db_version, 100);
  EXPECT_EQ(DbVersion(*b), 100);
}

// ROLLBACK TO a savepoint undoes the merges made after it: they leave no
// row, no crsql_changes entry, no event, and no longer count as impacted.
TEST_F(MergeSqlTest, RollbackToSavepointUndoesTheMergesAfterIt) {
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*b, kT, "t");
  const int64_t events = EventCount(*b);
  ASSERT_EQ(b->Try("BEGIN"), "");
  ASSERT_EQ(InsertChange(*b, {"t", PkInt(1), "a", Value::Text("kept"), 1, 3, FakeSite(0xee), 1, 0}), "");
  ASSERT_EQ(b->Try("SAVEPOINT s"), "");
  ASSERT_EQ(InsertChange(*b, {"t", PkInt(2), "a", Value::Text("undone"), 1, 3, FakeSite(0xee), 1, 1}), "");
  EXPECT_EQ(RowsImpacted(*b), 2);
  ASSERT_EQ(b->Try("ROLLBACK TO s; RELEASE s;"), "");
  EXPECT_EQ(RowsImpacted(*b), 1);
  ASSERT_EQ(b->Try("COMMIT"), "");
  EXPECT_EQ(TableLines(*b, "t"), std::vector<std::string>{"1|'kept'|NULL"});
  EXPECT_EQ(b->Int("SELECT count(*) FROM crsql_changes"), 1);
  EXPECT_EQ(EventCount(*b), events + 1);
  EXPECT_EQ(b->Int("SELECT ops FROM crlog_events ORDER BY position DESC LIMIT 1"), 1);
}

// B merges A's changes: B's log gains one import event and no change event;
// B's crsql_changes names A's site for them; and a later local write on B is
// a change event with only B's own cells.
TEST_F(MergeSqlTest, MergedWritesAreNotCapturedAgain) {
  OPEN_REPLICA(a, "a.db");
  OPEN_REPLICA(b, "b.db");
  MakeCrr(*a, kT, "t");
  MakeCrr(*b, kT, "t");
  b->Exec("INSERT INTO t VALUES (5, 'b', 5)");
  a->Exec("INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)");
  a->Exec("UPDATE t SET a = 'x2' WHERE id = 1");
  const int64_t changes_before = EventCount(*b, "change");
  const int64_t imports_before = EventCount(*b, "import");
  const int64_t events_before = EventCount(*b);
  SyncCursor ab;
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  EXPECT_EQ(EventCount(*b, "change"), changes_before) << "merged writes were captured as a local change";
  EXPECT_EQ(EventCount(*b, "import"), imports_before + 1);
  EXPECT_EQ(EventCount(*b), events_before + 1);
  for (const Change& c : SelectChanges(*b, "WHERE pk IN (X'010901', X'010902')")) {
    EXPECT_EQ(Hex(c.site), Hex(SiteOf(*a))) << Describe(c);
  }
  EXPECT_EQ(b->Int("SELECT count(*) FROM crsql_changes WHERE pk IN (X'010901', X'010902')"), 4);
  // The import event's ops are A's four cells; B's next local write is a
  // change event of its own cell only.
  EXPECT_EQ(b->Int("SELECT ops FROM crlog_events WHERE kind = 'import'"), 4);
  b->Exec("UPDATE t SET b = 11 WHERE id = 1");
  EXPECT_EQ(EventCount(*b, "change"), changes_before + 1);
  EXPECT_EQ(b->Int("SELECT ops FROM crlog_events ORDER BY position DESC LIMIT 1"), 1);
  // And a merge of a transaction with nothing new records nothing.
  ASSERT_EQ(SyncOnce(*a, *b, &ab), "");
  EXPECT_EQ(EventCount(*b, "import"), imports_before + 1);
}

// A local write, then a merge over the same cell in the same transaction:
// the merge (higher col_version) wins in the table, in crsql_changes and in
// the log, and `crlog verify` agrees. A merge that deletes the row after a
// local write wins too; a local write after a merge builds on it.
TEST_F(MergeSqlTest, MergeAfterALocalWriteInOneTransactionWins) {
  OPEN_REPLICA(a, "a.db");
  MakeCrr(*a, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a, b)", "t");
  const std::string x = FakeSite(0x0a);
  ASSERT_EQ(a->Try("BEGIN"), "");
  ASSERT_EQ(InsertChange(*a, {"t", PkInt(1), "b", Value::Text("x"), 1, 1, x, 1, 0}), "");
  a->Exec("UPDATE t SET a = -1 WHERE id = 1");
  ASSERT_EQ(InsertChange(*a, {"t", PkInt(1), "a", Value::Integer(99), 2, 2, x, 1, 1}), "");
  ASSERT_EQ(a->Try("COMMIT"), "");
  EXPECT_EQ(TableLines(*a, "t"), (std::vector<std::string>{"1|99|'x'"}));
  auto cell = SelectChanges(*a, "WHERE cid = 'a'");
  ASSERT_EQ(cell.size(), 1u);
  EXPECT_EQ(cell[0].col_version, 2);
  EXPECT_EQ(Hex(cell[0].site), Hex(x));

  ASSERT_EQ(a->Try("BEGIN"), "");
  a->Exec("UPDATE t SET b = 'local' WHERE id = 1");
  ASSERT_EQ(InsertChange(*a, {"t", PkInt(1), "-1", Value::Null(), 2, 3, x, 2, 2}), "");
  ASSERT_EQ(a->Try("COMMIT"), "");
  EXPECT_TRUE(TableLines(*a, "t").empty());

  ASSERT_EQ(a->Try("BEGIN"), "");
  ASSERT_EQ(InsertChange(*a, {"t", PkInt(2), "a", Value::Text("m"), 1, 4, x, 1, 0}), "");
  a->Exec("UPDATE t SET a = 'mine' WHERE id = 2");
  ASSERT_EQ(a->Try("COMMIT"), "");
  EXPECT_EQ(TableLines(*a, "t"), (std::vector<std::string>{"2|'mine'|NULL"}));
  EXPECT_EQ(SelectChanges(*a, "WHERE cid = 'a'")[0].col_version, 2) << "the local write builds on the merge";
  a.reset();
  EXPECT_EQ(VerifyInProcess(File("a.db")), "") << "tables equal the fold of the log";
}


// A new life (a larger odd cl) for a live row keeps its cells at column
// version 0 under their writers' sites and seqs, as cr-sqlite's
// zero_clocks_on_resurrect leaves them (crlog named itself as the writer,
// so the listing differed from replica to replica). When the old life was
// merged in the same transaction, the import event carries those cells:
// without them the log folded the row with NULLs the table did not have
// (found by the changes fuzzer).
TEST_F(MergeSqlTest, ANewLifeKeepsTheOldLifesCellsUnderTheirWriters) {
  const std::string x = FakeSite(0x11);
  const std::string y = FakeSite(0xee);
  for (bool one_transaction : {false, true}) {
    SCOPED_TRACE(one_transaction ? "old and new life in one transaction" : "in two transactions");
    const std::string name = one_transaction ? "one.db" : "two.db";
    OPEN_REPLICA(a, name);
    MakeCrr(*a, kT, "t");
    ASSERT_EQ(a->Try("BEGIN"), "");
    ASSERT_EQ(InsertChange(*a, {"t", PkInt(1), "a", Value::Text("hi"), 2, 1, x, 1, 4}), "");
    if (!one_transaction) {
      ASSERT_EQ(a->Try("COMMIT"), "");
      ASSERT_EQ(a->Try("BEGIN"), "");
    }
    ASSERT_EQ(InsertChange(*a, {"t", PkInt(1), "b", Value::Integer(7), 5, 1, y, 5, 0}), "");
    ASSERT_EQ(a->Try("COMMIT"), "");
    EXPECT_EQ(TableLines(*a, "t"), (std::vector<std::string>{"1|'hi'|7"}));
    auto cell = SelectChanges(*a, "WHERE cid = 'a'");
    ASSERT_EQ(cell.size(), 1u);
    EXPECT_EQ(cell[0].col_version, 0);
    EXPECT_EQ(cell[0].cl, 5);
    EXPECT_EQ(Hex(cell[0].site), Hex(x)) << "the cell's writer, as in cr-sqlite";
    EXPECT_EQ(cell[0].seq, 4);
    a.reset();
    EXPECT_EQ(VerifyInProcess(File(name)), "") << "tables equal the fold of the log";
  }
}

}  // namespace
}  // namespace crlog::merge_sql_test
