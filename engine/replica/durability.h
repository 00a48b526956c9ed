// How durable a log write must be, read from SQLite's settings for each
// transaction (DESIGN.md, "Durability"):
//   synchronous=OFF                                -> no sync
//   WAL + synchronous=NORMAL                       -> no sync per commit; the
//                                                     log is synced before SQLite
//                                                     checkpoints
//   FULL / EXTRA, or a rollback journal + NORMAL   -> sync at every commit
// journal_mode=OFF cannot roll back a transaction, so capture refuses it.
#ifndef CRLOG_ENGINE_REPLICA_DURABILITY_H_
#define CRLOG_ENGINE_REPLICA_DURABILITY_H_

#include "util/sqlite/api.h"

#include "absl/status/statusor.h"
#include "log/store.h"

namespace crlog::engine {

// FailedPrecondition when journal_mode is OFF.
absl::StatusOr<log::Durability> DurabilityFor(sqlite3* db);
absl::Status CheckJournalMode(sqlite3* db);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_DURABILITY_H_
