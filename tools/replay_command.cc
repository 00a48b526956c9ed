// `crlog replay DB --at POINT --out FILE`: the replicated tables at a point
// as a new ordinary SQLite file (engine::ReplayToFile), then a summary of
// what the file holds, read back from it.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/history_db.h"
#include "engine/replay.h"
#include "engine/replica.h"
#include "engine/sql.h"
#include "schema/sql_quote.h"
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
  if (SameFile(options.out, options.path) || SameFile(options.out, engine::LogPathFor(options.path))) {
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

// The tables in the written file and their row counts.
absl::StatusOr<std::vector<TableRows>> ReadBack(const std::string& path) {
  auto db = engine::OpenDb(path, SQLITE_OPEN_READONLY, absl::StrCat("reading back '", path, "'"));
  if (!db.ok()) return db.status();
  auto names = engine::QueryTexts(engine::Stmt::Prepare(
      db->get(), "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                "ORDER BY name"));
  if (!names.ok()) return names.status();
  std::vector<TableRows> out;
  for (const std::string& name : *names) {
    auto count = engine::Stmt::Prepare(db->get(), absl::StrCat("SELECT count(*) FROM ", schema::QuoteIdentifier(name)));
    if (!count.ok()) return count.status();
    auto row = count->Step();
    if (!row.ok()) return row.status();
    out.push_back(TableRows{name, count->ColumnInt(0)});
  }
  return out;
}

}  // namespace

absl::Status RunReplay(const ReplayCommandOptions& options, const Io& io) {
  auto db = engine::HistoryDb::Open(options.path);
  if (!db.ok()) return db.status();
  auto point = (*db)->Resolve(options.at);
  if (!point.ok()) return point.status();
  if (absl::Status s = ClearOutput(options); !s.ok()) return s;

  ProgressLine progress(io.err, io.err_is_terminal, "replaying");
  engine::ReplayOptions replay = (*db)->Options();
  replay.progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
  auto stats = engine::ReplayToFile((*db)->store(), *point, options.out, replay);
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
