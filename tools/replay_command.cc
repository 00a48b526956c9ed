// `crlog replay DB --at POINT --out FILE`: the replicated tables at a point
// as a new ordinary SQLite file (crlog::History::ReplayToFile), then a summary of
// what the file holds, read back from it.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crlog/history.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/history_view.h"
#include "tools/output.h"

namespace crlog::tools {
namespace {

namespace fs = std::filesystem;

// Whether two paths name the same file (false when either is missing).
bool SameFile(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

// With --force, clears the way for the new file; never the database or its
// log, and never a directory.
absl::Status ClearOutput(const ReplayCommandOptions& options) {
  if (absl::Status s = CheckOutputPath(options.out, "--out"); !s.ok()) return s;
  std::error_code ec;
  if (!fs::exists(options.out, ec)) return absl::OkStatus();
  if (SameFile(options.out, options.path) || SameFile(options.out, LogPathFor(options.path))) {
    return absl::InvalidArgumentError(absl::StrCat("--out '", options.out,
                                                   "' is the database or its log; replay writes a new file"));
  }
  if (!fs::is_regular_file(options.out, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("'", options.out, "' exists and is not a file; "
                                                      "give the path of a new file"));
  }
  if (!options.force) {
    return absl::AlreadyExistsError(absl::StrCat("'", options.out, "' already exists; replay writes a new file: "
                                                 "choose another path, or pass --force to replace it"));
  }
  // A journal left beside the old file would be replayed into the new one.
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    fs::remove(options.out + suffix, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot remove '", options.out, suffix, "': ",
                                                            ec.message()));
  }
  return absl::OkStatus();
}

struct TableRows {
  std::string name;
  int64_t rows = 0;
};

// The tables in the written file and their row counts, read with SQLite
// directly: the file is an ordinary database now.
absl::StatusOr<std::vector<TableRows>> ReadBack(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> closer(db, sqlite3_close_v2);
  auto failed = [&](int code) {
    return absl::InternalError(
        absl::StrCat("reading back '", path, "': ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
  };
  if (rc != SQLITE_OK) return failed(rc);
  std::vector<std::string> names;
  {
    sqlite3_stmt* raw = nullptr;
    int prc = sqlite3_prepare_v2(db,
                                 "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                                 "ESCAPE '\\' ORDER BY name",
                                 -1, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    if (prc != SQLITE_OK) return failed(prc);
    int step;
    while ((step = sqlite3_step(raw)) == SQLITE_ROW) {
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(raw, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(raw, 0)));
    }
    if (step != SQLITE_DONE) return failed(step);
  }
  std::vector<TableRows> out;
  for (const std::string& name : names) {
    // %w doubles the quotes inside an identifier.
    char* sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name.c_str());
    sqlite3_stmt* raw = nullptr;
    int prc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
    sqlite3_free(sql);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    if (prc != SQLITE_OK) return failed(prc);
    const int step = sqlite3_step(raw);
    if (step != SQLITE_ROW) return failed(step);
    out.push_back(TableRows{name, sqlite3_column_int64(raw, 0)});
  }
  return out;
}

}  // namespace

absl::Status RunReplay(const ReplayCommandOptions& options, const Io& io) {
  auto history = History::Open(options.path);
  if (!history.ok()) return history.status();
  // A point that names nothing is refused before --force clears the way.
  auto point = (*history)->ResolvePoint(options.at);
  if (!point.ok()) return point.status();
  if (absl::Status s = ClearOutput(options); !s.ok()) return s;

  ProgressLine progress(io.err, io.err_is_terminal, "replaying");
  auto stats = (*history)->ReplayToFile(options.at, options.out,
                                        [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
  progress.Clear();
  if (!stats.ok()) return stats.status();

  auto tables = ReadBack(options.out);
  if (!tables.ok()) return tables.status();
  io.out << "wrote '" << options.out << "': the tables at " << point->text << " (" << stats->events
         << (stats->events == 1 ? " event, " : " events, ") << stats->ops << (stats->ops == 1 ? " op" : " ops")
         << " folded)\n";
  std::vector<std::vector<std::string>> rows;
  for (const TableRows& t : *tables) {
    rows.push_back({t.name, absl::StrCat(t.rows, t.rows == 1 ? " row" : " rows")});
  }
  if (rows.empty()) {
    io.out << "  (no replicated tables at this point)\n";
  } else {
    io.out << Columns(rows, "  ");
  }
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
