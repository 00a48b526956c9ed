// crlog_crash_writer: the child the crash tests kill. It uses crlog the way a
// program does (sqlite3_load_extension) and tells the parent, on fd 3, the
// number of every transaction whose COMMIT returned SQLITE_OK, one decimal
// number per line, written with write(2) before the next transaction starts.
// It also reports each step, before running it: a line "." before a
// statement, "c" before a COMMIT, and (the database is opened through
// tests/crash/test_vfs.h) "w", "s" or "d" before each write, sync or
// deletion of the database, its journal or its WAL, so that the parent can
// kill it at a chosen point inside a transaction, or inside SQLite's commit,
// rather than only between two transactions.
//
//   crlog_crash_writer DB EXTENSION SEED MODE [ACTION [LIMIT [ID_BASE]]]
//
// MODE is a durability mode of tests/crash/workload.h (wal-normal, wal-full,
// delete-full). ACTION:
//   write     (default) set the tables up if needed, then run seeded random
//             transactions (tests/crash/workload.h) until killed, or until
//             LIMIT have committed (0: no limit). Seeds with SEED % 4 == 1
//             use a small crlog-max-event-bytes, so that larger transactions
//             become event groups; seeds with SEED % 3 == 2 checkpoint a WAL
//             every 8 pages instead of 1000. With ID_BASE > 0 the writer
//             shares the database with others: it numbers its transactions
//             from ID_BASE + 1, waits up to 10 s for locks, and counts a
//             transaction that still finds the database busy as rolled back.
//   open      open the database and load crlog (which recovers), then exit.
//   backfill  SELECT crsql_as_crr('legacy') on a table that already has
//             rows, with a small crlog-max-event-bytes so the backfill is an
//             event group; acknowledges 1 when it committed.
// Named crash points (engine/replica/crash_point.h) are set through the environment
// by the parent. CRLOG_CRASH_TRACE=1 echoes every statement to stderr.
// Exit status: 0 done, 2 usage, 3 an unexpected error (described on stderr).
#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/crash/test_vfs.h"
#include "tests/crash/workload.h"

namespace {

void Report(const std::string& line) { crlog::crash::ReportToParent(line, "writer"); }

void Ack(int64_t number) { Report(std::to_string(number) + "\n"); }

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "writer: %s\n", what.c_str());
  std::exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crlog::crash;
  if (argc < 5 || argc > 8) {
    std::fprintf(stderr, "usage: %s DB EXTENSION SEED MODE [write|open|backfill [LIMIT [ID_BASE]]]\n", argv[0]);
    return 2;
  }
  const std::string db_path = argv[1];
  const std::string extension = argv[2];
  const uint64_t seed = std::strtoull(argv[3], nullptr, 10);
  const Mode* mode = FindMode(argv[4]);
  const std::string action = argc > 5 ? argv[5] : "write";
  const long long limit = argc > 6 ? std::atoll(argv[6]) : 0;
  const int64_t id_base = argc > 7 ? std::atoll(argv[7]) : 0;
  const bool concurrent = id_base > 0;
  if (mode == nullptr) {
    std::fprintf(stderr, "writer: unknown mode '%s'\n", argv[4]);
    return 2;
  }

  RegisterTestVfs();
  std::string error;
  OpenOptions open;
  open.vfs = kTestVfs;
  open.busy_timeout_ms = concurrent ? 10000 : 0;
  if (seed % 3 == 2) open.wal_autocheckpoint = 8;  // a checkpoint (after crlog syncs its log) every few commits
  sqlite3* db = OpenWithCrlog(db_path, *mode, extension, &error, open);
  if (db == nullptr) Fail(error);

  if (action == "open") {
    if (sqlite3_close(db) != SQLITE_OK) Fail("closing the database failed");
    return 0;
  }
  if (action == "backfill") {
    std::string msg = ExecSql(db,
                              "SELECT crsql_config_set('crlog-max-event-bytes', 1024);"
                              "SELECT crsql_as_crr('legacy');");
    if (!msg.empty()) Fail("crsql_as_crr('legacy'): " + msg);
    Ack(1);
    if (sqlite3_close(db) != SQLITE_OK) Fail("closing the database failed");
    return 0;
  }
  if (action != "write") {
    std::fprintf(stderr, "writer: unknown action '%s'\n", action.c_str());
    return 2;
  }

  if (std::string msg = SetUpTables(db); !msg.empty()) Fail("setting the tables up: " + msg);
  if (seed % 4 == 1) {
    if (std::string msg = ExecSql(db, "SELECT crsql_config_set('crlog-max-event-bytes', 2048)"); !msg.empty()) {
      Fail("crsql_config_set: " + msg);
    }
  }
  const int64_t max = concurrent ? MaxTxlogIdFrom(db, id_base) : MaxTxlogId(db);
  if (max < 0) Fail(std::string("reading txlog: ") + sqlite3_errmsg(db));
  const char* trace = std::getenv("CRLOG_CRASH_TRACE");
  const bool tracing = trace != nullptr && std::strcmp(trace, "1") == 0;
  Workload workload(db, seed, max + 1, tracing);
  workload.set_concurrent(concurrent);
  workload.set_on_step([](char step) { Report(step == 'c' ? "c\n" : ".\n"); });
  SetIoObserver([](char op) { Report(std::string(1, op) + "\n"); });
  for (long long committed = 0; limit == 0 || committed < limit;) {
    Workload::Outcome outcome = workload.RunOne();
    if (!outcome.error.empty()) Fail(outcome.error);
    if (outcome.committed) {
      if (tracing) std::fprintf(stderr, "-- committed %lld\n", static_cast<long long>(outcome.number));
      Ack(outcome.number);
      ++committed;
    }
  }
  if (sqlite3_close(db) != SQLITE_OK) Fail("closing the database failed");
  return 0;
}
