// Resolving a user's PATH to a log directory and opening it read-only
// (tools/log_path.h).
#include "tools/log_path.h"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
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

bool IsDatabaseLog(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (!HoldsLog(d) || !absl::EndsWith(d, kLogDirSuffix)) return false;
  std::error_code ec;
  return fs::is_regular_file(d.substr(0, d.size() - std::strlen(kLogDirSuffix)), ec);
}

absl::Status CheckOutputPath(const std::string& path, std::string_view flag) {
  std::error_code ec;
  const fs::path full = fs::weakly_canonical(fs::absolute(path, ec), ec);
  auto refuse = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(flag), " '", path, "' ", why,
                                                   ": writing there would destroy a history; choose another path"));
  };
  const fs::path parent = full.parent_path();
  const std::string name = full.filename().string();
  if (HoldsLog(parent.string()) || absl::EndsWith(parent.filename().string(), kLogDirSuffix) ||
      name == kLmdbDataFile || name == "lock.mdb") {
    return refuse(absl::StrCat("is inside the log directory '", parent.string(), "'"));
  }
  if (HoldsLog(full.string())) return refuse("is a log directory");
  for (const char* suffix : {"-wal", "-journal", "-shm"}) {
    if (!absl::EndsWith(name, suffix)) continue;
    const std::string database = full.string().substr(0, full.string().size() - std::strlen(suffix));
    if (fs::is_regular_file(database, ec)) {
      return refuse(absl::StrCat("is a companion file of the database '", database, "'"));
    }
  }
  if (fs::is_regular_file(full, ec) && HoldsLog(full.string() + kLogDirSuffix)) {
    return refuse(absl::StrCat("is a database with a log ('", full.string(), kLogDirSuffix, "')"));
  }
  return absl::OkStatus();
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
