// The crash tests' workload: the replicated tables, the durability modes, and
// the seeded random transactions the writer child (tests/crash/writer.cc)
// runs until it is killed. The tests use the same code to set a database up
// and to write once more after a crash.
//
// Every committed transaction inserts exactly one row of its own into
// txlog(id, n): transaction k inserts id k, and k only advances on commit,
// so the transaction in flight when the writer dies is always the highest
// acknowledged number plus one.
//
// Plain SQLite and the standard library only: the writer loads crlog as a
// program would, through sqlite3_load_extension, and links nothing of crlog.
#ifndef CRLOG_TESTS_CRASH_WORKLOAD_H_
#define CRLOG_TESTS_CRASH_WORKLOAD_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace crlog::crash {

// How SQLite is asked to make a commit durable; crlog follows it
// (DESIGN.md, "Durability").
struct Mode {
  const char* name;          // wal-normal, wal-full, delete-full
  const char* journal_mode;  // WAL or DELETE
  const char* synchronous;   // NORMAL or FULL
};
const std::vector<Mode>& Modes();
// Null when `name` is not one of Modes().
const Mode* FindMode(std::string_view name);

// Runs `sql` (any number of statements). Returns SQLite's message, or ""
// on success.
std::string ExecSql(sqlite3* db, const std::string& sql);

struct OpenOptions {
  const char* vfs = nullptr;  // null: the default VFS
  int busy_timeout_ms = 0;
  int wal_autocheckpoint = -1;  // pages, set before crlog loads; -1: SQLite's default
};

// Opens `path`, applies `options` and `mode` and loads crlog from
// `extension` (which runs crlog's recovery). Returns null and sets `*error`
// on failure. The caller closes the connection.
sqlite3* OpenWithCrlog(const std::string& path, const Mode& mode, const std::string& extension, std::string* error,
                       const OpenOptions& options = {});

// Creates txlog, items and pairs if missing and makes them replicated
// (idempotent). Returns "" or SQLite's message.
std::string SetUpTables(sqlite3* db);

// The largest txlog id, 0 when empty; -1 on error.
int64_t MaxTxlogId(sqlite3* db);
// Concurrent writers number their transactions in ranges of their own:
// (base, base + kIdRange). The largest id in the range, `base` when none;
// -1 on error.
inline constexpr int64_t kIdRange = 1000000;
int64_t MaxTxlogIdFrom(sqlite3* db, int64_t base);

// Seeded random transactions over txlog, items and pairs: single-row and
// multi-row inserts, updates and deletes, primary-key changes, upserts,
// OR IGNORE / OR REPLACE, savepoints released or rolled back, statements
// that fail and are undone, autocommit statements (some failing), explicit
// ROLLBACKs, and now and then a transaction of hundreds of rows.
class Workload {
 public:
  // With `trace` set, every statement is echoed to stderr as it runs
  // (the writer does so when CRLOG_CRASH_TRACE=1), so that a failing seed's
  // history can be read back.
  Workload(sqlite3* db, uint64_t seed, int64_t next_number, bool trace = false);

  // Called before every statement the workload runs, with 'c' before a
  // COMMIT and '.' before anything else (the writer reports these steps to
  // the parent, which may kill it after a chosen step).
  void set_on_step(std::function<void(char)> on_step) { on_step_ = std::move(on_step); }
  // Other writers share the database: a statement or COMMIT that finds it
  // busy (after the connection's busy timeout) rolls the transaction back
  // and counts as not committed, instead of as an error.
  void set_concurrent(bool concurrent) { concurrent_ = concurrent; }

  struct Outcome {
    bool committed = false;
    int64_t number = 0;  // the txlog id it inserted, when committed
    std::string error;   // an unexpected SQLite error: the run is broken
  };
  // Runs one transaction to its end.
  Outcome RunOne();

 private:
  uint64_t Uniform(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(0, 99) < static_cast<uint64_t>(percent); }
  bool RandomOp(int depth);                  // false and error_ set on failure
  Outcome Failed();                          // ends the transaction after a failure
  bool Exec(const std::string& sql);         // false and error_ (and busy_) set on failure
  bool ExecFailing(const std::string& sql);  // must fail with a constraint error

  sqlite3* db_;
  std::mt19937_64 rng_;
  int64_t next_;
  bool trace_;
  bool concurrent_ = false;
  bool busy_ = false;  // the last failure was SQLITE_BUSY
  std::function<void(char)> on_step_;
  std::string error_;
};

// Writes one line to the parent test on the acknowledgement pipe (fd 3),
// whole; exits the child (code 3) if the parent is gone. `who` names the
// child in the message.
void ReportToParent(const std::string& line, const char* who);

}  // namespace crlog::crash

#endif  // CRLOG_TESTS_CRASH_WORKLOAD_H_
