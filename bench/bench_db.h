// The benchmark table t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER,
// c REAL) in a SQLite database, plain or replicated through the built
// extension (CRLOG_EXTENSION), and the extension's merge path on it: what
// crlog_merge_bench and crlog_history_bench share. Nothing here is timed on
// its own except ApplyBundle, which times the merge it runs.
//
// Every database: journal_mode=WAL, synchronous=NORMAL.
#ifndef CRLOG_BENCH_BENCH_DB_H_
#define CRLOG_BENCH_BENCH_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "bench/bench_util.h"

namespace crlog::bench {

inline constexpr char kInsert[] = "INSERT INTO t(id, a, b, c) VALUES (?1, ?2, ?3, ?4)";
// What a database holding t must match after any merge or replay, in one
// scan: a is 'name-<id>' on every row (RowFor).
inline constexpr char kDigest[] =
    "SELECT count(*) || '/' || total(b) || '/' || total(c) || '/' || total(length(a)) || '/' || "
    "total(a = 'name-' || id) FROM t";

// A connection, closed with its statements when the object dies.
class Db {
 public:
  Db() = default;
  ~Db() { Close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens `path` with the bench PRAGMAs and t; with `replicated`, loads the
  // extension first and makes t replicated.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, bool replicated);
  // Opens an existing database as it is: no PRAGMAs, no table, no extension.
  static absl::StatusOr<std::unique_ptr<Db>> OpenExisting(const std::string& path);

  void Close();
  absl::Status Exec(const char* sql);
  absl::StatusOr<sqlite3_stmt*> Prepare(const char* sql);
  // The first column of the first row, as text.
  absl::StatusOr<std::string> QueryText(const char* sql);
  // Checkpoints the WAL away; the bytes of the db file and its -wal.
  absl::StatusOr<uint64_t> FileBytes();
  static uint64_t StatBytes(const std::string& file, bool on_disk);

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A column's bytes (TEXT or BLOB), copied.
std::string ColumnBytes(sqlite3_stmt* stmt, int col);

// Inserts `rows` with kInsert prepared as `stmt` (no transaction of its own).
absl::Status StepRows(sqlite3* db, sqlite3_stmt* stmt, absl::Span<const Row> rows);
// Inserts `rows` in one transaction.
absl::Status InsertRows(Db& d, absl::Span<const Row> rows);

// `SELECT crlog_export()` on a replicated database: its whole log as an
// event bundle.
absl::StatusOr<std::string> ExportBundle(Db& d);
// `SELECT crlog_apply(bundle)` on a replicated database, autocommit: the
// engine's merge path (Replica::ApplyEvents). Returns the seconds it took
// until the statement was reset (its commit); `events` gets its result.
absl::StatusOr<double> ApplyBundle(Db& d, const std::string& bundle, int64_t* events);

}  // namespace crlog::bench

#endif  // CRLOG_BENCH_BENCH_DB_H_
