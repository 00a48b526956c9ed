// Several writers on one database: two connections in one process taking
// turns, and two processes writing at the same time. Afterwards the log is
// one gap-free chain of the database's site, `crlog verify` accepts it, and
// its model equals the tables.
#include <errno.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/capture/capture_test_util.h"

#ifndef CRLOG_BINARY
#error "CRLOG_BINARY must name the built crlog program"
#endif

namespace crlog::capture_test {
namespace {

using ::testing::HasSubstr;

constexpr char kSchema[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER);"
    "SELECT crsql_as_crr('t');"
    "INSERT INTO t VALUES (0, 'shared counter', 0);";

// The writes of writer `who` (a short tag) in round `i`: alternately an
// autocommit insert and a multi-statement transaction that also bumps the
// shared counter row, so both writers touch the same row.
std::vector<std::string> Round(const std::string& who, int base, int i) {
  const int id = base + i;
  if (i % 2 == 0) {
    return {absl::StrCat("INSERT INTO t VALUES (", id, ", '", who, " ", i, "', ", i, ")")};
  }
  return {"BEGIN IMMEDIATE",
          absl::StrCat("INSERT INTO t VALUES (", id, ", '", who, " ", i, "', ", i, ")"),
          "UPDATE t SET b = b + 1, a = '" + who + "' WHERE id = 0",
          absl::StrCat("UPDATE t SET a = 'updated by ", who, "' WHERE id = ", id - 1),
          i % 3 == 0 ? absl::StrCat("DELETE FROM t WHERE id = ", id - 1) : "SELECT 1",
          "COMMIT"};
}

void ExpectLogIsOneVerifiedChainEqualToTheTable(Db& db, const std::string& path) {
  LogSnapshot log = ReadLog(path);
  ASSERT_EQ(log.error, "");
  EXPECT_EQ(log.pending, 0u);
  EXPECT_EQ(CheckSingleChain(log), "");
  EXPECT_TRUE(LogMatchesTables(db, path, {"t"}));
  RunResult verify = Run({CRLOG_BINARY, "verify", path});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr(absl::StrCat("verified: ", log.events.size(), " events")));
}

class ConcurrencyTest : public CaptureTest {};

TEST_F(ConcurrencyTest, TwoConnectionsInOneProcessTakingTurnsFormOneChain) {
  db_->Exec(kSchema);
  OPEN_DB(second, path_);
  db_->Exec("PRAGMA busy_timeout = 10000");
  second->Exec("PRAGMA busy_timeout = 10000");
  for (int i = 0; i < 40; ++i) {
    Db& conn = i % 2 == 0 ? *db_ : *second;
    for (const std::string& sql : Round(i % 4 < 2 ? "one" : "two", 1000, i)) conn.Exec(sql);
  }
  EXPECT_EQ(db_->Int("SELECT crsql_db_version()"), second->Int("SELECT crsql_db_version()"));
  EXPECT_EQ(db_->Rows("SELECT * FROM crsql_changes"), second->Rows("SELECT * FROM crsql_changes"));
  ExpectLogIsOneVerifiedChainEqualToTheTable(*db_, path_);
}

TEST_F(ConcurrencyTest, TwoConnectionsInWalModeTakingTurnsFormOneChain) {
  db_->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  db_->Exec(kSchema);
  OPEN_DB(second, path_);
  for (int i = 0; i < 40; ++i) {
    Db& conn = i % 3 == 0 ? *second : *db_;
    for (const std::string& sql : Round(i % 3 == 0 ? "second" : "first", 1000, i)) conn.Exec(sql);
  }
  ExpectLogIsOneVerifiedChainEqualToTheTable(*second, path_);
}

TEST_F(ConcurrencyTest, ACommitOnOneConnectionIsVisibleInTheOthersChanges) {
  db_->Exec(kSchema);
  OPEN_DB(second, path_);
  db_->Exec("INSERT INTO t VALUES (5, 'five', 5)");
  EXPECT_EQ(second->Int("SELECT count(*) FROM crsql_changes WHERE pk = crsql_pack_columns(5)"), 2);
  EXPECT_EQ(second->Int("SELECT crsql_db_version()"), db_->Int("SELECT crsql_db_version()"));
}

// --- Two processes ---------------------------------------------------------------------

// Retries at once instead of sleeping as busy_timeout does, so that two
// writers really race for the write lock (a sleeping loser would let the
// other process commit many times in a row).
int SpinWhenBusy(void*, int attempts) {
  sched_yield();
  return attempts < 50000000;
}

// Reads or writes one byte; false when the other side is gone.
bool Wait(int fd) {
  char byte;
  return read(fd, &byte, 1) == 1;
}
bool Signal(int fd) { return write(fd, "x", 1) == 1; }

// One writer process's work, in raw SQLite calls (no gtest: it also runs in
// a forked child). Opens `path`, loads crlog, reports on `ready`, waits for
// `go`, and writes `rounds` rounds of Round(who, base, i). With turns, it
// waits for a byte on `turn_in` before each round (not the first when
// `first`) and writes one to `turn_out` after it. Returns the number of
// failed statements (capped at 99), or 100+ when it could not start.
struct Turns {
  int in = -1;
  int out = -1;
  bool first = false;
};
int Writer(const std::string& path, const std::string& who, int base, int rounds, int ready, int go,
           Turns turns) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 100;
  sqlite3_enable_load_extension(db, 1);
  char* err = nullptr;
  if (sqlite3_load_extension(db, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err) != SQLITE_OK) {
    fprintf(stderr, "%s: loading failed: %s\n", who.c_str(), err ? err : "?");
    return 101;
  }
  sqlite3_busy_handler(db, SpinWhenBusy, nullptr);
  sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
  if (ready >= 0 && !Signal(ready)) return 102;
  if (go >= 0 && !Wait(go)) return 103;
  int failures = 0;
  for (int i = 0; i < rounds; ++i) {
    if (turns.in >= 0 && (i > 0 || !turns.first) && !Wait(turns.in)) return 104;
    for (const std::string& sql : Round(who, base, i)) {
      if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s: %s\n", who.c_str(), sql.c_str(), err ? err : "?");
        sqlite3_free(err);
        err = nullptr;
        ++failures;
        if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        break;
      }
    }
    if (turns.out >= 0 && !Signal(turns.out)) return 105;
  }
  if (sqlite3_close(db) != SQLITE_OK) ++failures;
  return failures > 99 ? 99 : failures;
}

// How many times the chain passes from one writer to the other (parent rows
// have ids 100000.., the child's 200000..).
int WriterSwitches(const LogSnapshot& log) {
  int switches = 0;
  char last = 0;
  for (const LoggedEvent* e : log.Changes()) {
    for (const std::string& row : DescribeRows(e->event)) {
      char writer = row.rfind("t(1", 0) == 0 ? 'p' : row.rfind("t(2", 0) == 0 ? 'c' : 0;
      if (writer == 0) continue;
      if (last != 0 && writer != last) ++switches;
      last = writer;
      break;
    }
  }
  return switches;
}

class TwoProcessTest : public CaptureTest {
 protected:
  static constexpr int kRounds = 120;

  void SetUp() override {
    CaptureTest::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec("PRAGMA journal_mode = WAL");
    db_->Exec(kSchema);
    // The child must not inherit an open replica or LMDB environment.
    db_.reset();
  }

  // Runs the parent's and a forked child's writers at once; with
  // `take_turns` they alternate round by round. Then checks the result.
  void RunBoth(bool take_turns) {
    int ready[2], go[2], to_child[2], to_parent[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(go), 0);
    ASSERT_EQ(pipe(to_child), 0);
    ASSERT_EQ(pipe(to_parent), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      close(go[1]);
      close(to_child[1]);
      close(to_parent[0]);
      Turns turns;
      if (take_turns) turns = Turns{to_child[0], to_parent[1], false};
      _exit(Writer(path_, "child", 200000, kRounds, ready[1], go[0], turns));
    }
    close(ready[1]);
    close(go[0]);
    close(to_child[0]);
    close(to_parent[1]);
    ASSERT_TRUE(Wait(ready[0])) << "the child did not get ready";
    ASSERT_TRUE(Signal(go[1]));
    Turns turns;
    if (take_turns) turns = Turns{to_parent[0], to_child[1], true};
    int parent_failures = Writer(path_, "parent", 100000, kRounds, -1, -1, turns);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    for (int fd : {ready[0], go[1], to_child[1], to_parent[0]}) close(fd);
    EXPECT_EQ(parent_failures, 0) << "the parent's writes failed (see stderr)";
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's writes failed (see stderr)";

    OPEN_DB(db, path_);
    EXPECT_EQ(db->Int("SELECT b FROM t WHERE id = 0"), kRounds) << "each process bumped the counter kRounds/2 times";
    EXPECT_EQ(db->Int("SELECT count(*) FROM t WHERE id >= 200000"),
              db->Int("SELECT count(*) FROM t WHERE id >= 100000 AND id < 200000"));
    ExpectLogIsOneVerifiedChainEqualToTheTable(*db, path_);
    LogSnapshot log = ReadLog(path_);
    EXPECT_EQ(log.Changes().size(), 1u + 2u * kRounds) << "one event per committed transaction";
    switches_ = WriterSwitches(log);
    RecordProperty("writer_switches", switches_);
    std::printf("writer switches in the chain: %d of %d events\n", switches_, 2 * kRounds);
  }
  int switches_ = 0;
};

TEST_F(TwoProcessTest, TwoProcessesRacingForTheLockFormOneGapFreeChain) { RunBoth(/*take_turns=*/false); }

// Every commit follows one of the other process: each event's parent was
// written by the other process, through the other process's LMDB handle.
TEST_F(TwoProcessTest, TwoProcessesTakingTurnsFormOneChainThatAlternates) {
  RunBoth(/*take_turns=*/true);
  EXPECT_EQ(switches_, 2 * kRounds - 1);
}

}  // namespace
}  // namespace crlog::capture_test
