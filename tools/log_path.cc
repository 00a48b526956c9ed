// Resolving a user's PATH to a log directory and opening it read-only
// (tools/log_path.h).
#include "tools/log_path.h"

#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace crlog::tools {
namespace fs = std::filesystem;

namespace {

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

bool HoldsLog(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::is_regular_file(fs::path(dir) / kLmdbDataFile, ec);
}

absl::StatusOr<std::string> FindLog(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the path is empty");
  absl::StatusOr<fs::file_status> st = Stat(path);
  if (!st.ok()) return st.status();
  const std::string beside = absl::StrCat(path, kLogDirSuffix);

  if (fs::is_directory(*st)) {
    if (HoldsLog(path)) return path;
    if (HoldsLog(beside)) return beside;  // a database stored as a directory
    return absl::NotFoundError(absl::StrCat(
        "'", path, "' is a directory but holds no crlog log (no ", kLmdbDataFile,
        " in it); give a log directory such as app.db", kLogDirSuffix,
        "/ or the database file app.db"));
  }
  if (fs::exists(*st)) {
    if (HoldsLog(beside)) return beside;
    return absl::NotFoundError(
        absl::StrCat("database '", path, "' has no crlog log: '", beside,
                     "/' does not exist or holds no log; the log is created when the crlog "
                     "extension first records a change"));
  }
  // The database itself may be gone while its log remains.
  if (HoldsLog(beside)) return beside;
  return absl::NotFoundError(absl::StrCat("'", path,
                                          "' does not exist; give a log directory such as app.db",
                                          kLogDirSuffix, "/ or the database file app.db"));
}

absl::StatusOr<std::unique_ptr<log::LogStore>> OpenLogForReading(const std::string& path) {
  absl::StatusOr<std::string> dir = FindLog(path);
  if (!dir.ok()) return dir.status();
  log::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<log::LogStore>> store = log::LogStore::Open(*dir, options);
  if (!store.ok()) {
    return absl::Status(store.status().code(), absl::StrCat("cannot open the log '", *dir,
                                                            "': ", store.status().message()));
  }
  return store;
}

}  // namespace crlog::tools
