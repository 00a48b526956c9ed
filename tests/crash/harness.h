// What the crash tests share: running the writer child and killing it, the
// seeds, and the checks that a database reopened after a crash obeys rule 3
// of DESIGN.md ("after a crash at any instant, reopening gives tables equal
// to the fold of the log, nothing acknowledged lost, nothing unacknowledged
// invented").
//
// The test process links crlog's engine (for VerifyDatabase and to read the
// log directly) and also loads crsqlite.so, which carries its own copy of the
// engine. LMDB forbids two environments on one path in a process, so the
// log is read directly only while no connection with crlog loaded is open in
// this process; every helper here that reads the log says so.
#ifndef CRLOG_TESTS_CRASH_HARNESS_H_
#define CRLOG_TESTS_CRASH_HARNESS_H_

#include <sys/wait.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/replica/meta_tables.h"
#include "gtest/gtest.h"
#include "log/hash.h"
#include "log/store.h"
#include "tests/crash/workload.h"
#include "tests/support/seeds.h"
#include "tests/support/temp_dir.h"

namespace crlog::crash {

inline const std::string kExtension = CRLOG_EXTENSION;
inline const std::string kWriter = CRLOG_CRASH_WRITER;

// The seeds of a randomised test: CRLOG_CRASH_SEED=<n> runs only seed n;
// otherwise CRLOG_CRASH_SEEDS=<count> (default `default_count`, halved under
// AddressSanitizer) seeds from `first`.
test_support::Seeds Seeds(int default_count, uint64_t first);
using test_support::SeedTrace;

// A fresh directory for one test's database, removed when the test passed
// and kept (its path printed) when it failed: the database and its log say
// what went wrong.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("crlog-crash", OnFailure::kKeep) {}
  std::string Db() const { return File("app.db"); }
};

// --- The writer child --------------------------------------------------

struct WriterOptions {
  std::string action = "write";  // write, open or backfill (tests/crash/writer.cc)
  // The child to run, with the writer's command line and report protocol;
  // empty: the writer (kWriter).
  std::string program;
  uint64_t seed = 1;
  const Mode* mode = nullptr;
  std::string crash_at;  // CRLOG_CRASH_AT; empty: none
  long crash_skip = 0;   // CRLOG_CRASH_SKIP
  long limit = 0;        // commits after which the writer exits; 0: none
  // > 0: one of several concurrent writers, numbering its transactions from
  // id_base + 1 (tests/crash/workload.h, kIdRange).
  int64_t id_base = 0;
  // SIGKILL as soon as this many acknowledgements have arrived; 0: never
  // (the writer ends by itself, or at its crash point). With
  // `then_after_steps` > 0, wait after that for this many more reported
  // steps of kind `steps`: the kill then lands while the writer runs that
  // step (tests/crash/writer.cc reports them before running them).
  int kill_after_acks = 0;
  int then_after_steps = 0;
  enum class Step {
    kStatement,   // any statement
    kCommit,      // the start of a COMMIT
    kCommitIo,    // a write, sync or journal deletion, counted from the next COMMIT
    kCommitSync,  // a sync or journal deletion, counted from the next COMMIT
  };
  Step steps = Step::kStatement;
  // Kill anyway once this many more acknowledgements arrived while waiting
  // for the steps (a step that the mode never takes, such as a sync with
  // WAL and synchronous=NORMAL, would otherwise leave the writer running).
  int give_up_after_acks = 40;
};

struct WriterResult {
  std::vector<int64_t> acks;  // every acknowledged transaction, in order
  int wait_status = 0;
  std::string stderr_text;  // its last few kilobytes
  std::string stderr_path;  // all of it: every statement it ran (CRLOG_CRASH_TRACE=1)
  bool KilledBySigkill() const { return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL; }
  bool ExitedCleanly() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }
  std::string Describe() const;  // how it ended, and its stderr
};

// Spawns the writer with the acknowledgement pipe on fd 3 and reads every
// acknowledgement until the pipe closes (after a SIGKILL too: whatever the
// child acknowledged before dying is in the pipe). No sleeps: it blocks on
// the pipe, and gives up (killing the child) only if the writer makes no
// progress for minutes.
absl::StatusOr<WriterResult> RunWriter(const std::string& db_path, const WriterOptions& options);
// Several writers at once on one database, each killed by its own options.
absl::StatusOr<std::vector<WriterResult>> RunWriters(const std::string& db_path,
                                                     const std::vector<WriterOptions>& options);

// --- Reading a database and its log without crlog loaded -----------------

struct LogFacts {
  log::SiteId site{};
  engine::meta::Watermark watermark;
  std::vector<uint64_t> local_seqs;  // seqs of this site's published events, ascending
  uint64_t published = 0;            // published events of any kind
  std::set<log::Hash> published_hashes;
  // txlog id -> seq of the published event that inserted it.
  std::map<int64_t, uint64_t> txlog_seq;
  std::vector<int64_t> txlog_inserted_twice;  // must stay empty
  // Rows written per table by published events.
  std::map<std::string, uint64_t> rows_per_table;
  uint64_t grouped_events = 0;  // published events that belong to a group
  std::vector<log::Hash> pending;
  std::set<int64_t> pending_txlog;  // txlog ids inserted by pending events
};

// Reads the log, the watermark and the site straight from disk.
// REQUIRES: no connection with crlog loaded is open on `db_path` in this
// process.
absl::StatusOr<LogFacts> ReadLogFacts(const std::string& db_path);
// The ids in txlog, read by plain SQLite (crlog not loaded: no recovery).
// Empty when the table does not exist.
absl::StatusOr<std::set<int64_t>> ReadTxlogPlain(const std::string& db_path);
// Runs one query returning an integer through plain SQLite.
absl::StatusOr<int64_t> QueryIntPlain(const std::string& db_path, const std::string& sql);

// --- The checks ----------------------------------------------------------

// Creates the database with crlog and the workload's tables.
void PrepareDatabase(const std::string& db_path, const Mode& mode);

struct Recovered {
  std::set<int64_t> txlog;  // ids present after recovery
  LogFacts log;
};

// Reopens the database with crlog loaded (which recovers it), then checks:
// every id in `acked` is in txlog and nothing else is, except the one
// transaction after the highest acknowledged that may have been committing;
// VerifyDatabase passes (the log verifies, the anchor holds, the tables equal
// the fold); no event is left pending; this site's seqs run 1..N without a
// gap and N is the watermark's; and a txlog row is in the table exactly when
// a published event inserted it.
void ExpectRecovered(const std::string& db_path, const Mode& mode, const std::set<int64_t>& acked, Recovered* out);
// The same with several writers: each id in `in_flight` may be present.
void ExpectRecovered(const std::string& db_path, const Mode& mode, const std::set<int64_t>& acked,
                     const std::set<int64_t>& in_flight, Recovered* out);

// Commits one more transaction through crlog and checks that it became the
// next seq of this site, published, and that the database still verifies.
void ExpectWritesAgain(const std::string& db_path, const Mode& mode);

// Formats a set of ids for failure messages.
std::string Ids(const std::set<int64_t>& ids);

// How gtest prints a mode parameter.
inline void PrintTo(const Mode& mode, std::ostream* os) { *os << mode.name; }

// Test-name suffix for a mode parameter: wal_normal, wal_full, delete_full.
std::string ModeName(const ::testing::TestParamInfo<Mode>& info);

}  // namespace crlog::crash

#endif  // CRLOG_TESTS_CRASH_HARNESS_H_
