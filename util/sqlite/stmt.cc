// RAII statements and status conversion for the engine's SQL.
#include "util/sqlite/stmt.h"

#include "util/sqlite/stmt_cache.h"

#include "absl/strings/str_cat.h"
#include "util/strings.h"

namespace crlog::sqlite {

absl::Status SqliteError(sqlite3* db, int rc, std::string_view doing) {
  std::string msg = absl::StrCat(Sv(doing), ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return absl::UnavailableError(msg);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return absl::InvalidArgumentError(msg);
    case SQLITE_NOTFOUND: return absl::NotFoundError(msg);
    case SQLITE_FULL:
    case SQLITE_NOMEM: return absl::ResourceExhaustedError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return absl::DataLossError(msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return absl::PermissionDeniedError(msg);
    default: return absl::InternalError(msg);
  }
}

absl::StatusOr<OwnedDb> OpenDb(const std::string& path, int flags, std::string_view doing) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  OwnedDb db(raw);  // SQLite hands back a handle to close even on failure
  if (rc != SQLITE_OK) return SqliteError(raw, rc, doing);
  return db;
}

Savepoint::Savepoint(sqlite3* db, const char* name) : db_(db), name_(name) {
  status_ = Exec(db_, absl::StrCat("SAVEPOINT ", name_));
}

Savepoint::~Savepoint() {
  if (status_.ok() && !released_) {
    Exec(db_, absl::StrCat("ROLLBACK TO ", name_, "; RELEASE ", name_)).IgnoreError();
  }
}

absl::Status Savepoint::Release() {
  released_ = true;
  return Exec(db_, absl::StrCat("RELEASE ", name_));
}

absl::StatusOr<Stmt> Stmt::Prepare(sqlite3* db, std::string_view sql) {
  Stmt s;
  s.db_ = db;
  std::shared_ptr<StmtShelf> shelf = ShelfInForce(db);
  if (shelf != nullptr) {
    s.stmt_ = TakeFromShelf(*shelf, sql);
    if (s.stmt_ != nullptr) {
      s.shelf_ = std::move(shelf);
      return s;
    }
  }
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &s.stmt_, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, absl::StrCat("preparing `", Sv(sql), "`"));
  // Only a statement that is the whole text can be found again by it.
  if (shelf != nullptr && s.stmt_ != nullptr && std::string_view(sqlite3_sql(s.stmt_)) == sql) s.shelf_ = std::move(shelf);
  return s;
}

void Stmt::Release() {
  if (stmt_ == nullptr) return;
  if (shelf_ != nullptr) {
    ReturnToShelf(*shelf_, stmt_);
    shelf_.reset();
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
}

void Stmt::BindValue(int i, const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: sqlite3_bind_int64(stmt_, i, v.integer); break;
    case ValueType::kReal: sqlite3_bind_double(stmt_, i, v.real); break;
    case ValueType::kText:
      sqlite3_bind_text(stmt_, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      break;
    case ValueType::kBlob:
      sqlite3_bind_blob(stmt_, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      break;
    case ValueType::kNull: sqlite3_bind_null(stmt_, i); break;
  }
}

absl::StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status s = SqliteError(db_, rc, absl::StrCat("running `", sqlite3_sql(stmt_), "`"));
  sqlite3_reset(stmt_);
  return s;
}

absl::Status Stmt::Run() {
  absl::StatusOr<bool> r;
  do {
    r = Step();
  } while (r.ok() && *r);
  Reset();
  return r.status();
}

Value Stmt::ColumnValue(int i) const { return FromSqlite(sqlite3_column_value(stmt_, i)); }

absl::StatusOr<std::vector<std::string>> QueryTexts(absl::StatusOr<Stmt> stmt) {
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(stmt->ColumnText(0));
  }
  return out;
}

absl::Status Exec(sqlite3* db, std::string_view sql) {
  std::string copy(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db, copy.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    absl::Status s = SqliteError(nullptr, rc, "");
    return absl::Status(s.code(), absl::StrCat(msg, " (in `", copy.substr(0, 200), "`)"));
  }
  return absl::OkStatus();
}

Value FromSqlite(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return Value::Integer(sqlite3_value_int64(v));
    case SQLITE_FLOAT: return Value::Real(sqlite3_value_double(v));
    case SQLITE_TEXT:
      return Value::Text(std::string_view(reinterpret_cast<const char*>(sqlite3_value_text(v)),
                                          sqlite3_value_bytes(v)));
    case SQLITE_BLOB: {
      const void* p = sqlite3_value_blob(v);
      return Value::Blob(std::string_view(static_cast<const char*>(p), sqlite3_value_bytes(v)));
    }
    default: return Value::Null();
  }
}

}  // namespace crlog::sqlite
