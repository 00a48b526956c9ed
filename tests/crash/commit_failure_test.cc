// Rule 2 of DESIGN.md when COMMIT fails after commit phase one has stored
// the event pending and written the watermark: SQLITE_BUSY (the COMMIT may
// be retried, and must then reuse the same pending event and seq, or rolled
// back, and must then leave nothing) and an I/O error from the disk (the
// transaction rolls back; nothing of it may stay in the log). In process:
// two connections, or one through a VFS that fails writes or syncs on
// demand (tests/crash/test_vfs.h). The log is read directly only after
// every crlog connection is closed, and before any reopen could recover
// what the failed COMMIT left.
#include "absl/strings/str_cat.h"
#include "engine/history/verify_database.h"
#include "gtest/gtest.h"
#include "tests/crash/harness.h"
#include "tests/crash/test_vfs.h"

namespace crlog::crash {
namespace {

sqlite3* Open(const std::string& db, const Mode& mode, const char* vfs = nullptr) {
  std::string error;
  OpenOptions options;
  options.vfs = vfs;
  sqlite3* conn = OpenWithCrlog(db, mode, kExtension, &error, options);
  EXPECT_NE(conn, nullptr) << error;
  return conn;
}

int RunSql(sqlite3* db, const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }

// Reads the log with no crlog connection open: nothing pending, seqs 1..N
// with N the watermark's, and the tables equal to the fold.
void ExpectSettledLog(const std::string& db, LogFacts* out) {
  auto facts = ReadLogFacts(db);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_TRUE(facts->pending.empty()) << facts->pending.size() << " events left pending";
  EXPECT_TRUE(facts->pending_txlog.empty()) << "pending txlog rows " << Ids(facts->pending_txlog);
  for (size_t i = 0; i < facts->local_seqs.size(); ++i) {
    ASSERT_EQ(facts->local_seqs[i], i + 1) << "this site's seqs have a gap or a repeat at position " << i;
  }
  EXPECT_EQ(facts->local_seqs.size(), facts->watermark.seq);
  auto report = engine::VerifyDatabase(db);
  EXPECT_TRUE(report.ok()) << "VerifyDatabase: " << report.status();
  *out = *std::move(facts);
}

// --- SQLITE_BUSY at COMMIT (rollback journal: a reader blocks the commit) ---

class BusyCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db_, mode_));
    a_ = Open(db_, mode_);
    b_ = Open(db_, mode_);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    ASSERT_EQ(ExecSql(a_, "INSERT INTO txlog(id, n) VALUES (1, 0)"), "");
    // B's read transaction holds a SHARED lock until B ends it.
    ASSERT_EQ(ExecSql(b_, "BEGIN; SELECT count(*) FROM txlog;"), "");
    ASSERT_EQ(ExecSql(a_,
                      "BEGIN;"
                      "INSERT INTO txlog(id, n) VALUES (2, 0);"
                      "INSERT OR REPLACE INTO items(id, a, b) VALUES (5, 5, 'busy'), (6, 6, NULL);"
                      "INSERT INTO pairs(k, j, v) VALUES ('k1', 1, 'busy');"),
              "");
    ASSERT_EQ(RunSql(a_, "COMMIT"), SQLITE_BUSY) << "B's read lock should make A's COMMIT busy";
    ASSERT_FALSE(sqlite3_get_autocommit(a_)) << "a busy COMMIT leaves the transaction open";
  }
  void TearDown() override {
    if (a_ != nullptr) sqlite3_close(a_);
    if (b_ != nullptr) sqlite3_close(b_);
  }
  void CloseBoth() {
    ASSERT_EQ(sqlite3_close(a_), SQLITE_OK);
    ASSERT_EQ(sqlite3_close(b_), SQLITE_OK);
    a_ = b_ = nullptr;
  }

  const Mode& mode_ = *FindMode("delete-full");
  TempDir dir_;
  const std::string db_ = dir_.Db();
  sqlite3* a_ = nullptr;
  sqlite3* b_ = nullptr;
};

TEST_F(BusyCommitTest, BusyCommitRetriedReusesTheSameEvent) {
  // A second attempt while B still reads: busy again, phase one runs again.
  ASSERT_EQ(RunSql(a_, "COMMIT"), SQLITE_BUSY);
  ASSERT_EQ(ExecSql(b_, "COMMIT"), "");
  ASSERT_EQ(RunSql(a_, "COMMIT"), SQLITE_OK) << sqlite3_errmsg(a_);
  ASSERT_NO_FATAL_FAILURE(CloseBoth());

  LogFacts facts;
  ASSERT_NO_FATAL_FAILURE(ExpectSettledLog(db_, &facts));
  ASSERT_EQ(facts.txlog_seq.count(1), 1u);
  ASSERT_EQ(facts.txlog_seq.count(2), 1u) << "the retried COMMIT's event is not published";
  EXPECT_EQ(facts.txlog_seq[2], facts.txlog_seq[1] + 1) << "the retried COMMIT's event does not follow the previous";
  EXPECT_EQ(facts.watermark.seq, facts.txlog_seq[2]) << "more than one event for the retried transaction";
  EXPECT_TRUE(facts.txlog_inserted_twice.empty());

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db_, mode_, {1, 2}, &recovered));
  ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db_, mode_));
}

TEST_F(BusyCommitTest, BusyCommitRolledBackDiscardsThePendingEvent) {
  ASSERT_EQ(RunSql(a_, "ROLLBACK"), SQLITE_OK) << sqlite3_errmsg(a_);
  ASSERT_EQ(ExecSql(b_, "COMMIT"), "");
  ASSERT_NO_FATAL_FAILURE(CloseBoth());

  LogFacts facts;
  ASSERT_NO_FATAL_FAILURE(ExpectSettledLog(db_, &facts));
  EXPECT_EQ(facts.txlog_seq.count(2), 0u) << "the rolled-back transaction has a published event";
  ASSERT_EQ(facts.txlog_seq.count(1), 1u);
  EXPECT_EQ(facts.watermark.seq, facts.txlog_seq[1]);
  auto txlog = ReadTxlogPlain(db_);
  ASSERT_TRUE(txlog.ok()) << txlog.status();
  EXPECT_EQ(*txlog, (std::set<int64_t>{1}));

  // The next transaction takes the seq the discarded event had held.
  sqlite3* a = Open(db_, mode_);
  ASSERT_NE(a, nullptr);
  std::string msg = ExecSql(a, "INSERT INTO txlog(id, n) VALUES (2, 1)");
  ASSERT_EQ(sqlite3_close(a), SQLITE_OK);
  ASSERT_EQ(msg, "");
  LogFacts next;
  ASSERT_NO_FATAL_FAILURE(ExpectSettledLog(db_, &next));
  ASSERT_EQ(next.txlog_seq.count(2), 1u);
  EXPECT_EQ(next.txlog_seq[2], facts.watermark.seq + 1) << "a gap where the discarded event was";

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db_, mode_, {1, 2}, &recovered));
  ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db_, mode_));
}

// After a busy COMMIT the transaction is still open, savepoints included.
// ROLLBACK TO a savepoint opened before the COMMIT undoes the watermark that
// commit phase one wrote inside it, so the pending event no longer matches
// the transaction: the next COMMIT must build it again, on the same seq.
TEST_F(BusyCommitTest, RollbackToASavepointAfterABusyCommitRebuildsTheEvent) {
  ASSERT_EQ(RunSql(a_, "ROLLBACK"), SQLITE_OK);
  ASSERT_EQ(ExecSql(a_,
                    "BEGIN;"
                    "INSERT INTO txlog(id, n) VALUES (2, 0);"
                    "SAVEPOINT late;"
                    "INSERT OR REPLACE INTO items(id, a, b) VALUES (5, 5, 'undone');"),
            "");
  ASSERT_EQ(RunSql(a_, "COMMIT"), SQLITE_BUSY);
  ASSERT_EQ(RunSql(a_, "ROLLBACK TO late"), SQLITE_OK) << sqlite3_errmsg(a_);
  ASSERT_EQ(RunSql(a_, "RELEASE late"), SQLITE_OK) << sqlite3_errmsg(a_);
  ASSERT_EQ(ExecSql(b_, "COMMIT"), "");
  ASSERT_EQ(RunSql(a_, "COMMIT"), SQLITE_OK) << sqlite3_errmsg(a_);
  ASSERT_NO_FATAL_FAILURE(CloseBoth());

  LogFacts facts;
  ASSERT_NO_FATAL_FAILURE(ExpectSettledLog(db_, &facts));
  ASSERT_EQ(facts.txlog_seq.count(1), 1u);
  ASSERT_EQ(facts.txlog_seq.count(2), 1u) << "the transaction's event is not published";
  EXPECT_EQ(facts.txlog_seq[2], facts.txlog_seq[1] + 1);
  EXPECT_EQ(facts.watermark.seq, facts.txlog_seq[2]);
  EXPECT_EQ(facts.rows_per_table.count("items"), 0u) << "the rolled-back write to items is in the log";
  auto items = QueryIntPlain(db_, "SELECT count(*) FROM items");
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(*items, 0);

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db_, mode_, {1, 2}, &recovered));
  ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db_, mode_));
}

// --- An I/O error at COMMIT ---------------------------------------------------

// A transaction whose COMMIT fails because the disk fails `fault`: the table
// does not have its rows, the log has no event for it (pending or
// published), the database verifies, and the next transaction takes the
// next seq.
void ExpectFailedCommitLeavesNoEvent(const Mode& mode, Fault fault) {
  RegisterTestVfs();
  TempDir dir;
  const std::string db = dir.Db();
  ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
  sqlite3* a = Open(db, mode, kTestVfs);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(ExecSql(a,
                    "BEGIN;"
                    "INSERT INTO txlog(id, n) VALUES (1, 0);"
                    "INSERT INTO items(id, a, b) VALUES (1, 1, 'one'), (2, 2, 'two');"
                    "COMMIT;"),
            "");
  ASSERT_EQ(ExecSql(a,
                    "BEGIN;"
                    "INSERT INTO txlog(id, n) VALUES (2, 0);"
                    "INSERT OR REPLACE INTO items(id, a, b, c) WITH RECURSIVE r(x) AS (SELECT 10 UNION ALL "
                    "  SELECT x + 1 FROM r WHERE x < 60) SELECT x, x, 'doomed', zeroblob(200) FROM r;"
                    "UPDATE items SET a = -a WHERE id = 1;"
                    "DELETE FROM items WHERE id = 2;"),
            "");
  SetFault(fault);
  const int rc = RunSql(a, "COMMIT");
  const int injected = InjectedFaults();
  SetFault(Fault::kNone);
  EXPECT_NE(rc, SQLITE_OK) << "COMMIT succeeded although the disk failed";
  EXPECT_GT(injected, 0) << "no fault was injected";
  if (!sqlite3_get_autocommit(a)) RunSql(a, "ROLLBACK");  // SQLite normally rolls back itself

  // Reading again (which also rolls back a hot journal) shows none of it.
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(a,
                               "SELECT (SELECT count(*) FROM txlog WHERE id = 2), (SELECT count(*) FROM items),"
                               "       (SELECT a FROM items WHERE id = 1)",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(a);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW) << sqlite3_errmsg(a);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), 0) << "the failed transaction's txlog row is in the table";
  EXPECT_EQ(sqlite3_column_int64(stmt, 1), 2) << "the failed transaction's items rows are in the table";
  EXPECT_EQ(sqlite3_column_int64(stmt, 2), 1);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_close(a), SQLITE_OK);

  LogFacts facts;
  ASSERT_NO_FATAL_FAILURE(ExpectSettledLog(db, &facts));
  EXPECT_EQ(facts.txlog_seq.count(2), 0u) << "the failed transaction has a published event";
  ASSERT_EQ(facts.txlog_seq.count(1), 1u);
  EXPECT_EQ(facts.watermark.seq, facts.txlog_seq[1]);

  a = Open(db, mode, kTestVfs);
  ASSERT_NE(a, nullptr);
  std::string msg =
      ExecSql(a, "BEGIN; INSERT INTO txlog(id, n) VALUES (2, 1); UPDATE items SET b = 'next' WHERE id = 1; COMMIT;");
  ASSERT_EQ(sqlite3_close(a), SQLITE_OK);
  ASSERT_EQ(msg, "");
  LogFacts next;
  ASSERT_NO_FATAL_FAILURE(ExpectSettledLog(db, &next));
  ASSERT_EQ(next.txlog_seq.count(2), 1u);
  EXPECT_EQ(next.txlog_seq[2], facts.watermark.seq + 1) << "the next transaction does not take the next seq";

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, {1, 2}, &recovered));
  ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
}

class WriteFailureTest : public ::testing::TestWithParam<Mode> {};

TEST_P(WriteFailureTest, FailedWriteAtCommitLeavesNoEvent) {
  ExpectFailedCommitLeavesNoEvent(GetParam(), Fault::kWrite);
}

INSTANTIATE_TEST_SUITE_P(Modes, WriteFailureTest, ::testing::ValuesIn(Modes()), ModeName);

// WAL with synchronous=NORMAL does not sync at commit, so only the modes
// that do are here.
class SyncFailureTest : public ::testing::TestWithParam<Mode> {};

TEST_P(SyncFailureTest, FailedSyncAtCommitLeavesNoEvent) { ExpectFailedCommitLeavesNoEvent(GetParam(), Fault::kSync); }

INSTANTIATE_TEST_SUITE_P(Modes, SyncFailureTest, ::testing::Values(*FindMode("wal-full"), *FindMode("delete-full")),
                         ModeName);

// With a rollback journal, a failure inside commit phase one's own writes
// (FailedWriteAtCommitLeavesNoEvent/delete_full: the watermark's pages are
// journaled then) is caught by crlog itself. Failing only the database file
// lets the journal be written and synced: SQLite fails half way through
// overwriting the database, after crlog's phase one, and must roll back from
// a hot journal.
TEST(DatabaseWriteFailureTest, FailedDatabaseWriteAfterPhaseOneLeavesNoEvent) {
  ExpectFailedCommitLeavesNoEvent(*FindMode("delete-full"), Fault::kDatabaseWrite);
}

}  // namespace
}  // namespace crlog::crash
