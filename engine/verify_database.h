// Verifying a replicated database against its log: the log's own integrity
// (log/verify.h), the anchor the database keeps (its watermark names the
// newest event SQLite committed, so a removed tail of the log is caught), and
// that every replicated table equals the fold of the log.
#ifndef CRLOG_ENGINE_VERIFY_DATABASE_H_
#define CRLOG_ENGINE_VERIFY_DATABASE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "log/verify.h"

namespace crlog::engine {

struct DatabaseReport {
  log::VerifyReport log;
  uint64_t tables = 0;  // replicated tables compared
  uint64_t rows = 0;    // rows compared
  uint64_t folded_events = 0;
};

// Opens the database and its log read-only, and reads the database as one
// snapshot (a single read transaction), so it may run beside writers; in
// rollback-journal mode writers wait while it reads. Unavailable when a
// writer keeps the database locked for 10 s; FailedPrecondition when a
// killed writer left committed events pending (open the database with crlog
// to recover them). DataLoss names the first fault:
// the log's, a missing watermark event, a log that is ahead of or behind the
// database, or the first table, row and column that differ from the fold.
// `progress` follows the log's checks, `fold_progress` the replay that
// follows them (most of the time on a large log).
absl::StatusOr<DatabaseReport> VerifyDatabase(const std::string& db_path,
                                              const log::VerifyProgress& progress = {},
                                              const log::VerifyProgress& fold_progress = {});

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_VERIFY_DATABASE_H_
