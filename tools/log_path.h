// Where a command may write a file without destroying a history. Which log a
// PATH names is the public API's (crlog/log.h: FindLog, HoldsLog,
// IsDatabaseLog, Log::OpenReadOnly).
//
// PATH is either a log directory (an LMDB environment, e.g. app.db-crlog/)
// or a database file app.db, whose log is the directory app.db-crlog/ beside
// it (DESIGN.md, "LMDB rules").
#ifndef CRLOG_TOOLS_LOG_PATH_H_
#define CRLOG_TOOLS_LOG_PATH_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace crlog::tools {

// LMDB's data file inside an environment directory: its presence is what
// "this directory holds a log" means.
inline constexpr char kLmdbDataFile[] = "data.mdb";

// OK when a command may write a file at `path` (`flag` names the argument,
// e.g. "--out"). Refused, whatever --force says, when the file would be, or
// be inside, a log directory (its data.mdb or lock.mdb), a database's
// companion file (X-wal, X-journal, X-shm beside a database X), or a
// database that has a log: writing there destroys a history.
absl::Status CheckOutputPath(const std::string& path, std::string_view flag);

}  // namespace crlog::tools

#endif  // CRLOG_TOOLS_LOG_PATH_H_
