// Helpers for the history tests: the replicated tables of a database as a
// comparable snapshot (column lists and sorted rows), replays into an
// in-memory database read back the same way, and a replica's log opened
// in-process once the extension has let go of it.
#ifndef CRLOG_TESTS_HISTORY_HISTORY_TEST_UTIL_H_
#define CRLOG_TESTS_HISTORY_HISTORY_TEST_UTIL_H_

#include <sqlite3.h>

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "log/hash.h"
#include "log/store.h"
#include "crlog/value.h"

namespace crlog {
// GoogleTest prints values in failure messages with this.
inline void PrintTo(const Value& v, std::ostream* os) { *os << ValueToString(v); }
}  // namespace crlog

namespace crlog::history_test {

// One table: its columns in order ("id*" marks a pk column) and its rows,
// each rendered "v1|v2|...", sorted. Values keep their type: 1, r:1.5,
// 'text', X'00', NULL.
struct TableSnapshot {
  std::vector<std::string> columns;
  std::vector<std::string> rows;
  friend bool operator==(const TableSnapshot&, const TableSnapshot&) = default;
};
// Table name -> snapshot.
using Snapshot = std::map<std::string, TableSnapshot>;

std::string Render(const Value& v);

// The tables named by `list_sql` (a query returning table names) in `db`.
absl::StatusOr<Snapshot> ReadSnapshot(sqlite3* db, const std::string& list_sql);
// The replicated tables of a live replica (crlog_tables).
absl::StatusOr<Snapshot> ReplicaSnapshot(sqlite3* db);
// Every table of an ordinary database (what crlog_replay writes).
absl::StatusOr<Snapshot> PlainSnapshot(sqlite3* db);

// "" when equal, else the differences, `got` against `want`.
std::string DiffSnapshots(const Snapshot& got, const Snapshot& want);

// A replicated database's log and what a point needs from the database,
// read after every connection with the extension has closed.
struct ReplicaLog {
  std::unique_ptr<log::LogStore> store;
  log::SiteId site{};
  std::vector<log::Hash> heads;  // crlog_heads
};
absl::StatusOr<ReplicaLog> OpenReplicaLog(const std::string& db_path);

// Replays `point` of `store` into a fresh in-memory database and returns
// its replicated tables.
absl::StatusOr<Snapshot> ReplaySnapshot(const log::LogStore& store, const engine::Point& point,
                                        const log::SiteId& local_site);

}  // namespace crlog::history_test

#endif  // CRLOG_TESTS_HISTORY_HISTORY_TEST_UTIL_H_
