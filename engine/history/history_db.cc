// HistoryDb (engine/history/history_db.h): a replicated database and its log, both
// opened read-only, for the history commands.
#include "engine/history/history_db.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "engine/replica/meta_tables.h"
#include "engine/replica/replica.h"
#include "util/sqlite/stmt.h"
#include "log/format.h"

namespace crlog::engine {

absl::StatusOr<std::unique_ptr<HistoryDb>> HistoryDb::Open(const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // SQLite would open a directory or a missing file read-only and fail only
  // at the first query, with a message about neither.
  if (!fs::is_regular_file(db_path, ec)) {
    if (fs::exists(db_path, ec)) {
      return absl::NotFoundError(absl::StrCat("'", db_path, "' is not a database file; give the replicated "
                                              "database (app.db), not its log directory"));
    }
    return absl::NotFoundError(absl::StrCat("the database '", db_path, "' does not exist"));
  }
  std::unique_ptr<HistoryDb> h(new HistoryDb());
  h->path_ = db_path;
  auto db = sqlite::OpenDb(db_path, SQLITE_OPEN_READONLY, absl::StrCat("opening '", db_path, "' read-only"));
  if (!db.ok()) return db.status();
  h->db_ = *std::move(db);
  auto initialised = meta::Initialised(h->db());
  if (!initialised.ok()) {
    // Most often not a SQLite file at all: that is no damage to crlog's data.
    return absl::FailedPreconditionError(absl::StrCat("cannot read '", db_path, "' as a SQLite database: ",
                                                      initialised.status().message()));
  }
  if (!*initialised) {
    return absl::NotFoundError(absl::StrCat("'", db_path, "' is not replicated by crlog (it has no crlog tables); "
                                            "load the extension and call crsql_as_crr on a table first"));
  }
  auto site = meta::ReadSite(h->db());
  if (!site.ok()) return site.status();
  if (!site->has_value()) {
    return absl::DataLossError(absl::StrCat("crlog_site of '", db_path,
                                            "' is empty: the database's crlog tables are damaged"));
  }
  h->site_ = (*site)->site;
  auto heads = meta::ReadHeads(h->db());
  if (!heads.ok()) return heads.status();
  h->heads_ = *std::move(heads);

  const std::string log_path = LogPathFor(db_path);
  if (!fs::is_directory(log_path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log of '", db_path, "' is missing: '", log_path, "/' does not exist; the database's history is "
        "in that directory, restore it from a backup"));
  }
  log::StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  auto store = log::LogStore::Open(log_path, options);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("cannot open the log '", log_path, "': ", store.status().message()));
  }
  auto owner = (*store)->GetMeta(log::format::kMetaOwner);
  if (!owner.ok()) return owner.status();
  if (!owner->has_value() || **owner != (*site)->owner) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log '", log_path, "' belongs to another database than '", db_path,
        "' (was one of them copied or replaced?); its history does not describe this database"));
  }
  h->store_ = *std::move(store);
  return h;
}

absl::StatusOr<Point> HistoryDb::Resolve(std::string_view text) const {
  return ResolvePoint(*store_, site_, heads_, text);
}

ReplayOptions HistoryDb::Options() const {
  ReplayOptions options;
  options.local_site = site_;
  return options;
}

}  // namespace crlog::engine
