// Rule 3 of DESIGN.md at the instants that matter most, reached exactly
// through crlog's named crash points (engine/replica/crash_point.h): inside commit
// phase one (after the pending append, after the watermark write), between
// SQLite's commit and the publish, inside recovery on open, and inside a
// crsql_as_crr backfill. After each crash the state left on disk is checked
// first (is the event pending? did SQLite commit?), then the database is
// reopened with crlog and checked as in tests/crash/harness.h: a transaction
// is in the tables exactly when its event is published.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/history/verify_database.h"
#include "gtest/gtest.h"
#include "tests/crash/harness.h"

namespace crlog::crash {
namespace {

std::set<log::Hash> AsSet(const std::vector<log::Hash>& v) { return {v.begin(), v.end()}; }

bool IsSubset(const std::set<log::Hash>& a, const std::set<log::Hash>& b) {
  return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

std::set<int64_t> OneTo(int64_t n) {
  std::set<int64_t> out;
  for (int64_t i = 1; i <= n; ++i) out.insert(i);
  return out;
}

// Runs the writer until it dies at `point` during the commit after `skip`
// committed transactions.
void CrashWriterAt(const std::string& db, const Mode& mode, const std::string& point, long skip, uint64_t seed) {
  WriterOptions options;
  options.seed = seed;
  options.mode = &mode;
  options.crash_at = point;
  options.crash_skip = skip;
  options.limit = skip + 100;
  auto run = RunWriter(db, options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->KilledBySigkill()) << "the writer never reached crash point " << point << ": " << run->Describe();
  std::vector<int64_t> expected;
  for (long i = 1; i <= skip; ++i) expected.push_back(i);
  ASSERT_EQ(run->acks, expected) << "each committed transaction passes each commit crash point once";
}

// What a commit crash leaves before any recovery: the crashed transaction
// k's event pending, in SQLite exactly when SQLite committed.
void ExpectCommitCrashState(const std::string& db, int64_t k, bool sqlite_committed, LogFacts* out) {
  auto facts = ReadLogFacts(db);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_FALSE(facts->pending.empty()) << "the crashed transaction's event is not pending";
  EXPECT_EQ(facts->pending_txlog, std::set<int64_t>{k});
  EXPECT_EQ(facts->txlog_seq.count(k), 0u) << "the crashed transaction's event was published before recovery";
  const bool watermark_names_pending = AsSet(facts->pending).count(facts->watermark.hash) > 0;
  EXPECT_EQ(watermark_names_pending, sqlite_committed) << "SQLite's watermark";
  auto txlog = ReadTxlogPlain(db);
  ASSERT_TRUE(txlog.ok()) << txlog.status();
  EXPECT_EQ(txlog->count(k) > 0, sqlite_committed) << "SQLite's tables";
  *out = *std::move(facts);
}

// After recovery the crashed transaction is in the tables and its events are
// published, or neither.
void ExpectSettled(const Recovered& r, const LogFacts& before, int64_t k, bool sqlite_committed) {
  EXPECT_EQ(r.txlog.count(k) > 0, sqlite_committed) << "transaction " << k << " in the tables";
  EXPECT_EQ(r.log.txlog_seq.count(k) > 0, sqlite_committed) << "transaction " << k << " in the log";
  const std::set<log::Hash> pending = AsSet(before.pending);
  if (sqlite_committed) {
    EXPECT_TRUE(IsSubset(pending, r.log.published_hashes)) << "a committed pending event was not published";
  } else {
    for (const log::Hash& h : pending) {
      EXPECT_EQ(r.log.published_hashes.count(h), 0u) << "an uncommitted pending event was published";
    }
  }
}

class CrashPointTest : public ::testing::TestWithParam<Mode> {
 protected:
  // A commit crash at `point` in the transaction after a seeded number of
  // committed ones, then recovery on reopen.
  void CommitCrash(const std::string& point, bool sqlite_committed) {
    const Mode& mode = GetParam();
    const test_support::Seeds seeds = Seeds(6, 100);
    for (uint64_t seed : seeds) {
      SeedTrace trace(seeds, seed, absl::StrCat("mode ", mode.name, ", crash point ", point));
      TempDir dir;
      const std::string db = dir.Db();
      ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
      const long skip = static_cast<long>(seed % 6);
      ASSERT_NO_FATAL_FAILURE(CrashWriterAt(db, mode, point, skip, seed));
      const int64_t k = skip + 1;
      LogFacts before;
      ASSERT_NO_FATAL_FAILURE(ExpectCommitCrashState(db, k, sqlite_committed, &before));
      Recovered recovered;
      ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, OneTo(skip), &recovered));
      ExpectSettled(recovered, before, k, sqlite_committed);
      ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
      if (HasFailure()) return;
    }
  }

  // A commit crash leaves a pending event; recovery on open dies at
  // `recovery_point`; the next open recovers.
  void RecoveryCrash(const std::string& recovery_point) {
    const Mode& mode = GetParam();
    for (bool sqlite_committed : {false, true}) {
      const std::string commit_point = sqlite_committed ? "commit-before-publish" : "commit-after-log";
      const test_support::Seeds seeds = Seeds(3, 200);
      for (uint64_t seed : seeds) {
        SeedTrace trace(seeds, seed,
                        absl::StrCat("mode ", mode.name, ", crashed at ", commit_point, " then at ", recovery_point));
        TempDir dir;
        const std::string db = dir.Db();
        ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
        const long skip = static_cast<long>(seed % 4);
        ASSERT_NO_FATAL_FAILURE(CrashWriterAt(db, mode, commit_point, skip, seed));
        const int64_t k = skip + 1;
        LogFacts before;
        ASSERT_NO_FATAL_FAILURE(ExpectCommitCrashState(db, k, sqlite_committed, &before));

        WriterOptions options;
        options.action = "open";
        options.seed = seed;
        options.mode = &mode;
        options.crash_at = recovery_point;
        auto run = RunWriter(db, options);
        ASSERT_TRUE(run.ok()) << run.status();
        ASSERT_TRUE(run->KilledBySigkill()) << "recovery never reached " << recovery_point << ": " << run->Describe();

        auto mid = ReadLogFacts(db);
        ASSERT_TRUE(mid.ok()) << mid.status();
        const bool published_before_crash = recovery_point == "recovery-after-publish" && sqlite_committed;
        if (published_before_crash) {
          EXPECT_TRUE(mid->pending.empty()) << "recovery crashed after publishing the only pending event";
          EXPECT_TRUE(IsSubset(AsSet(before.pending), mid->published_hashes));
        } else {
          EXPECT_EQ(AsSet(mid->pending), AsSet(before.pending)) << "recovery crashed before settling anything";
        }

        Recovered recovered;
        ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, OneTo(skip), &recovered));
        ExpectSettled(recovered, before, k, sqlite_committed);
        ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
        if (HasFailure()) return;
      }
    }
  }
};

// Recovery on load needs the write lock; when another connection holds it,
// loading crlog still succeeds and the next commit settles what the crash
// left pending (commit phase one resolves pending events first).
TEST_P(CrashPointTest, PendingEventIsSettledByTheNextCommitWhenRecoveryFindsTheDatabaseBusy) {
  const Mode& mode = GetParam();
  for (bool sqlite_committed : {false, true}) {
    const std::string commit_point = sqlite_committed ? "commit-before-publish" : "commit-after-log";
    const test_support::Seeds seeds = Seeds(2, 300);
    for (uint64_t seed : seeds) {
      SeedTrace trace(seeds, seed, absl::StrCat("mode ", mode.name, ", crashed at ", commit_point));
      TempDir dir;
      const std::string db = dir.Db();
      ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
      const long skip = static_cast<long>(seed % 4);
      ASSERT_NO_FATAL_FAILURE(CrashWriterAt(db, mode, commit_point, skip, seed));
      const int64_t k = skip + 1;
      LogFacts before;
      ASSERT_NO_FATAL_FAILURE(ExpectCommitCrashState(db, k, sqlite_committed, &before));

      sqlite3* holder = nullptr;
      ASSERT_EQ(sqlite3_open_v2(db.c_str(), &holder, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
      ASSERT_EQ(ExecSql(holder, "BEGIN IMMEDIATE"), "");
      std::string error;
      sqlite3* conn = OpenWithCrlog(db, mode, kExtension, &error);
      EXPECT_EQ(ExecSql(holder, "ROLLBACK"), "");
      sqlite3_close(holder);
      ASSERT_NE(conn, nullptr) << "loading crlog while another connection holds the write lock: " << error;
      const int64_t next = k + 1;
      std::string msg = ExecSql(conn, absl::StrCat("BEGIN; INSERT INTO txlog(id, n) VALUES (", next,
                                                   ", 7); UPDATE items SET a = 1 WHERE id < 50; COMMIT;"));
      ASSERT_EQ(sqlite3_close(conn), SQLITE_OK);
      ASSERT_EQ(msg, "") << "the first commit after the crash";

      auto facts = ReadLogFacts(db);
      ASSERT_TRUE(facts.ok()) << facts.status();
      EXPECT_TRUE(facts->pending.empty()) << "the commit left the crashed transaction's event pending";
      ASSERT_EQ(facts->txlog_seq.count(next), 1u);
      EXPECT_EQ(facts->txlog_seq[next], facts->watermark.seq);

      std::set<int64_t> acked = OneTo(skip);
      acked.insert(next);
      if (sqlite_committed) acked.insert(k);
      Recovered recovered;
      ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, acked, &recovered));
      ExpectSettled(recovered, before, k, sqlite_committed);
      ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
      if (HasFailure()) return;
    }
  }
}

TEST_P(CrashPointTest, CrashAfterLogAppendDiscardsThePendingEvent) { CommitCrash("commit-after-log", false); }

TEST_P(CrashPointTest, CrashAfterWatermarkWriteDiscardsThePendingEvent) {
  CommitCrash("commit-after-watermark", false);
}

TEST_P(CrashPointTest, CrashBeforePublishPublishesTheCommittedEvent) { CommitCrash("commit-before-publish", true); }

TEST_P(CrashPointTest, CrashInRecoveryBeforeResolveIsRecoveredAtNextOpen) { RecoveryCrash("recovery-before-resolve"); }

TEST_P(CrashPointTest, CrashInRecoveryAfterPublishIsRecoveredAtNextOpen) { RecoveryCrash("recovery-after-publish"); }

// The frames of the last committed transaction in a WAL file: the size to cut
// the file to so that SQLite's WAL recovery no longer finds that commit (the
// view a connection that outlived a killed writer has when the writer died
// after writing its commit frames and before updating SQLite's WAL index).
absl::StatusOr<uint64_t> WalSizeWithoutLastCommit(const std::string& wal_path) {
  std::ifstream in(wal_path, std::ios::binary);
  std::string wal((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kWalHeader = 32, kFrameHeader = 24;
  if (wal.size() < kWalHeader) return absl::FailedPreconditionError(absl::StrCat(wal_path, " holds no WAL header"));
  auto u32 = [&](size_t at) {
    const auto* b = reinterpret_cast<const unsigned char*>(wal.data() + at);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  };
  const uint32_t page_size = u32(8) == 1 ? 65536 : u32(8);
  const uint32_t salt1 = u32(16), salt2 = u32(20);
  std::vector<uint64_t> commit_ends;  // file offsets just past each commit frame
  for (size_t at = kWalHeader; at + kFrameHeader + page_size <= wal.size(); at += kFrameHeader + page_size) {
    if (u32(at + 8) != salt1 || u32(at + 12) != salt2) break;  // a frame of an earlier WAL generation
    if (u32(at + 4) != 0) commit_ends.push_back(at + kFrameHeader + page_size);
  }
  if (commit_ends.empty()) return absl::FailedPreconditionError(absl::StrCat(wal_path, " holds no commit"));
  return commit_ends.size() == 1 ? kWalHeader : commit_ends[commit_ends.size() - 2];
}

// WAL mode: a writer killed after its commit frames reached the WAL and
// before SQLite's WAL index named them leaves a commit a surviving
// connection cannot see, so the survivor's recovery judges its pending
// event uncommitted. If the survivor then dies too before committing
// anything, SQLite's next WAL recovery finds the frames and the commit after
// all: the database names an event the survivor discarded, and no longer
// opens ("materialised event ... but its log lacks it"; seen in the
// concurrent-writer test). The state is made exactly: the WAL is cut to what
// the survivor saw, recovered with crlog, and put back whole.
TEST_P(CrashPointTest, AnEventJudgedUncommittedIsRestoredWhenSqliteFindsItsCommitAfterAll) {
  const Mode& mode = GetParam();
  if (std::string_view(mode.journal_mode) != "WAL") GTEST_SKIP() << "a rollback journal's outcome is final";
  TempDir dir;
  const std::string db = dir.Db();
  ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
  const long skip = 2;
  ASSERT_NO_FATAL_FAILURE(CrashWriterAt(db, mode, "commit-before-publish", skip, 7));
  const int64_t k = skip + 1;
  LogFacts crashed;
  ASSERT_NO_FATAL_FAILURE(ExpectCommitCrashState(db, k, /*sqlite_committed=*/true, &crashed));

  namespace fs = std::filesystem;
  const std::string wal = db + "-wal";
  ASSERT_TRUE(fs::exists(wal)) << "the killed writer left no WAL";
  fs::copy_file(db, dir.File("whole.db"));
  fs::copy_file(wal, dir.File("whole.db-wal"));
  auto cut = WalSizeWithoutLastCommit(wal);
  ASSERT_TRUE(cut.ok()) << cut.status();
  fs::resize_file(wal, *cut);
  fs::remove(db + "-shm");

  // The survivor's view: transaction k never committed; its event is judged
  // uncommitted, and nothing commits after.
  Recovered survivor;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, OneTo(skip), &survivor));
  EXPECT_EQ(survivor.txlog.count(k), 0u);

  // SQLite's next WAL recovery finds transaction k's commit.
  fs::remove(db + "-shm");
  fs::copy_file(dir.File("whole.db"), db, fs::copy_options::overwrite_existing);
  fs::copy_file(dir.File("whole.db-wal"), wal, fs::copy_options::overwrite_existing);
  Recovered reopened;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, OneTo(skip), {k}, &reopened));
  EXPECT_EQ(reopened.txlog.count(k), 1u) << "SQLite committed transaction " << k << "; crlog must keep it";
  EXPECT_TRUE(IsSubset(AsSet(crashed.pending), reopened.log.published_hashes))
      << "the event of the transaction SQLite committed is published";
  ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashPointTest, ::testing::ValuesIn(Modes()), ModeName);

// --- crsql_as_crr of a table that already has rows --------------------------

constexpr int64_t kLegacyRows = 240;

// A database with crlog's tables and a plain table `legacy` of kLegacyRows
// rows, written before it was replicated.
void PrepareLegacy(const std::string& db_path, const Mode& mode) {
  std::string error;
  sqlite3* db = OpenWithCrlog(db_path, mode, kExtension, &error);
  ASSERT_NE(db, nullptr) << error;
  std::string msg =
      ExecSql(db, absl::StrCat("CREATE TABLE legacy(id INTEGER PRIMARY KEY NOT NULL, v TEXT, w BLOB);"
                               "INSERT INTO legacy(id, v, w) WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL "
                               "SELECT x + 1 FROM r WHERE x < ",
                               kLegacyRows, ") SELECT x, 'row ' || x, CAST(printf('%030d', x * 31) AS BLOB) FROM r;"));
  EXPECT_EQ(msg, "");
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

bool LegacyReplicated(const std::string& db) {
  auto n = QueryIntPlain(db, "SELECT count(*) FROM crlog_tables WHERE name = 'legacy'");
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() && *n > 0;
}

void ExpectLegacyIntact(const std::string& db) {
  auto n = QueryIntPlain(db, "SELECT count(*) FROM legacy");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, kLegacyRows) << "legacy lost or gained rows";
}

// The table is not replicated, and nothing of the backfill is anywhere.
void ExpectBackfillUndone(const std::string& db, const Recovered& r) {
  EXPECT_FALSE(LegacyReplicated(db)) << "crsql_as_crr('legacy') did not commit, yet legacy is replicated";
  auto leftovers = QueryIntPlain(db,
                                 "SELECT count(*) FROM sqlite_schema WHERE name IN ('crlog_capture_legacy', "
                                 "'crlog_legacy_insert', 'crlog_legacy_update', 'crlog_legacy_delete')");
  ASSERT_TRUE(leftovers.ok()) << leftovers.status();
  EXPECT_EQ(*leftovers, 0) << "triggers or the capture table of an uncommitted crsql_as_crr remain";
  EXPECT_EQ(r.log.published, 0u) << "events of an uncommitted backfill were published";
  EXPECT_EQ(r.log.watermark.seq, 0u);
  ExpectLegacyIntact(db);
}

// The backfill's schema change and the group of row events are all
// published, and the fold of the log gives the table.
void ExpectBackfilled(const std::string& db) {
  EXPECT_TRUE(LegacyReplicated(db));
  ExpectLegacyIntact(db);
  auto report = engine::VerifyDatabase(db);
  EXPECT_TRUE(report.ok()) << "VerifyDatabase after the backfill: " << report.status();
  auto facts = ReadLogFacts(db);
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_TRUE(facts->pending.empty());
  EXPECT_EQ(facts->rows_per_table["legacy"], static_cast<uint64_t>(kLegacyRows));
  EXPECT_GE(facts->grouped_events, 2u) << "the backfill was meant to be an event group";
  EXPECT_EQ(facts->local_seqs.size(), facts->watermark.seq);
}

void RunBackfill(const std::string& db, const Mode& mode, const std::string& crash_at, WriterResult* out) {
  WriterOptions options;
  options.action = "backfill";
  options.mode = &mode;
  options.crash_at = crash_at;
  auto run = RunWriter(db, options);
  ASSERT_TRUE(run.ok()) << run.status();
  *out = *std::move(run);
}

class BackfillCrashTest : public ::testing::TestWithParam<Mode> {};

TEST_P(BackfillCrashTest, CrashInBackfillLeavesTheTableUnreplicated) {
  const Mode& mode = GetParam();
  TempDir dir;
  const std::string db = dir.Db();
  ASSERT_NO_FATAL_FAILURE(PrepareLegacy(db, mode));
  WriterResult run;
  ASSERT_NO_FATAL_FAILURE(RunBackfill(db, mode, "backfill-before-commit", &run));
  ASSERT_TRUE(run.KilledBySigkill()) << run.Describe();
  EXPECT_TRUE(run.acks.empty());
  auto before = ReadLogFacts(db);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(before->pending.empty()) << "the backfill never reached its commit";

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, {}, &recovered));
  ExpectBackfillUndone(db, recovered);

  ASSERT_NO_FATAL_FAILURE(RunBackfill(db, mode, "", &run));
  ASSERT_TRUE(run.ExitedCleanly()) << run.Describe();
  ExpectBackfilled(db);
}

TEST_P(BackfillCrashTest, CrashAfterLogAppendOfABackfillDiscardsTheWholeGroup) {
  const Mode& mode = GetParam();
  TempDir dir;
  const std::string db = dir.Db();
  ASSERT_NO_FATAL_FAILURE(PrepareLegacy(db, mode));
  WriterResult run;
  ASSERT_NO_FATAL_FAILURE(RunBackfill(db, mode, "commit-after-log", &run));
  ASSERT_TRUE(run.KilledBySigkill()) << run.Describe();
  auto before = ReadLogFacts(db);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_GE(before->pending.size(), 3u) << "a schema change and a group of at least two row events";
  EXPECT_FALSE(LegacyReplicated(db)) << "SQLite committed crsql_as_crr before its commit phase one ended";

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, {}, &recovered));
  ExpectBackfillUndone(db, recovered);

  ASSERT_NO_FATAL_FAILURE(RunBackfill(db, mode, "", &run));
  ASSERT_TRUE(run.ExitedCleanly()) << run.Describe();
  ExpectBackfilled(db);
}

TEST_P(BackfillCrashTest, CrashBeforePublishOfABackfillPublishesTheWholeGroup) {
  const Mode& mode = GetParam();
  TempDir dir;
  const std::string db = dir.Db();
  ASSERT_NO_FATAL_FAILURE(PrepareLegacy(db, mode));
  WriterResult run;
  ASSERT_NO_FATAL_FAILURE(RunBackfill(db, mode, "commit-before-publish", &run));
  ASSERT_TRUE(run.KilledBySigkill()) << run.Describe();
  auto before = ReadLogFacts(db);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_GE(before->pending.size(), 3u) << "a schema change and a group of at least two row events";
  EXPECT_TRUE(LegacyReplicated(db)) << "SQLite had committed crsql_as_crr";

  Recovered recovered;
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, {}, &recovered));
  EXPECT_TRUE(IsSubset(AsSet(before->pending), recovered.log.published_hashes))
      << "part of the committed backfill group was not published";
  ExpectBackfilled(db);

  // The replicated table takes writes, and they verify.
  std::string error;
  sqlite3* conn = OpenWithCrlog(db, mode, kExtension, &error);
  ASSERT_NE(conn, nullptr) << error;
  std::string msg =
      ExecSql(conn, "UPDATE legacy SET v = 'after' WHERE id % 7 = 0; DELETE FROM legacy WHERE id % 11 = 0;");
  ASSERT_EQ(sqlite3_close(conn), SQLITE_OK);
  ASSERT_EQ(msg, "");
  auto report = engine::VerifyDatabase(db);
  EXPECT_TRUE(report.ok()) << report.status();
}

INSTANTIATE_TEST_SUITE_P(Modes, BackfillCrashTest, ::testing::ValuesIn(Modes()), ModeName);

}  // namespace
}  // namespace crlog::crash
