// Which log a path names (crlog/log.h: LogPathFor, HoldsLog, IsDatabaseLog,
// FindLog): the engine's, since attaching a database finds its log the same
// way the tools and the public API do.
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crlog/log.h"

namespace crlog {
namespace fs = std::filesystem;

namespace {

constexpr char kLogDirSuffix[] = "-crlog";
// LMDB's data file: its presence is what "this directory holds a log" means.
constexpr char kLmdbDataFile[] = "data.mdb";

// The status of `path`; a missing file is not an error (type not_found).
absl::StatusOr<fs::file_status> Stat(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec && st.type() != fs::file_type::not_found) {
    return absl::PermissionDeniedError(absl::StrCat("cannot read '", path, "': ", ec.message()));
  }
  return st;
}

}  // namespace

std::string LogPathFor(const std::string& db_path) { return db_path + kLogDirSuffix; }

std::optional<std::string> DatabasePathOf(const std::string& log_dir) {
  std::string d = log_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (!absl::EndsWith(d, kLogDirSuffix) || d.size() == std::strlen(kLogDirSuffix)) return std::nullopt;
  return d.substr(0, d.size() - std::strlen(kLogDirSuffix));
}

bool HoldsLog(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_regular_file(fs::path(dir) / kLmdbDataFile, ec);
}

bool IsDatabaseLog(const std::string& dir) {
  const std::optional<std::string> database = DatabasePathOf(dir);
  std::error_code ec;
  return database.has_value() && HoldsLog(dir) && fs::is_regular_file(*database, ec);
}

absl::StatusOr<std::string> FindLog(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the path is empty");
  absl::StatusOr<fs::file_status> st = Stat(path);
  if (!st.ok()) return st.status();
  const std::string beside = LogPathFor(path);
  if (fs::is_directory(*st)) {
    if (HoldsLog(path)) return path;
    if (HoldsLog(beside)) return beside;  // a database stored as a directory
    return absl::NotFoundError(absl::StrCat(
        "'", path, "' is a directory but holds no crlog log (no ", kLmdbDataFile,
        " in it); give a log directory such as app.db", kLogDirSuffix, "/ or the database file app.db"));
  }
  if (fs::exists(*st)) {
    if (HoldsLog(beside)) return beside;
    return absl::NotFoundError(absl::StrCat("database '", path, "' has no crlog log: '", beside,
                                            "/' does not exist or holds no log; the log is created when the crlog "
                                            "extension first records a change"));
  }
  // The database itself may be gone while its log remains.
  if (HoldsLog(beside)) return beside;
  return absl::NotFoundError(absl::StrCat("'", path, "' does not exist; give a log directory such as app.db",
                                          kLogDirSuffix, "/ or the database file app.db"));
}

}  // namespace crlog
