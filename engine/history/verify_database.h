// Verifying a replicated database against its log: the log's own integrity
// (log/verify.h), the anchor the database keeps (its watermark names the
// newest event SQLite committed, so a removed tail of the log is caught), and
// that every replicated table equals the fold of the log.
#ifndef CRLOG_ENGINE_HISTORY_VERIFY_DATABASE_H_
#define CRLOG_ENGINE_HISTORY_VERIFY_DATABASE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crlog/history.h"
#include "log/verify.h"

namespace crlog::engine {

// The report and the check are public (crlog/history.h: VerifyDatabase,
// defined in engine/history/verify_database.cc). It opens the database and its log
// read-only and reads the database as one snapshot (a single read
// transaction); in rollback-journal mode writers wait while it reads.
using crlog::DatabaseReport;
using crlog::VerifyDatabase;

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_VERIFY_DATABASE_H_
