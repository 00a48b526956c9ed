// A SQLite VFS for the crash tests, "crlog_test_vfs", wrapping the default
// unix VFS. It watches the main database, its rollback journal and its WAL
// (other files, and crlog's LMDB log, which SQLite never sees, are untouched)
// and can
// - fail them: while a fault is armed, every xWrite (SQLITE_IOERR_WRITE) or
//   every xSync (SQLITE_IOERR_FSYNC), or only the xWrites of the database
//   file itself (the commit-failure tests);
// - report them: an observer hears of each xWrite, xSync and journal or WAL
//   deletion before it happens (the writer child tells its parent, which
//   can then kill it between two of SQLite's commit steps).
// Process-wide; not for use from several threads at once. Plain SQLite only.
#ifndef CRLOG_TESTS_CRASH_TEST_VFS_H_
#define CRLOG_TESTS_CRASH_TEST_VFS_H_

namespace crlog::crash {

inline constexpr char kTestVfs[] = "crlog_test_vfs";

enum class Fault {
  kNone,
  kWrite,          // xWrite of the database, journal or WAL
  kSync,           // xSync of the database, journal or WAL
  kDatabaseWrite,  // xWrite of the database file only (a rollback-journal
                   // commit fails after its journal is safely written)
};

// Registers the VFS (not as the default). Idempotent.
void RegisterTestVfs();
// Arms `fault` (kNone disarms) and resets the count of injected failures.
void SetFault(Fault fault);
// How many calls failed since the last SetFault.
int InjectedFaults();

// Calls `observer` before each watched xWrite ('w'), xSync ('s') and
// deletion of a journal or WAL ('d'); null stops.
void SetIoObserver(void (*observer)(char op));

}  // namespace crlog::crash

#endif  // CRLOG_TESTS_CRASH_TEST_VFS_H_
