// `crlog archive-log DB`: moves aside a log that no longer belongs to any
// database at DB's path (the database file was deleted or replaced while its
// `DB-crlog/` directory stayed behind), so a new database there can be
// replicated, and the old history is kept, not deleted. A log that belongs
// to the database at DB is its live history and is never moved.
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crlog/history.h"
#include "crlog/log.h"
#include "tools/commands.h"

namespace crlog::tools {

absl::Status RunArchiveLog(const ArchiveLogOptions& options, const Io& io) {
  const std::string log_path = LogPathFor(options.path);
  std::error_code ec;
  if (!std::filesystem::is_directory(log_path, ec)) {
    return absl::NotFoundError(absl::StrCat("there is no crlog log at '", log_path, "' to archive"));
  }
  absl::StatusOr<bool> belongs = LogBelongsToDatabase(options.path);
  if (!belongs.ok()) return belongs.status();
  if (*belongs) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log '", log_path, "' belongs to the database '", options.path,
        "': it is that database's history, and the database cannot be opened without it; nothing was moved"));
  }
  const std::string stamp = absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
  std::string archived = absl::StrCat(log_path, ".stale-", stamp);
  for (int n = 2; std::filesystem::exists(archived, ec); ++n) {
    archived = absl::StrCat(log_path, ".stale-", stamp, "-", n);
  }
  std::filesystem::rename(log_path, archived, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot move '", log_path, "' to '", archived, "': ", ec.message()));
  }
  io.out << "moved the stale log '" << log_path << "' to '" << archived << "'; '" << options.path
         << "' can now be replicated afresh (crlog log '" << archived << "' still reads the old history)\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
