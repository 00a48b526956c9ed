// A connection's transaction as crlog sees it (extension/connection.h): the
// two-phase commit of what it captured and merged, and SQLite's savepoints.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "extension/connection.h"

namespace crlog::extension {

int64_t Connection::IntSetting(const std::string& name) const {
  auto it = config.find(name);
  int64_t n = 0;
  if (it == config.end() || !absl::SimpleAtoi(it->second, &n)) return 0;
  return n;
}

merge::Rules Connection::MergeRules() const {
  merge::Rules rules;
  rules.merge_equal_values = IntSetting("merge-equal-values") != 0;
  return rules;
}

absl::Status EnsureMerger(Connection* conn) {
  if (conn->merger) return absl::OkStatus();
  if (absl::Status s = conn->Ready(); !s.ok()) return s;
  engine::MergeSettings settings;
  settings.local_site = conn->replica->site();
  settings.rules = conn->MergeRules();
  settings.strict_columns = conn->IntSetting("crlog-strict-columns") != 0;
  settings.sync_bit = &conn->sync_bit;
  auto merger = engine::ChangeMerger::Begin(conn->db, settings);
  if (!merger.ok()) return merger.status();
  conn->merger = *std::move(merger);
  return absl::OkStatus();
}

absl::Status PrepareTransaction(Connection* conn) {
  if (conn->prepared) return absl::OkStatus();
  if (!conn->poisoned.ok()) {
    return absl::Status(conn->poisoned.code(),
                        absl::StrCat("this transaction cannot commit: a change it inserted into "
                                     "crsql_changes was refused (",
                                     conn->poisoned.message(), "); nothing of it is kept"));
  }
  // Phase one writes crlog's tables through SQL; the application's
  // last_insert_rowid() must still name the row it inserted, as on a plain
  // table (better-sqlite3's lastInsertRowid reads it after COMMIT).
  const sqlite3_int64 last_rowid = sqlite3_last_insert_rowid(conn->db);
  struct RestoreRowid {
    sqlite3* db;
    sqlite3_int64 rowid;
    ~RestoreRowid() { sqlite3_set_last_insert_rowid(db, rowid); }
  } restore{conn->db, last_rowid};
  sqlite::StmtCache::Scope cached(*conn->statements);
  std::optional<engine::ImportCommit> import;
  if (conn->merger) {
    WritingScope writing(conn);
    if (absl::Status s = conn->merger->Flush(); !s.ok()) return s;
    import = conn->merger->Import();
  }
  if (conn->joined.empty() && !import.has_value()) return absl::OkStatus();
  auto commit =
      conn->replica->PrepareCommit(conn->db, conn->joined, conn->floors, std::move(import), conn->AppliedEvents());
  if (!commit.ok()) return commit.status();
  conn->pending = *std::move(commit);
  conn->prepared = true;
  conn->prepared_depth = conn->savepoint_depth;
  return absl::OkStatus();
}

std::vector<log::Hash> Connection::AppliedEvents() const {
  std::vector<log::Hash> out;
  for (const auto& [depth, batch] : applied) out.insert(out.end(), batch.events.begin(), batch.events.end());
  return out;
}

void CommitTransaction(Connection* conn) {
  // If publishing fails the events stay pending and recovery publishes them
  // (the watermark and heads name them).
  engine::PendingCommit all;
  all.events = conn->AppliedEvents();
  if (conn->pending.has_value()) all.events.insert(all.events.end(), conn->pending->events.begin(), conn->pending->events.end());
  if (!all.events.empty()) conn->replica->FinishCommit(all).IgnoreError();
  conn->EndTransaction();
}

void RollbackTransaction(Connection* conn) {
  if (conn->pending.has_value()) conn->replica->AbortCommit(*conn->pending).IgnoreError();
  for (const auto& [depth, batch] : conn->applied) conn->replica->AbortCommit(batch).IgnoreError();
  conn->EndTransaction();
}

void TransactionSavepoint(Connection* conn, int level) {
  if (conn->writing) return;
  conn->savepoint_depth = level + 1;
  if (conn->merger) {
    WritingScope writing(conn);
    absl::Status s = conn->merger->Savepoint(level);
    if (!s.ok() && conn->poisoned.ok()) conn->poisoned = s;
  }
}

void TransactionRelease(Connection* conn, int level) {
  if (conn->writing) return;
  conn->savepoint_depth = level;
  if (conn->merger) conn->merger->Release(level);
}

void TransactionRollbackTo(Connection* conn, int level) {
  if (conn->writing) return;
  conn->savepoint_depth = level + 1;
  if (conn->merger) conn->merger->RollbackTo(level);
  // After a COMMIT that returned SQLITE_BUSY, a ROLLBACK TO a savepoint
  // opened before that COMMIT undoes phase one's writes: forget its pending
  // events, and build them again at the next COMMIT from what is left. (A
  // statement failing after the COMMIT rolls back only to its own, newer,
  // savepoint.)
  // A crlog_apply after that savepoint is undone with it: its events must
  // never be published.
  while (!conn->applied.empty() && level < conn->applied.back().first) {
    conn->replica->AbortCommit(conn->applied.back().second).IgnoreError();
    conn->applied.pop_back();
  }
  if (conn->prepared && level < conn->prepared_depth) {
    if (conn->pending.has_value()) conn->replica->AbortCommit(*conn->pending).IgnoreError();
    conn->pending.reset();
    conn->prepared = false;
  }
}

}  // namespace crlog::extension
