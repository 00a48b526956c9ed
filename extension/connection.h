// The extension's state for one SQLite connection: its replica, the capture
// tables written in the open transaction, and the transaction's commit
// state. Created when the extension loads on a connection, destroyed when
// the connection closes.
#ifndef CRLOG_EXTENSION_CONNECTION_H_
#define CRLOG_EXTENSION_CONNECTION_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/capture/capture_buffer.h"
#include "engine/fold/change_merger.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "engine/replica/replica.h"
#include "extension/entry.h"
#include "merge/rules.h"
#include "util/sqlite/stmt_cache.h"

namespace crlog::extension {

struct Connection {
  sqlite3* db = nullptr;
  // Which SQLite owns the connection (util/sqlite/api.h): every entry
  // point runs with its routines.
  int api_slot = 0;
  std::shared_ptr<engine::Replica> replica;  // null when attaching failed
  absl::Status attach_error;                 // why, for every function that needs the replica

  // Capture buffers of the capture tables written in the open transaction.
  std::vector<engine::CaptureBuffer*> joined;
  // Set by commit phase one; consumed by phase two or rollback.
  std::optional<engine::PendingCommit> pending;
  bool prepared = false;
  // Events crlog_apply stored pending in the open transaction, each batch
  // with the savepoint levels open when it ran: published at COMMIT,
  // discarded at ROLLBACK, or at a ROLLBACK TO that undoes its fold.
  std::vector<std::pair<int, engine::PendingCommit>> applied;
  std::vector<log::Hash> AppliedEvents() const;
  // Savepoint levels open (SQLite's numbering, as xSavepoint reports it), and
  // how many were open when phase one ran: a ROLLBACK TO below that undoes
  // phase one's writes; a failed statement's own rollback does not.
  int savepoint_depth = 0;
  int prepared_depth = 0;
  // INSERT INTO crsql_changes in the open transaction (null before the first).
  std::unique_ptr<engine::ChangeMerger> merger;
  // Set when a crsql_changes row was refused: the batch is all or nothing,
  // so the transaction can only roll back.
  absl::Status poisoned;
  // Set while crlog itself writes through this connection (a merge's table
  // and clock writes): the savepoints SQLite opens for those nested
  // statements are crlog's own, not the application's.
  bool writing = false;
  // The versions crsql_next_db_version(v) asked for in the open transaction
  // (merges raise at_commit too).
  engine::VersionFloors floors;
  // Numbers the ops of every capture buffer of this connection, so commit
  // can apply them in statement order (engine/capture/capture_buffer.h).
  uint64_t op_ordinal = 0;
  // crsql_internal_sync_bit: set while merging, so triggers capture nothing.
  int64_t sync_bit = 0;
  std::map<std::string, std::string> config;
  // Pages of WAL after which SQLite would checkpoint (PRAGMA
  // wal_autocheckpoint when crlog loaded); crlog syncs its log first.
  int wal_autocheckpoint = 1000;
  // The statements every commit prepares, kept between commits: filled only
  // in commit phase one, which runs in a crlog virtual table's xSync, and
  // cleared by the capture and crsql_changes tables' xDisconnect, which
  // SQLite calls before sqlite3_close checks for open statements
  // (util/sqlite/stmt_cache.h).
  std::unique_ptr<sqlite::StmtCache> statements;

  // The replica, or the reason there is none.
  absl::Status Ready() const { return replica ? absl::OkStatus() : attach_error; }
  // A setting given with crsql_config_set, as an integer (0 when unset).
  int64_t IntSetting(const std::string& name) const;
  // The merge rules the settings give (crsql_config_set), read afresh: every
  // merge path on this connection takes them from here.
  merge::Rules MergeRules() const;
  // Ends the transaction's capture state (after commit or rollback).
  void EndTransaction();
};

// crsql_config_set's work: checks and applies one setting to `conn`.
absl::Status ApplySetting(Connection* conn, const std::string& name, const std::string& value);
// Applies the settings crsql_config_set kept in crsql_master (on load).
absl::Status LoadSettings(Connection* conn);

// The transaction's commit, shared by every crlog virtual table written in
// it (extension/transaction.cc). Phase one: the first xSync builds and stages
// the transaction's events (merged changes and captured writes) and writes
// crlog's tables; later calls do nothing.
absl::Status PrepareTransaction(Connection* conn);
// The open transaction's merger for INSERT INTO crsql_changes, created with
// the connection's settings on first use.
absl::Status EnsureMerger(Connection* conn);
// Phase two (xCommit): publish what phase one staged.
void CommitTransaction(Connection* conn);
// xRollback: forget it.
void RollbackTransaction(Connection* conn);
// SQLite's savepoints, forwarded by every crlog virtual table in the
// transaction (each call reaches them once per table, so they are
// idempotent).
void TransactionSavepoint(Connection* conn, int level);
void TransactionRelease(Connection* conn, int level);
void TransactionRollbackTo(Connection* conn, int level);

// Marks crlog's own writes through the connection for their duration.
class WritingScope {
 public:
  explicit WritingScope(Connection* conn) : conn_(conn), old_(conn->writing) { conn->writing = true; }
  ~WritingScope() { conn_->writing = old_; }
  WritingScope(const WritingScope&) = delete;
  WritingScope& operator=(const WritingScope&) = delete;

 private:
  Connection* conn_;
  bool old_;
};

// Reports `status` as the SQLite error of a function call.
void ResultError(sqlite3_context* ctx, const absl::Status& status);
// Sets a virtual table's error message from `status` and returns its code.
int VtabError(sqlite3_vtab* vtab, const absl::Status& status);
// A function argument as text ("" for NULL).
std::string TextArg(sqlite3_value* v);
// What `text` names as a point (engine/history/point.h) on this connection: "head"
// is crlog_heads, read in the caller's transaction.
absl::StatusOr<engine::Point> ResolvePointHere(Connection* conn, std::string_view text);
// Replay options for this connection's replica and settings.
engine::ReplayOptions ReplayOptionsFor(Connection* conn);
// Returns `v` as the result of a function or a virtual table column.
void ResultValue(sqlite3_context* ctx, const Value& v);
// The SQLite result code for a status.
int SqliteCode(const absl::Status& status);

// Loads crlog into `db` with `api`, the routines of the SQLite that owns it
// (what the entry point does, and crlog::Replica::Open and Attach). Loading
// again on the same connection is a no-op. A SQLite result code; *err gets
// a message from sqlite3_mprintf on failure.
int LoadInto(sqlite3* db, char** err, const sqlite3_api_routines* api);
// The state crlog keeps for `db`, or null when crlog is not loaded there.
Connection* LoadedConnection(sqlite3* db);
// crlog_apply's work (the engine's merge path) on `conn`, inside its open
// transaction when it has one (the events publish when it commits).
absl::StatusOr<engine::Replica::ApplyResult> ApplyBundle(Connection* conn, std::string_view bundle);

// Registration, called from the entry point.
int RegisterFunctions(sqlite3* db, Connection* conn);
int RegisterCaptureModule(sqlite3* db, Connection* conn);
int RegisterChangesModule(sqlite3* db, Connection* conn);
int RegisterHistoryModules(sqlite3* db, Connection* conn);
int RegisterReplayFunctions(sqlite3* db, Connection* conn);
int RegisterBlameModules(sqlite3* db, Connection* conn);
int RegisterAutomigrate(sqlite3* db, Connection* conn);
int RegisterFractIndex(sqlite3* db, Connection* conn);

}  // namespace crlog::extension

#endif  // CRLOG_EXTENSION_CONNECTION_H_
