// The capture module, crlog_capture: one virtual table per replicated table
// (crlog_capture_<table>), written only by that table's persistent triggers.
// It is how crlog records exactly what SQLite commits (DESIGN.md, "The hard
// part"): SQLite tells a written virtual table about every savepoint,
// statement rollback, commit phase and rollback, so the buffered writes
// follow SQLite's own decisions.
//
// Declared columns: op, o0..o(P-1) old pk, n0..n(P-1) new pk, c0..c(M-1) new
// non-pk values, p0..p(M-1) old non-pk values (P pk columns, M others). Each
// trigger fills the columns it has. The module is SQLITE_VTAB_INNOCUOUS so the
// triggers run with trusted_schema=OFF, and a connection that has not loaded
// crlog fails with "no such module" instead of writing unnoticed (rule 5).
//
// Methods appear in the order SQLite calls them.
#include "util/sqlite/api.h"

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/capture/capture_buffer.h"
#include "extension/connection.h"
#include "schema/packed_pk.h"
#include "schema/table_info.h"

namespace crlog::extension {
namespace {

struct CaptureVtab {
  sqlite3_vtab base{};  // must be first
  Connection* conn = nullptr;
  std::unique_ptr<engine::CaptureBuffer> buffer;  // null when the table is no longer replicated
  std::string table;
  // The attached database the capture table lives in, when not "main": its
  // table belongs to another replica's log (see Connect).
  std::string attached_schema;
  // Why every write is refused, when ALTER TABLE ran on the table outside
  // crsql_begin_alter / crsql_commit_alter (see Connect).
  std::string altered;
  int pk_count = 0;
  int column_count = 0;
};

CaptureVtab* Self(sqlite3_vtab* v) { return reinterpret_cast<CaptureVtab*>(v); }

std::string Dequote(const char* arg) {
  std::string s = arg;
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') {
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      out.push_back(s[i]);
      if (s[i] == '\'' && s[i + 1] == '\'') ++i;
    }
    return out;
  }
  return s;
}

// xCreate / xConnect: CREATE VIRTUAL TABLE ... USING crlog_capture('table'),
// and every later open of the schema. Reads the replicated table's shape.
int Connect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
            char** err) {
  auto* conn = static_cast<Connection*>(aux);
  if (argc < 4) {
    *err = sqlite3_mprintf("crlog_capture needs the replicated table's name");
    return SQLITE_ERROR;
  }
  if (absl::Status s = conn->Ready(); !s.ok()) {
    *err = sqlite3_mprintf("%s", std::string(s.message()).c_str());
    return SqliteCode(s);
  }
  std::string table = Dequote(argv[3]);
  if (std::strcmp(argv[1], "main") != 0) {
    // A replicated table of an attached crlog database. Its writes belong
    // to that database's own log, which this connection does not hold; and
    // a commit across two databases is not atomic in WAL mode, so two logs
    // could not both follow it. Connected with the shape its triggers write,
    // to refuse every write by name.
    auto info = schema::ReadTableInfo(db, argv[1], table);
    int pk = info.ok() ? static_cast<int>(info->pk.size()) : 0;
    int cols = info.ok() ? static_cast<int>(info->non_pk.size()) : 0;
    std::vector<std::string> names = {"op"};
    for (int i = 0; i < pk; ++i) names.push_back(absl::StrCat("o", i));
    for (int i = 0; i < pk; ++i) names.push_back(absl::StrCat("n", i));
    for (int i = 0; i < cols; ++i) names.push_back(absl::StrCat("c", i));
    for (int i = 0; i < cols; ++i) names.push_back(absl::StrCat("p", i));
    int rc = sqlite3_declare_vtab(db, absl::StrCat("CREATE TABLE x(", absl::StrJoin(names, ", "), ")").c_str());
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    auto* v = new CaptureVtab();
    v->conn = conn;
    v->table = table;
    v->attached_schema = argv[1];
    *out = &v->base;
    return SQLITE_OK;
  }
  auto desc = conn->replica->Table(db, table);
  if (absl::IsNotFound(desc.status())) {
    // The table was dropped or un-replicated: connect a defunct capture table
    // so that it can be dropped in turn.
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(op)");
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    auto* v = new CaptureVtab();
    v->conn = conn;
    v->table = table;
    *out = &v->base;
    return SQLITE_OK;
  }
  if (!desc.ok()) {
    *err = sqlite3_mprintf("crlog_capture for '%s': %s", table.c_str(),
                           std::string(desc.status().message()).c_str());
    return SqliteCode(desc.status());
  }
  // Altered behind crlog's back (ADD or RENAME COLUMN): the triggers still
  // write the recorded columns, and capturing them under today's names
  // would replicate wrong cells. Connected with the recorded shape, to
  // refuse every write with the way out.
  const bool altered = (*desc)->AlteredBehindCrlog();
  int pk = static_cast<int>((altered ? (*desc)->recorded_pk : (*desc)->pk_columns).size());
  int cols = static_cast<int>((altered ? (*desc)->recorded_columns : (*desc)->columns).size());
  std::vector<std::string> names = {"op"};
  for (int i = 0; i < pk; ++i) names.push_back(absl::StrCat("o", i));
  for (int i = 0; i < pk; ++i) names.push_back(absl::StrCat("n", i));
  for (int i = 0; i < cols; ++i) names.push_back(absl::StrCat("c", i));
  for (int i = 0; i < cols; ++i) names.push_back(absl::StrCat("p", i));
  std::string decl = absl::StrCat("CREATE TABLE x(", absl::StrJoin(names, ", "), ")");
  int rc = sqlite3_declare_vtab(db, decl.c_str());
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  auto* v = new CaptureVtab();
  v->conn = conn;
  if (altered) {
    v->table = table;
    v->altered = std::string(engine::CheckNotAlteredBehindCrlog(**desc).message());
    *out = &v->base;
    return SQLITE_OK;
  }
  v->buffer = std::make_unique<engine::CaptureBuffer>(*std::move(desc));
  v->buffer->set_ordinals(&v->conn->op_ordinal);
  v->pk_count = pk;
  v->column_count = cols;
  *out = &v->base;
  return SQLITE_OK;
}

// xDisconnect / xDestroy: the connection closes or the table is dropped.
int Disconnect(sqlite3_vtab* vtab) {
  CaptureVtab* v = Self(vtab);
  auto& joined = v->conn->joined;
  if (v->buffer) joined.erase(std::remove(joined.begin(), joined.end(), v->buffer.get()), joined.end());
  v->conn->statements->Clear();  // before sqlite3_close looks for open statements
  sqlite3_free(vtab->zErrMsg);
  delete v;
  return SQLITE_OK;
}

// Reading the capture table is never useful; it is always empty.
int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1e9;
  return SQLITE_OK;
}
int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = static_cast<sqlite3_vtab_cursor*>(sqlite3_malloc(sizeof(sqlite3_vtab_cursor)));
  if (*out == nullptr) return SQLITE_NOMEM;
  std::memset(*out, 0, sizeof(sqlite3_vtab_cursor));
  return SQLITE_OK;
}
int Close(sqlite3_vtab_cursor* c) {
  sqlite3_free(c);
  return SQLITE_OK;
}
int Filter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**) { return SQLITE_OK; }
int Next(sqlite3_vtab_cursor*) { return SQLITE_OK; }
int Eof(sqlite3_vtab_cursor*) { return 1; }
int Column(sqlite3_vtab_cursor*, sqlite3_context*, int) { return SQLITE_OK; }
int Rowid(sqlite3_vtab_cursor*, sqlite3_int64* rowid) {
  *rowid = 0;
  return SQLITE_OK;
}

// xBegin: the table is first written in a transaction. Joins the
// connection's capture set so commit phase one sees its buffer. SQLite does
// not call xBegin for a table created inside the open transaction (it is
// listed directly), so xUpdate and xSync join too.
void Join(CaptureVtab* v) {
  if (!v->buffer || v->buffer->joined) return;
  v->buffer->joined = true;
  v->conn->joined.push_back(v->buffer.get());
}

int Begin(sqlite3_vtab* vtab) {
  Join(Self(vtab));
  return SQLITE_OK;
}

// xUpdate: a trigger hands over one row. argv[2] is op; the rest follow the
// declared columns. Only INSERT is meaningful; anything else is refused.
int Update(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64*) {
  CaptureVtab* v = Self(vtab);
  if (argc < 3 || sqlite3_value_type(argv[0]) != SQLITE_NULL) {
    return VtabError(vtab, absl::InvalidArgumentError(
                               "crlog_capture tables are written only by crlog's triggers"));
  }
  if (!v->attached_schema.empty()) {
    return VtabError(vtab, absl::FailedPreconditionError(absl::StrCat(
        "table '", v->attached_schema, ".", v->table, "' is replicated by the crlog log of the attached database '",
        v->attached_schema, "', which this connection does not write: open that database as the main one "
        "(with the extension loaded) to write to it; a commit across two databases could not be followed "
        "by both logs")));
  }
  if (!v->altered.empty() && v->conn->sync_bit == 0) {
    return VtabError(vtab, absl::FailedPreconditionError(v->altered));
  }
  if (v->conn->sync_bit != 0) return SQLITE_OK;  // a merge is writing: not a local change
  if (!v->buffer) {
    return VtabError(vtab, absl::FailedPreconditionError(absl::StrCat(
                               "table '", v->table, "' is no longer replicated; reopen the database")));
  }
  if (v->conn->prepared) {
    // COMMIT ran phase one and then returned SQLITE_BUSY: the event is
    // built. A further write would be committed without being in it.
    return VtabError(vtab, absl::FailedPreconditionError(absl::StrCat(
                               "table '", v->table, "': this transaction already began to commit "
                               "(COMMIT returned SQLITE_BUSY); retry COMMIT, or ROLLBACK")));
  }
  Join(v);
  int p = v->pk_count, m = v->column_count;
  if (argc != 3 + 2 * p + 2 * m) return VtabError(vtab, absl::InternalError("capture arity"));
  sqlite3_value** old_pk = argv + 3;
  sqlite3_value** new_pk = old_pk + p;
  sqlite3_value** new_cols = new_pk + p;
  sqlite3_value** old_cols = new_cols + m;
  switch (sqlite3_value_int(argv[2])) {
    case 1:
      v->buffer->AddInsert(schema::PackSqliteValues(p, new_pk), new_cols);
      break;
    case 2:
      v->buffer->AddUpdate(schema::PackSqliteValues(p, old_pk), schema::PackSqliteValues(p, new_pk),
                           new_cols, old_cols);
      break;
    case 3:
      v->buffer->AddDelete(schema::PackSqliteValues(p, old_pk));
      break;
    case 4:
      v->buffer->AddSchemaMark();
      break;
    case 6:  // crsql_commit_alter's derived cells: the old-value slots say which
      v->buffer->AddDerived(schema::PackSqliteValues(p, new_pk), new_cols, old_cols);
      break;
    default:
      return VtabError(vtab, absl::InvalidArgumentError("unknown crlog_capture op"));
  }
  return SQLITE_OK;
}

// xSavepoint / xRelease / xRollbackTo: SAVEPOINT, RELEASE, ROLLBACK TO, and
// the statement savepoint SQLite opens for each statement in a transaction
// (a failed statement rolls back to it). The buffer follows exactly (rule 1).
int SavepointM(sqlite3_vtab* vtab, int level) {
  if (Self(vtab)->buffer) Self(vtab)->buffer->Savepoint(level);
  TransactionSavepoint(Self(vtab)->conn, level);
  return SQLITE_OK;
}
int Release(sqlite3_vtab* vtab, int level) {
  if (Self(vtab)->buffer) Self(vtab)->buffer->Release(level);
  TransactionRelease(Self(vtab)->conn, level);
  return SQLITE_OK;
}
int RollbackTo(sqlite3_vtab* vtab, int level) {
  CaptureVtab* v = Self(vtab);
  if (v->buffer) v->buffer->RollbackTo(level);
  TransactionRollbackTo(v->conn, level);
  return SQLITE_OK;
}

// xSync: commit phase one, before SQLite writes its journal commit. The
// first crlog table to be synced builds the whole transaction's events from
// every joined buffer (and what crsql_changes merged), stores them pending,
// and writes the watermark and clocks through SQL in this same transaction
// (rule 2). A retried COMMIT (after SQLITE_BUSY) calls xSync again: the
// pending events are reused as they are.
int Sync(sqlite3_vtab* vtab) {
  Join(Self(vtab));
  if (absl::Status s = PrepareTransaction(Self(vtab)->conn); !s.ok()) return VtabError(vtab, s);
  return SQLITE_OK;
}

// xCommit: SQLite committed. Publish the pending events.
int Commit(sqlite3_vtab* vtab) {
  CommitTransaction(Self(vtab)->conn);
  return SQLITE_OK;
}

// xRollback: the transaction rolled back (ROLLBACK, a failed autocommit
// statement, or COMMIT failing after phase one). Nothing of it stays.
int Rollback(sqlite3_vtab* vtab) {
  RollbackTransaction(Self(vtab)->conn);
  return SQLITE_OK;
}

sqlite3_module kCaptureModule = {
    /*iVersion=*/3,
    /*xCreate=*/Connect,
    /*xConnect=*/Connect,
    /*xBestIndex=*/BestIndex,
    /*xDisconnect=*/Disconnect,
    /*xDestroy=*/Disconnect,
    /*xOpen=*/Open,
    /*xClose=*/Close,
    /*xFilter=*/Filter,
    /*xNext=*/Next,
    /*xEof=*/Eof,
    /*xColumn=*/Column,
    /*xRowid=*/Rowid,
    /*xUpdate=*/Update,
    /*xBegin=*/Begin,
    /*xSync=*/Sync,
    /*xCommit=*/Commit,
    /*xRollback=*/Rollback,
    /*xFindFunction=*/nullptr,
    /*xRename=*/nullptr,
    /*xSavepoint=*/SavepointM,
    /*xRelease=*/Release,
    /*xRollbackTo=*/RollbackTo,
    /*xShadowName=*/nullptr,
};

}  // namespace

int RegisterCaptureModule(sqlite3* db, Connection* conn) {
  return sqlite3_create_module_v2(db, "crlog_capture", ScopedModule<&kCaptureModule>(conn->api_slot), conn, nullptr);
}

}  // namespace crlog::extension
