// The loadable extension's entry point: `crsqlite.so`, `sqlite3_crsqlite_init`
// (the name cr-sqlite uses, so programs that load cr-sqlite load crlog
// unchanged). Attaches the connection to its replica, then registers the SQL
// functions and virtual tables.
#include "util/sqlite/api.h"

#include <dlfcn.h>

#include <cstring>
#include <ctime>
#include <mutex>

#include "absl/container/flat_hash_map.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "extension/connection.h"

namespace crlog::extension {

void Connection::EndTransaction() {
  for (engine::CaptureBuffer* b : joined) {
    b->Clear();
    b->joined = false;
  }
  joined.clear();
  merger.reset();
  poisoned = absl::OkStatus();
  pending.reset();
  applied.clear();
  prepared = false;
  savepoint_depth = 0;
  prepared_depth = 0;
  floors = {};
}

int SqliteCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return SQLITE_OK;
    case absl::StatusCode::kUnavailable: return SQLITE_BUSY;
    case absl::StatusCode::kResourceExhausted: return SQLITE_FULL;
    case absl::StatusCode::kDataLoss: return SQLITE_CORRUPT;
    case absl::StatusCode::kPermissionDenied: return SQLITE_PERM;
    case absl::StatusCode::kInvalidArgument: return SQLITE_MISMATCH;
    case absl::StatusCode::kFailedPrecondition: return SQLITE_CONSTRAINT;
    default: return SQLITE_ERROR;
  }
}

void ResultError(sqlite3_context* ctx, const absl::Status& status) {
  std::string msg(status.message());
  sqlite3_result_error(ctx, msg.c_str(), static_cast<int>(msg.size()));
  int code = SqliteCode(status);
  if (code != SQLITE_ERROR) sqlite3_result_error_code(ctx, code);
}

std::string TextArg(sqlite3_value* v) {
  const unsigned char* p = sqlite3_value_text(v);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_value_bytes(v)) : std::string();
}

void ResultValue(sqlite3_context* ctx, const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: sqlite3_result_int64(ctx, v.integer); break;
    case ValueType::kReal: sqlite3_result_double(ctx, v.real); break;
    case ValueType::kText:
      sqlite3_result_text(ctx, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      break;
    case ValueType::kBlob:
      sqlite3_result_blob(ctx, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
      break;
    case ValueType::kNull: sqlite3_result_null(ctx); break;
  }
}

int VtabError(sqlite3_vtab* vtab, const absl::Status& status) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", std::string(status.message()).c_str());
  return SqliteCode(status);
}

namespace {

// Connections crlog is loaded on. Loading twice on one connection must not
// register again: re-registering would destroy the first Connection while
// its capture tables still point at it.
std::mutex loaded_mu;
absl::flat_hash_map<sqlite3*, Connection*>& Loaded() {
  static auto* loaded = new absl::flat_hash_map<sqlite3*, Connection*>();
  return *loaded;
}

void DestroyConnection(void* p) {
  auto* conn = static_cast<Connection*>(p);
  {
    std::lock_guard<std::mutex> lock(loaded_mu);
    Loaded().erase(conn->db);
  }
  delete conn;
}

// Remote or recovery work must never be captured, and a transaction's
// floor for db_version ends with it, whether or not capture was involved.
int OnCommit(void* p) {
  static_cast<Connection*>(p)->floors = {};  // no SQLite call: no ApiScope needed
  return 0;
}
void OnRollback(void* p) { static_cast<Connection*>(p)->floors = {}; }

// In WAL mode with synchronous=NORMAL, commits are not synced, and neither
// are log appends; SQLite makes its data durable when it checkpoints. So the
// log is synced first, then SQLite checkpoints as its own auto-checkpoint
// would (this hook replaces that one; PRAGMA wal_autocheckpoint=N after
// loading crlog replaces this hook in turn).
int OnWalCommit(void* p, sqlite3* db, const char* schema, int pages) {
  auto* conn = static_cast<Connection*>(p);
  if (conn->wal_autocheckpoint <= 0 || pages < conn->wal_autocheckpoint) return SQLITE_OK;
  if (conn->replica) conn->replica->log().Sync().IgnoreError();
  sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

int ReadAutocheckpoint(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  int pages = 1000;
  if (sqlite3_prepare_v2(db, "PRAGMA wal_autocheckpoint", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    pages = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return pages;
}

}  // namespace

Connection* LoadedConnection(sqlite3* db) {
  std::lock_guard<std::mutex> lock(loaded_mu);
  auto it = Loaded().find(db);
  return it == Loaded().end() ? nullptr : it->second;
}

int LoadInto(sqlite3* db, char** err, const sqlite3_api_routines* api) {
  // Nothing may call SQLite before its routines are known.
  auto slot = crlog::sqlite::Register(api);
  if (!slot.ok()) {
    if (api != nullptr && err != nullptr) {
      *err = api->mprintf("crlog: %s", std::string(slot.status().message()).c_str());
    }
    return SQLITE_ERROR;
  }
  crlog::sqlite::ApiScope scope(*slot);
  auto* conn = new Connection();
  {
    std::lock_guard<std::mutex> lock(loaded_mu);
    if (!Loaded().emplace(db, conn).second) {  // already loaded here
      delete conn;
      return SQLITE_OK;
    }
  }
  conn->db = db;
  conn->api_slot = *slot;
  conn->statements = std::make_unique<crlog::sqlite::StmtCache>(db);
  conn->attach_error = absl::FailedPreconditionError("crlog is still loading");
  // Register first: attaching runs recovery, which may drop leftover capture
  // tables and so needs the module. The first registration owns `conn`:
  // SQLite destroys it with the connection.
  int rc = CreateFunction(
      db, conn, "crsql_finalize", 0, SQLITE_UTF8,
      [](sqlite3_context* ctx, int, sqlite3_value**) {
        // cr-sqlite's way to let go of its statements before sqlite3_close;
        // crlog's are let go by then anyway (Connection::statements).
        Conn(ctx)->statements->Clear();
        sqlite3_result_null(ctx);
      },
      DestroyConnection);
  if (rc == SQLITE_OK) rc = RegisterFunctions(db, conn);
  if (rc == SQLITE_OK) rc = RegisterCaptureModule(db, conn);
  if (rc == SQLITE_OK) rc = RegisterChangesModule(db, conn);
  if (rc == SQLITE_OK) rc = RegisterHistoryModules(db, conn);
  if (rc == SQLITE_OK) rc = RegisterReplayFunctions(db, conn);
  if (rc == SQLITE_OK) rc = RegisterBlameModules(db, conn);
  if (rc == SQLITE_OK) rc = RegisterAutomigrate(db, conn);
  if (rc == SQLITE_OK) rc = RegisterFractIndex(db, conn);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("crlog: registering functions failed: %s", sqlite3_errmsg(db));
    std::lock_guard<std::mutex> lock(loaded_mu);
    Loaded().erase(db);
    return rc;
  }
  conn->attach_error = absl::OkStatus();
  auto replica = crlog::engine::Replica::Attach(db, &conn->replica);
  if (replica.ok()) {
    conn->replica = *std::move(replica);
    if (absl::Status s = LoadSettings(conn); !s.ok()) {
      conn->replica.reset();
      conn->attach_error = s;
      *err = sqlite3_mprintf("crlog: %s", std::string(s.message()).c_str());
      return SQLITE_ERROR;
    }
    if (sqlite3_get_autocommit(db) && !sqlite3_db_readonly(db, "main")) {
      conn->replica->DropLeftoverCaptureTables(db).IgnoreError();  // tidying only
      conn->replica->EnsureTriggersFirst(db).IgnoreError();  // retried at the next load
    }
  } else {
    conn->attach_error = replica.status();
    // A database whose log is missing or foreign must not be written
    // unnoticed: refuse to load rather than run without capture. (The
    // functions stay registered and report the same error.)
    *err = sqlite3_mprintf("crlog: %s", std::string(replica.status().message()).c_str());
    return SQLITE_ERROR;
  }
  sqlite3_commit_hook(db, OnCommit, conn);
  sqlite3_rollback_hook(db, OnRollback, conn);
  conn->wal_autocheckpoint = ReadAutocheckpoint(db);
  sqlite3_wal_hook(db, OnWalCommit, conn);
  return SQLITE_OK_LOAD_PERMANENTLY;
}

}  // namespace crlog::extension

// The core of this process: the first copy of crsqlite.so loaded (or linked)
// exports it, and every later copy hands its connections to that one, so a
// process has one engine and opens each log once however many copies of the
// file it loads (docs/architecture.md, "One core per process"). A name of
// crlog's own, not the entry point's: cr-sqlite's library exports that too.
extern "C" __attribute__((visibility("default"))) int crlog_core_v1(sqlite3* db, char** err,
                                                                     const sqlite3_api_routines* api) {
  return crlog::extension::LoadInto(db, err, api);
}

extern "C" int sqlite3_crsqlite_init(sqlite3* db, char** err, const sqlite3_api_routines* api) {
  using Core = int (*)(sqlite3*, char**, const sqlite3_api_routines*);
  // This file binds its own symbols (-Bsymbolic), so &crlog_core_v1 is this
  // copy's. The first copy is found in the process's global scope (the
  // program, what it links, then what was loaded RTLD_GLOBAL, as SQLite
  // loads extensions), searched through the program's handle: not with
  // RTLD_DEFAULT, which searches from the caller, and a -Bsymbolic (DT_SYMBOLIC)
  // caller first of all in itself, so each copy would find its own core.
  Core first = nullptr;
  if (void* program = dlopen(nullptr, RTLD_NOW)) {
    first = reinterpret_cast<Core>(dlsym(program, "crlog_core_v1"));
    dlclose(program);
  }
  if (first != nullptr && first != &crlog_core_v1) return first(db, err, api);
  return crlog_core_v1(db, err, api);
}
