// Reads synchronous and journal_mode per transaction (engine/replica/durability.h).
#include "engine/replica/durability.h"

#include "absl/strings/ascii.h"
#include "util/sqlite/stmt.h"

namespace crlog::engine {
namespace {

absl::StatusOr<std::string> JournalMode(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "PRAGMA main.journal_mode");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? absl::AsciiStrToLower(std::string(stmt->ColumnText(0))) : std::string("delete");
}

}  // namespace

absl::Status CheckJournalMode(sqlite3* db) {
  auto mode = JournalMode(db);
  if (!mode.ok()) return mode.status();
  if (*mode == "off") {
    return absl::FailedPreconditionError(
        "journal_mode=OFF cannot roll back a transaction, so crlog cannot keep its log equal to "
        "what SQLite committed: use PRAGMA journal_mode=WAL (or DELETE)");
  }
  return absl::OkStatus();
}

absl::StatusOr<log::Durability> DurabilityFor(sqlite3* db) {
  auto mode = JournalMode(db);
  if (!mode.ok()) return mode.status();
  if (*mode == "off") return CheckJournalMode(db);
  auto stmt = sqlite::Stmt::Prepare(db, "PRAGMA main.synchronous");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  int64_t sync = *row ? stmt->ColumnInt(0) : 2;
  if (sync == 0) return log::Durability::kNoSync;
  if (sync == 1 && *mode == "wal") return log::Durability::kNoSync;
  if (*mode == "memory") return log::Durability::kNoSync;  // SQLite itself would not survive a crash mid-commit
  return log::Durability::kSync;
}

}  // namespace crlog::engine
