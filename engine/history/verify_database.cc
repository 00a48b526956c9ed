// VerifyDatabase (engine/history/verify_database.h): fold the log into a fresh
// in-memory database with the same replicated tables and compare.
#include "engine/history/verify_database.h"

#include "util/sqlite/api.h"

#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/fold/fold.h"
#include "engine/replica/meta_tables.h"
#include "engine/history/replay.h"
#include "engine/replica/replica.h"
#include "engine/fold/row_clock.h"
#include "engine/replica/signing_keys.h"
#include "util/sqlite/stmt.h"
#include "log/store.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"
#include "schema/where_pk.h"

namespace crlog::engine {
namespace {

absl::Status Fault(std::string_view what) {
  return absl::DataLossError(std::string(what));
}

// The schema names, on the live database's connection, of the two sides.
constexpr char kLive[] = "main";
constexpr char kFold[] = "fold";

// Compares the live table with the fold's and names the first difference.
absl::StatusOr<uint64_t> CompareTable(sqlite3* db, const schema::TableInfo& info) {
  const std::string q = sqlite::QuoteIdentifier(info.name);
  std::vector<std::string> pk_cols, all_cols;
  for (int i : info.pk) pk_cols.push_back(sqlite::QuoteIdentifier(info.columns[i].name));
  for (const auto& c : info.columns) all_cols.push_back(sqlite::QuoteIdentifier(c.name));
  // Compared as crlog compares values (and as diff does): EXCEPT holds 1 and
  // 1.0 equal, so each value comes with its type; and it compares text by
  // the column's collation, so by BINARY instead ('A' is not 'a' to crlog).
  std::vector<std::string> typed;
  for (const std::string& c : all_cols) {
    typed.push_back(absl::StrCat(c, " COLLATE BINARY AS ", c));
    typed.push_back(absl::StrCat("typeof(", c, ")"));
  }
  const std::string typed_cols = absl::StrJoin(typed, ", ");
  const std::string cols = absl::StrJoin(all_cols, ", ");
  const std::string order = absl::StrJoin(pk_cols, ", ");
  for (int side = 0; side < 2; ++side) {
    const char* a = side == 0 ? kLive : kFold;
    const char* b = side == 0 ? kFold : kLive;
    auto diff = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT ", order, " FROM (SELECT ", typed_cols, " FROM ", a, ".", q,
                                               " EXCEPT SELECT ", typed_cols, " FROM ", b, ".", q, ") ORDER BY ",
                                               order, " LIMIT 1"));
    if (!diff.ok()) return diff.status();
    auto row = diff->Step();
    if (!row.ok()) return row.status();
    if (!*row) continue;
    std::vector<Value> pk;
    for (size_t i = 0; i < pk_cols.size(); ++i) pk.push_back(diff->ColumnValue(static_cast<int>(i)));
    const std::string where = schema::WherePk(info);
    auto fetch = [&](const char* schema) -> absl::StatusOr<std::optional<std::vector<Value>>> {
      auto s = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT ", cols, " FROM ", schema, ".", q, " WHERE ", where));
      if (!s.ok()) return s.status();
      for (size_t i = 0; i < pk.size(); ++i) s->BindValue(static_cast<int>(i + 1), pk[i]);
      auto r = s->Step();
      if (!r.ok()) return r.status();
      if (!*r) return std::optional<std::vector<Value>>();
      std::vector<Value> out;
      for (size_t i = 0; i < all_cols.size(); ++i) out.push_back(s->ColumnValue(static_cast<int>(i)));
      return std::optional<std::vector<Value>>(out);
    };
    auto live = fetch(kLive);
    if (!live.ok()) return live.status();
    auto folded = fetch(kFold);
    if (!folded.ok()) return folded.status();
    std::string where_text = absl::StrCat("table '", info.name, "', row ", ValuesToString(pk), ": ");
    if (!live->has_value()) {
      return Fault(absl::StrCat(where_text, "the log has it but the database does not (deleted behind crlog's back?)"));
    }
    if (!folded->has_value()) {
      return Fault(absl::StrCat(where_text, "the database has it but the log does not (written behind crlog's back?)"));
    }
    for (size_t i = 0; i < all_cols.size(); ++i) {
      if (!((**live)[i] == (**folded)[i])) {
        return Fault(absl::StrCat(where_text, "column '", info.columns[i].name, "' is ",
                                  ValueToString((**live)[i]), " in the database but ",
                                  ValueToString((**folded)[i]), " in the fold of the log"));
      }
    }
  }
  auto count = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT count(*) FROM ", kLive, ".", q));
  if (!count.ok()) return count.status();
  auto row = count->Step();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(count->ColumnInt(0));
}

// Every row's clock as `schema` (kLive or kFold) holds it for the
// replicated table `table`: causal length by packed pk, and the db_versions
// its cells cite.
struct Clocks {
  std::map<std::string, uint64_t> cl;
  std::set<uint64_t> versions;
};
absl::StatusOr<Clocks> ReadClocks(sqlite3* db, const std::string& schema, const std::string& table) {
  auto stmt = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT c.pk, c.clock FROM ", schema, ".crlog_clock AS c JOIN ", schema,
                                             ".crlog_tables AS t ON t.id = c.tbl WHERE t.name = ?1"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, table);
  Clocks out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto clock = RowClock::Decode(stmt->ColumnBlob(1));
    if (!clock.ok()) {
      return absl::DataLossError(absl::StrCat("table '", table, "': a crlog_clock row does not decode: ",
                                              clock.status().message()));
    }
    out.cl[std::string(stmt->ColumnBlob(0))] = clock->cl;
    if (clock->has_sentinel && clock->sentinel.db_version > 0) out.versions.insert(clock->sentinel.db_version);
    for (const CellClock& c : clock->cells) {
      if (c.db_version > 0) out.versions.insert(c.db_version);
    }
  }
  return out;
}

std::string PkText(std::string_view packed) {
  auto values = schema::UnpackColumns(packed);
  if (!values.ok()) return log::ToHex(packed);
  std::vector<std::string> parts;
  for (const Value& v : *values) parts.push_back(ValueToString(v));
  return absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
}

// crsql_changes is read from crlog_clock and crlog_versions: rows deleted
// from them (by a connection without crlog) silently take changes out of
// sync. The live clocks must name the rows, with the causal lengths, that
// the fold of the log gives, and every version they cite must be recorded.
absl::Status CompareClocks(sqlite3* db, const std::string& table) {
  auto folded = ReadClocks(db, kFold, table);
  if (!folded.ok()) return folded.status();
  auto live = ReadClocks(db, kLive, table);
  if (!live.ok()) return live.status();
  const std::string advice =
      "crlog's metadata was edited behind its back, so crsql_changes would leave changes out; restore the database "
      "from a backup, or rebuild it with `crlog replay`";
  for (const auto& [pk, cl] : folded->cl) {
    auto it = live->cl.find(pk);
    if (it == live->cl.end()) {
      return absl::DataLossError(absl::StrCat("table '", table, "', row ", PkText(pk),
                                              ": the log gives it a clock (causal length ", cl,
                                              ") but crlog_clock of the database has none: ", advice));
    }
    if (it->second != cl) {
      return absl::DataLossError(absl::StrCat("table '", table, "', row ", PkText(pk), ": crlog_clock says causal length ",
                                              it->second, " but the log gives ", cl, ": ", advice));
    }
  }
  for (const auto& [pk, cl] : live->cl) {
    if (!folded->cl.contains(pk)) {
      return absl::DataLossError(absl::StrCat("table '", table, "', row ", PkText(pk),
                                              ": crlog_clock has a clock the log does not give: ", advice));
    }
  }
  auto recorded = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT 1 FROM ", kLive, ".crlog_versions WHERE db_version = ?1"));
  if (!recorded.ok()) return recorded.status();
  for (uint64_t v : live->versions) {
    recorded->BindInt(1, static_cast<int64_t>(v));
    auto found = recorded->Step();
    if (!found.ok()) return found.status();
    recorded->Reset();
    if (!*found) {
      return absl::DataLossError(absl::StrCat("table '", table, "': crlog_clock cites db_version ", v,
                                              " but crlog_versions records no event at it: ", advice));
    }
  }
  return absl::OkStatus();
}

// How long verify waits for a writer that holds the database locked (in
// rollback-journal mode, while it commits) before saying so.
constexpr int kBusyWaitMs = 10000;

// A commit caught between SQLite's commit and publishing its events in the
// log: the snapshot is taken again.
absl::Status MidPublish(const log::Hash& event) {
  return absl::AbortedError(absl::StrCat("event ", log::ToHex(event),
                                         " is committed in the database but still pending in its log"));
}

// Whether `event` is stored pending (committed by SQLite, not yet published).
absl::StatusOr<bool> IsPending(const log::LogStore& store, const log::Hash& event) {
  auto pending = store.PendingEvents();
  if (!pending.ok()) return pending.status();
  for (const auto& e : *pending) {
    if (e.hash == event) return true;
  }
  return false;
}

absl::Status Busy(const std::string& db_path, const absl::Status& cause) {
  return absl::UnavailableError(absl::StrCat(
      "the database '", db_path, "' stayed locked by a writer for ", kBusyWaitMs / 1000,
      " s (", cause.message(), "): verify reads one consistent snapshot and waits for a commit in progress; run it "
      "again, or put the database in WAL mode (PRAGMA journal_mode=WAL), where verify never waits for writers"));
}

// One attempt, on one snapshot of the database (see VerifyDatabase).
absl::StatusOr<DatabaseReport> VerifySnapshot(const std::string& db_path, const log::VerifyProgress& progress,
                                              const log::VerifyProgress& fold_progress) {
  DatabaseReport report;
  auto live = sqlite::OpenDb(db_path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, absl::StrCat("opening '", db_path, "'"));
  if (!live.ok()) return live.status();
  sqlite3_busy_timeout(live->get(), kBusyWaitMs);
  auto initialised = meta::Initialised(live->get());
  if (!initialised.ok()) {
    if (absl::IsUnavailable(initialised.status())) return Busy(db_path, initialised.status());
    // Not a SQLite database at all (a text file, a directory): not a fault
    // found by verifying, but a file verify cannot read.
    return absl::InvalidArgumentError(absl::StrCat("cannot read '", db_path, "' as a SQLite database: ",
                                                   initialised.status().message()));
  }
  if (!*initialised) {
    return absl::NotFoundError(absl::StrCat("'", db_path, "' is not replicated by crlog (no crlog tables)"));
  }

  // The fold is built by its own connection into a private in-memory
  // database that the live connection attaches, so that every comparison
  // reads the live side inside the snapshot below.
  static std::atomic<uint64_t> fold_count{0};
  const std::string fold_uri =
      absl::StrCat("file:crlog-verify-", getpid(), "-", fold_count.fetch_add(1), "?mode=memory&cache=shared");
  auto fold_db = sqlite::OpenDb(fold_uri, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                        "opening an in-memory database");
  if (!fold_db.ok()) return fold_db.status();
  auto attach = sqlite::Stmt::Prepare(live->get(), absl::StrCat("ATTACH ?1 AS ", kFold));
  if (!attach.ok()) return attach.status();
  attach->BindText(1, fold_uri);
  if (absl::Status s = attach->Run(); !s.ok()) return s;

  // One read transaction: the tables, clocks and crlog metadata are one
  // snapshot even while a writer commits. The log is opened after the
  // snapshot began, so it holds every event the snapshot committed (capture
  // stores events before SQLite commits them) and maybe later ones, which
  // the fold leaves out: it folds the snapshot's heads.
  if (absl::Status s = sqlite::Exec(live->get(), "BEGIN"); !s.ok()) return s;
  auto site = meta::ReadSite(live->get());
  if (!site.ok()) return absl::IsUnavailable(site.status()) ? Busy(db_path, site.status()) : site.status();
  if (!site->has_value()) return Fault("crlog_site is empty: the database's crlog tables are damaged");
  auto watermark = meta::ReadWatermark(live->get());
  if (!watermark.ok()) return watermark.status();
  auto heads = meta::ReadHeads(live->get());
  if (!heads.ok()) return heads.status();

  log::StoreOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  auto store = log::LogStore::Open(LogPathFor(db_path), options);
  if (!store.ok()) return store.status();
  auto owner = (*store)->GetMeta(log::format::kMetaOwner);
  if (!owner.ok()) return owner.status();
  if (!owner->has_value() || **owner != (*site)->owner) {
    return Fault(absl::StrCat("the log '", (*store)->path(), "' belongs to another database than '", db_path, "'"));
  }
  // Sites whose key this database trusts must have signed their events.
  auto trusted = ReadTrustedKeys(live->get());
  if (!trusted.ok()) return trusted.status();
  auto log_report = log::Verify(**store, progress, *trusted);
  if (!log_report.ok()) return log_report.status();
  report.log = *log_report;

  // The anchor: the newest event SQLite committed is in the log, and no
  // newer event of this site is published there (checked below, against
  // the database as it is after the log was read).
  auto vv = (*store)->GetVersionVector();
  if (!vv.ok()) return vv.status();
  auto it = vv->find((*site)->site);
  const uint64_t log_seq = it == vv->end() ? 0 : it->second;
  if (watermark->seq != 0) {
    auto newest = (*store)->Get(watermark->hash);
    if (!newest.ok()) {
      auto pending = IsPending(**store, watermark->hash);
      if (!pending.ok()) return pending.status();
      if (*pending) return MidPublish(watermark->hash);
      return Fault(absl::StrCat("the database committed event ", log::ToHex(watermark->hash), " (seq ",
                                watermark->seq, ") but the log lacks it: the log's tail was removed or the log "
                                "was replaced"));
    }
  }
  if (log_seq < watermark->seq) {
    return Fault(absl::StrCat("the log holds this site's events up to seq ", log_seq,
                              " but the database committed up to seq ", watermark->seq,
                              " (the log lost its newest events)"));
  }
  for (const log::Hash& h : *heads) {
    auto present = (*store)->Contains(h);
    if (!present.ok()) return present.status();
    if (!*present) {
      auto pending = IsPending(**store, h);
      if (!pending.ok()) return pending.status();
      if (*pending) return MidPublish(h);
      return Fault(absl::StrCat("the database materialised event ", log::ToHex(h), " but the log lacks it"));
    }
  }

  // The fold of the log up to the snapshot's heads, replayed into the fresh
  // in-memory database: the tables as this replica's own schema changes
  // made them, the rows as the fold makes them (engine/history/replay.h).
  Point point;
  point.text = "head";
  point.heads = *heads;
  point.schema_site = (*site)->site;
  ReplayOptions replay_options;
  replay_options.local_site = (*site)->site;
  replay_options.progress = fold_progress;
  auto replayed = ReplayInto(**store, point, fold_db->get(), replay_options);
  if (!replayed.ok()) return replayed.status();
  report.folded_events = replayed->events;
  auto live_tables = ReplayedTables(live->get());
  if (!live_tables.ok()) return live_tables.status();
  auto folded_tables = ReplayedTables(fold_db->get());
  if (!folded_tables.ok()) return folded_tables.status();
  if (*live_tables != *folded_tables) {
    return Fault(absl::StrCat("the database replicates tables (", absl::StrJoin(*live_tables, ", "),
                              ") but its log's schema changes give (", absl::StrJoin(*folded_tables, ", "),
                              "): a table was made replicated or dropped behind crlog's back"));
  }
  const std::vector<std::string>& names = *live_tables;

  for (const std::string& name : names) {
    auto info = schema::ReadTableInfo(live->get(), "main", name);
    if (!info.ok()) return info.status();
    auto folded_info = schema::ReadTableInfo(fold_db->get(), "main", name);
    if (!folded_info.ok()) return folded_info.status();
    std::vector<std::string> live_columns, folded_columns;
    for (const auto& c : info->columns) live_columns.push_back(c.name);
    for (const auto& c : folded_info->columns) folded_columns.push_back(c.name);
    if (live_columns != folded_columns) {
      return Fault(absl::StrCat("table '", name, "' has columns (", absl::StrJoin(live_columns, ", "),
                                ") but the log's schema changes give (", absl::StrJoin(folded_columns, ", "),
                                "): it was altered without crsql_begin_alter / crsql_commit_alter"));
    }
    auto rows = CompareTable(live->get(), *info);
    if (!rows.ok()) return rows.status();
    if (absl::Status s = CompareClocks(live->get(), name); !s.ok()) {
      if (absl::IsDataLoss(s)) return Fault(std::string(s.message()));
      return s;
    }
    report.rows += *rows;
    ++report.tables;
  }
  if (absl::Status s = sqlite::Exec(live->get(), "COMMIT"); !s.ok()) return s;

  // Events of this site published beyond the snapshot are a writer's
  // commits since, which the database now holds; if it still does not, it
  // is older than its log (restored from a backup, say). Publishing follows
  // SQLite's commit, so the database read now covers what the log published.
  if (log_seq > watermark->seq) {
    auto now = meta::ReadWatermark(live->get());
    if (!now.ok()) return absl::IsUnavailable(now.status()) ? Busy(db_path, now.status()) : now.status();
    if (now->seq < log_seq) {
      return Fault(absl::StrCat("the log holds this site's events up to seq ", log_seq,
                                " but the database committed up to seq ", now->seq,
                                " (the database is older than its log)"));
    }
  }
  return report;
}

}  // namespace

}  // namespace crlog::engine

namespace crlog {

// A snapshot can catch a commit between SQLite's commit and its publishing
// in the log (microseconds): that snapshot is taken again. Left pending, the
// events are a writer killed in that gap, which the next open recovers.
absl::StatusOr<DatabaseReport> VerifyDatabase(const std::string& db_path, const Progress& progress,
                                              const Progress& fold_progress) {
  constexpr int kAttempts = 20;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto report = engine::VerifySnapshot(db_path, progress, fold_progress);
    if (report.ok() || !absl::IsAborted(report.status())) return report;
    last = report.status();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      last.message(), ": a writer was killed between committing and publishing; open the database once with crlog "
                      "(which recovers it), then verify again"));
}

}  // namespace crlog
