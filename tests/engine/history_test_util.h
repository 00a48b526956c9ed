// Helpers for the history tests (blame, diff): replicas on real database
// files with the built extension loaded (tests/merge_sql's helpers), a
// seeded random multi-site history synced both ways (crlog_export /
// crlog_apply and the crsql_changes loop), and the rows of a replay.
//
// The history is read in process through engine::HistoryDb, which opens the
// log with this process's log/; the extension carries its own. So every
// connection with the extension loaded is closed before a log is opened
// here (tests/capture/capture_test_util.h says why).
#ifndef CRLOG_TESTS_ENGINE_HISTORY_TEST_UTIL_H_
#define CRLOG_TESTS_ENGINE_HISTORY_TEST_UTIL_H_

#include <sqlite3.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/history/history_db.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "crlog/value.h"
#include "tests/merge_sql/merge_sql_util.h"

namespace crlog::engine::history_test {

using merge_sql_test::Db;

// crlog_export on `from`, crlog_apply on `to`.
void ApplyAll(Db& from, Db& to);
// Every change of `from` not written by `to` into `to`, in one transaction
// of INSERT INTO crsql_changes (an import event on `to`).
void SendChanges(Db& from, Db& to);

// The table every random history writes: t(id INTEGER PRIMARY KEY NOT NULL,
// a TEXT, b INTEGER).
inline constexpr char kTable[] = "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER)";

// `steps` random steps on `replicas` (which replicate t): inserts, updates,
// deletes and resurrections of rows 1..6, sometimes several in one
// transaction, and syncs between random pairs by either path.
void RandomHistory(const std::vector<Db*>& replicas, std::mt19937* rng, int steps);

// An in-memory database, closed on destruction.
struct MemoryDb {
  MemoryDb();
  ~MemoryDb();
  MemoryDb(const MemoryDb&) = delete;
  MemoryDb& operator=(const MemoryDb&) = delete;
  sqlite3* db = nullptr;
};

// Replays `point` of `h` into `out`; a failure is a test failure.
void Replay(const HistoryDb& h, const Point& point, MemoryDb* out);

// The rows of `table` in `db` (schema "main"): packed pk -> non-pk values
// in table order. No such table gives no rows.
std::map<std::string, std::vector<Value>> Rows(sqlite3* db, std::string_view table);
// The non-pk column names of `table`, in table order.
std::vector<std::string> ColumnsOf(sqlite3* db, std::string_view table);

// Opens the history of `path`; a failure is a test failure (nullptr).
std::unique_ptr<HistoryDb> OpenHistory(const std::string& path);

}  // namespace crlog::engine::history_test

#endif  // CRLOG_TESTS_ENGINE_HISTORY_TEST_UTIL_H_
