// Finding the log a user means by a PATH, and opening it without changing it.
//
// PATH is either a log directory (an LMDB environment, e.g. app.db-crlog/)
// or a database file app.db, whose log is the directory app.db-crlog/ beside
// it (DESIGN.md, "LMDB rules").
#ifndef CRLOG_TOOLS_LOG_PATH_H_
#define CRLOG_TOOLS_LOG_PATH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "log/store.h"

namespace crlog::tools {

// The suffix that names a database's log directory.
inline constexpr char kLogDirSuffix[] = "-crlog";
// LMDB's data file inside an environment directory: its presence is what
// "this directory holds a log" means.
inline constexpr char kLmdbDataFile[] = "data.mdb";

// Whether `dir` is a directory holding an LMDB environment.
bool HoldsLog(const std::string& dir);

// The log directory for `path`. NotFound, naming `path` and what was looked
// for, when there is none. Looks only; creates nothing.
absl::StatusOr<std::string> FindLog(const std::string& path);

// FindLog, then opens the log read-only, never creating it. Errors name the
// path.
absl::StatusOr<std::unique_ptr<log::LogStore>> OpenLogForReading(const std::string& path);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_LOG_PATH_H_
