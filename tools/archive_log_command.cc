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
#include "engine/replica.h"
#include "engine/sql.h"
#include "log/format.h"
#include "log/store.h"
#include "tools/commands.h"

namespace crlog::tools {
namespace {

// The owner id the database at `path` records for its log, if it has one.
absl::StatusOr<std::optional<std::string>> DatabaseOwner(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  auto db = engine::OpenDb(path, SQLITE_OPEN_READONLY, absl::StrCat("cannot open the database '", path, "'"));
  if (!db.ok()) return db.status();
  auto has = engine::Stmt::Prepare(
      db->get(), "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'crlog_site'");
  if (!has.ok()) return has.status();
  auto found = has->Step();
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  auto owner = engine::Stmt::Prepare(db->get(), "SELECT owner FROM main.crlog_site WHERE id = 0");
  if (!owner.ok()) return owner.status();
  auto row = owner->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return std::string(owner->ColumnBlob(0));
}

}  // namespace

absl::Status RunArchiveLog(const ArchiveLogOptions& options, const Io& io) {
  const std::string log_path = engine::LogPathFor(options.path);
  std::error_code ec;
  if (!std::filesystem::is_directory(log_path, ec)) {
    return absl::NotFoundError(absl::StrCat("there is no crlog log at '", log_path, "' to archive"));
  }
  std::optional<std::string> log_owner;
  {
    log::StoreOptions store_options;
    store_options.create_if_missing = false;
    auto store = log::LogStore::Open(log_path, store_options);
    if (!store.ok()) return store.status();
    auto owner = (*store)->GetMeta(log::format::kMetaOwner);
    if (!owner.ok()) return owner.status();
    log_owner = *owner;
  }  // closed before it is moved
  auto db_owner = DatabaseOwner(options.path);
  if (!db_owner.ok()) return db_owner.status();
  if (db_owner->has_value() && log_owner.has_value() && **db_owner == *log_owner) {
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
