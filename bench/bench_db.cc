// The benchmark table in SQLite, plain or replicated (bench/bench_db.h).
#include "bench/bench_db.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/sqlite_bench_util.h"

namespace crlog::bench {
namespace {

constexpr char kPragmas[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
constexpr char kCreate[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL)";

}  // namespace

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, bool replicated) {
  auto d = std::make_unique<Db>();
  d->path_ = path;
  if (sqlite3_open(path.c_str(), &d->db_) != SQLITE_OK) return SqliteError(d->db_, "open");
  if (absl::Status s = d->Exec(kPragmas); !s.ok()) return s;
  if (replicated) {
    if (absl::Status s = LoadCrlogExtension(d->db_); !s.ok()) return s;
  }
  if (absl::Status s = d->Exec(kCreate); !s.ok()) return s;
  if (replicated) {
    if (absl::Status s = d->Exec("SELECT crsql_as_crr('t')"); !s.ok()) return s;
  }
  return d;
}

absl::StatusOr<std::unique_ptr<Db>> Db::OpenExisting(const std::string& path) {
  auto d = std::make_unique<Db>();
  d->path_ = path;
  if (sqlite3_open_v2(path.c_str(), &d->db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    return SqliteError(d->db_, absl::StrCat("open ", path));
  }
  return d;
}

void Db::Close() {
  if (db_ == nullptr) return;
  sqlite3_close(db_);  // the extension's log closes with its last connection
  db_ = nullptr;
}

absl::Status Db::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("sqlite ", sql, ": ", err != nullptr ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3_stmt*> Db::Prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return SqliteError(db_, sql);
  return stmt;
}

absl::StatusOr<std::string> Db::QueryText(const char* sql) {
  absl::StatusOr<sqlite3_stmt*> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  std::string out;
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(*stmt, 0);
    if (t != nullptr) out = reinterpret_cast<const char*>(t);
  }
  sqlite3_finalize(*stmt);
  if (rc != SQLITE_ROW) return SqliteError(db_, sql);
  return out;
}

absl::StatusOr<uint64_t> Db::FileBytes() {
  if (absl::Status s = Exec("PRAGMA wal_checkpoint(TRUNCATE)"); !s.ok()) return s;
  return StatBytes(path_, false) + StatBytes(path_ + "-wal", false);
}

uint64_t Db::StatBytes(const std::string& file, bool on_disk) {
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return 0;
  return on_disk ? static_cast<uint64_t>(st.st_blocks) * 512 : static_cast<uint64_t>(st.st_size);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int col) {
  const void* p = sqlite3_column_blob(stmt, col);
  const int n = sqlite3_column_bytes(stmt, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

absl::Status StepRows(sqlite3* db, sqlite3_stmt* stmt, absl::Span<const Row> rows) {
  for (const Row& r : rows) {
    sqlite3_bind_int64(stmt, 1, r.id);
    sqlite3_bind_text(stmt, 2, r.a.data(), static_cast<int>(r.a.size()), SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, r.b);
    sqlite3_bind_double(stmt, 4, r.c);
    if (sqlite3_step(stmt) != SQLITE_DONE) return SqliteError(db, kInsert);
    sqlite3_reset(stmt);
  }
  return absl::OkStatus();
}

absl::Status InsertRows(Db& d, absl::Span<const Row> rows) {
  if (absl::Status s = d.Exec("BEGIN"); !s.ok()) return s;
  absl::StatusOr<sqlite3_stmt*> stmt = d.Prepare(kInsert);
  if (!stmt.ok()) return stmt.status();
  absl::Status st = StepRows(d.db(), *stmt, rows);
  sqlite3_finalize(*stmt);
  if (!st.ok()) {
    d.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return d.Exec("COMMIT");
}

absl::StatusOr<std::string> ExportBundle(Db& d) {
  absl::StatusOr<sqlite3_stmt*> stmt = d.Prepare("SELECT crlog_export()");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<std::string> bundle;
  if (sqlite3_step(*stmt) == SQLITE_ROW && sqlite3_column_type(*stmt, 0) == SQLITE_BLOB) {
    bundle = ColumnBytes(*stmt, 0);
  } else {
    bundle = SqliteError(d.db(), "SELECT crlog_export() (no blob)");
  }
  sqlite3_finalize(*stmt);
  return bundle;
}

absl::StatusOr<double> ApplyBundle(Db& d, const std::string& bundle, int64_t* events) {
  absl::StatusOr<sqlite3_stmt*> stmt = d.Prepare("SELECT crlog_apply(?1)");
  if (!stmt.ok()) return stmt.status();
  sqlite3_bind_blob(*stmt, 1, bundle.data(), static_cast<int>(bundle.size()), SQLITE_STATIC);
  Stopwatch sw;
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) *events = sqlite3_column_int64(*stmt, 0);
  const int rc2 = sqlite3_reset(*stmt);  // ends the statement: the commit
  const double s = sw.Seconds();
  absl::Status st;
  if (rc != SQLITE_ROW || rc2 != SQLITE_OK) st = SqliteError(d.db(), "SELECT crlog_apply(?1)");
  sqlite3_finalize(*stmt);
  if (!st.ok()) return st;
  return s;
}

}  // namespace crlog::bench
