// Small RAII helpers over SQLite's C API for crlog's own statements.
// Errors become absl::Status with SQLite's message and the statement at
// fault.
#ifndef CRLOG_UTIL_SQLITE_STMT_H_
#define CRLOG_UTIL_SQLITE_STMT_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crlog/value.h"

namespace crlog::sqlite {

struct StmtShelf;  // util/sqlite/stmt_cache.h

// Turns a SQLite result code into a status naming what was being done.
absl::Status SqliteError(sqlite3* db, int rc, std::string_view doing);

// A prepared statement, finalized on destruction, or given back to the
// connection's statement cache when one is in force (stmt_cache.h). Not
// copyable.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { Release(); }
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_), shelf_(std::move(o.shelf_)) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(db_, o.db_);
    std::swap(stmt_, o.stmt_);
    std::swap(shelf_, o.shelf_);
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Prepares `sql` (its first statement) on `db`, or takes it from the
  // statement cache in force on this thread for `db`.
  static absl::StatusOr<Stmt> Prepare(sqlite3* db, std::string_view sql);

  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

  // Binding is 1-based, as in SQLite.
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindValue(int i, const Value& v);
  // Steps once: true when a row is ready, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion and resets.
  absl::Status Run();
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string_view ColumnBlob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    return std::string_view(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, i));
  }
  std::string_view ColumnText(int i) const {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    return std::string_view(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, i));
  }
  bool ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  Value ColumnValue(int i) const;

 private:
  void Release();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::shared_ptr<StmtShelf> shelf_;  // where it goes back to, when cached
};

// A connection crlog opened for itself (a scratch in-memory database, a
// file read on the side), closed on destruction. Movable, not copyable.
class OwnedDb {
 public:
  explicit OwnedDb(sqlite3* db = nullptr) : db_(db) {}
  ~OwnedDb() { sqlite3_close_v2(db_); }
  OwnedDb(OwnedDb&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  OwnedDb& operator=(OwnedDb&& o) noexcept {
    std::swap(db_, o.db_);
    return *this;
  }
  OwnedDb(const OwnedDb&) = delete;
  OwnedDb& operator=(const OwnedDb&) = delete;

  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// sqlite3_open_v2(path, flags); a failure is SqliteError naming `doing`.
absl::StatusOr<OwnedDb> OpenDb(const std::string& path, int flags, std::string_view doing);

// A savepoint that rolls back unless released: crlog's own multi-statement
// writes are all or nothing, inside or outside the caller's transaction.
class Savepoint {
 public:
  Savepoint(sqlite3* db, const char* name);
  ~Savepoint();
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;

  // Whether the savepoint was opened.
  const absl::Status& status() const { return status_; }
  absl::Status Release();

 private:
  sqlite3* db_;
  const char* name_;
  absl::Status status_;
  bool released_ = false;
};

// Runs a query and returns its first column as text, one string per row.
absl::StatusOr<std::vector<std::string>> QueryTexts(absl::StatusOr<Stmt> stmt);

// Runs one or more statements that return nothing.
absl::Status Exec(sqlite3* db, std::string_view sql);

// Copies a sqlite3_value into a Value.
Value FromSqlite(sqlite3_value* v);

}  // namespace crlog::sqlite

#endif  // CRLOG_UTIL_SQLITE_STMT_H_
