// Finding the log a user means by a PATH, and opening it without changing it.
//
// PATH is either a log directory (an LMDB environment, e.g. app.db-crlog/)
// or a database file app.db, whose log is the directory app.db-crlog/ beside
// it (DESIGN.md, "LMDB rules").
#ifndef CRLOG_TOOLS_LOG_PATH_H_
#define CRLOG_TOOLS_LOG_PATH_H_

#include <memory>
#include <string>
#include <string_view>

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

// Whether `dir` is the log of a database: a log directory named X-crlog
// beside a file X. Its history is the database's; no command replaces it.
bool IsDatabaseLog(const std::string& dir);

// OK when a command may write a file at `path` (`flag` names the argument,
// e.g. "--out"). Refused, whatever --force says, when the file would be, or
// be inside, a log directory (its data.mdb or lock.mdb), a database's
// companion file (X-wal, X-journal, X-shm beside a database X), or a
// database that has a log: writing there destroys a history.
absl::Status CheckOutputPath(const std::string& path, std::string_view flag);

// The log directory for `path`. NotFound, naming `path` and what was looked
// for, when there is none. Looks only; creates nothing.
absl::StatusOr<std::string> FindLog(const std::string& path);

// FindLog, then opens the log read-only, never creating it. Errors name the
// path.
absl::StatusOr<std::unique_ptr<log::LogStore>> OpenLogForReading(const std::string& path);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_LOG_PATH_H_
