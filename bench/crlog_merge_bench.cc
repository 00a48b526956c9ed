// Merge: what applying a remote replica's history costs on the receiving
// side, through the loadable extension (crsqlite.so), beside SQLite's own
// ways of taking in the same rows, all in one run (DESIGN.md "Budgets").
//
// Workload: N rows (100,000, and 10,000 for quick runs) of
//   t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL)
// inserted on replica A in one transaction through the extension, then
// merged into an EMPTY replica B that already has t, made replicated with
// crsql_as_crr('t'). A is built once per size, before any timing; every
// iteration gets a fresh B (and a fresh plain database for the baseline).
// Every database: journal_mode=WAL, synchronous=NORMAL.
//
//   BM_ApplyEngine/N        B runs `SELECT crlog_apply(?1)` with the event
//                           bundle A's `SELECT crlog_export()` returned (what
//                           crlog<->crlog sync does). Baseline:
//                           sqlite3changeset_apply of a session changeset of
//                           the same N inserts (recorded on a plain copy of
//                           A) into an empty plain table.
//                           Goal: x_baseline <= 1.5.
//   BM_InsertCrsqlChanges/N B runs `INSERT INTO crsql_changes VALUES (?..?)`
//                           (one prepared statement) for each of the 3N
//                           changes read from A's crsql_changes beforehand,
//                           in one transaction (cr-sqlite's sync loop).
//                           Goal: changes_per_s >= 1,000,000, that is 7x
//                           cr-sqlite 0.16. Baseline: plain SQLite inserting
//                           the same N rows with a prepared INSERT in one
//                           transaction.
//
// Timed (manual time): the apply statement until it is reset (it commits:
// autocommit) / sqlite3changeset_apply (it commits itself); for the
// crsql_changes path, every INSERT step and the COMMIT (BEGIN is not timed,
// nor crsql_rows_impacted() read between the last step and the COMMIT).
// Opening B, the schema and crsql_as_crr are outside the timed region. The
// crlog side and the baseline alternate which goes first, so a noisy
// neighbour slows both alike. After each merge, B's tables are checked
// against the plain database (row count, column sums, a = 'name-' || id);
// a mismatch fails the benchmark.
//
// Counters ("base" is the baseline; rates are per second of timed time):
//   rows_per_s / base_rows_per_s     rows merged per second
//   ns_per_row / base_ns_per_row     the same as time per row
//   x_baseline                       crlog time / baseline time
//   goal_x, within_goal              (BM_ApplyEngine) 1.5, and x <= 1.5
//   changes_per_s                    (BM_InsertCrsqlChanges) 3N / time
//   x_crsqlite                       changes_per_s / 140,000
//   goal_changes_per_s, within_goal  1,000,000 and whether it is met
//   rows_impacted                    crsql_rows_impacted() before COMMIT (3N;
//                                    -1 when the build lacks the function)
//   events_added                     crlog_apply's result (events B lacked)
//   stmt_ns_per_row / commit_ns_per_row (BM_InsertCrsqlChanges) the split
// Sizes, first iteration, after the merge, WAL checkpointed (TRUNCATE), B
// closed before its log files are looked at (no LogStore is opened: the
// extension has its own copy of log/):
//   db_B_per_row       B's SQLite file + its -wal
//   log_B_per_row      length of B's <db>-crlog/data.mdb (LMDB high-water)
//   log_disk_B_per_row blocks data.mdb takes on disk
//   plain_B_per_row    the baseline's plain SQLite file + its -wal
//   x_plain_size       (db + log) / plain
//
// Size: both 100,000 and 10,000 rows are registered (names end in /100000
// and /10000; --benchmark_filter='/10000/' for a quick run). The environment
// variable CRLOG_MERGE_ROWS=N registers only N rows instead.
#define SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_PREUPDATE_HOOK
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_db.h"
#include "bench/bench_util.h"
#include "bench/sqlite_bench_util.h"

#ifndef CRLOG_EXTENSION
#error "CRLOG_EXTENSION must name crsqlite.so (bench/CMakeLists.txt defines it)"
#endif

namespace crlog::bench {
namespace {

// cr-sqlite 0.16 merges these changes through INSERT INTO crsql_changes at
// about 140,000 changes a second on this kind of machine (DESIGN.md
// "Budgets"). It cannot run inside a C++ benchmark, so it is a constant
// here, not a measurement of this run.
constexpr double kCrsqliteChangesPerSecond = 140'000;
constexpr double kGoalChangesPerSecond = 1'000'000;  // 7x cr-sqlite
constexpr double kGoalApplyX = 1.5;                  // vs sqlite3changeset_apply

constexpr char kSelectChanges[] =
    "SELECT \"table\", pk, cid, val, col_version, db_version, site_id, cl, seq "
    "FROM crsql_changes";
constexpr char kInsertChanges[] = "INSERT INTO crsql_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

// One row of A's crsql_changes, owned, ready to bind.
struct Change {
  std::string table, pk, cid;
  int val_type = SQLITE_NULL;
  int64_t val_int = 0;
  double val_real = 0;
  std::string val_bytes;  // TEXT or BLOB
  int64_t col_version = 0, db_version = 0;
  std::string site_id;
  int64_t cl = 0, seq = 0;
};

// What replica A produced, made once per size before any timing. Each part
// that could not be made holds its error instead; the benchmark that needs
// it reports that error.
struct Source {
  int64_t rows = 0;
  absl::StatusOr<std::string> bundle = absl::UnknownError("not made");     // crlog_export()
  absl::StatusOr<std::vector<Change>> changes = absl::UnknownError("not made");  // crsql_changes
  absl::StatusOr<std::string> changeset = absl::UnknownError("not made");  // session
  std::vector<Row> data;
};

// Replica A: the rows inserted through the extension in one transaction;
// then its event bundle and its crsql_changes.
void MakeReplicaA(Source& src, const TempDir& dir) {
  auto a = Db::Open(dir.Sub("a.db"), /*replicated=*/true);
  if (!a.ok()) {
    src.bundle = a.status();
    src.changes = a.status();
    return;
  }
  if (absl::Status s = InsertRows(**a, src.data); !s.ok()) {
    src.bundle = s;
    src.changes = s;
    return;
  }
  src.bundle = ExportBundle(**a);
  // Every change, as a sync loop reads them.
  auto stmt = (*a)->Prepare(kSelectChanges);
  if (!stmt.ok()) {
    src.changes = stmt.status();
    return;
  }
  std::vector<Change> changes;
  changes.reserve(static_cast<size_t>(src.rows) * 3);
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    Change c;
    c.table = ColumnBytes(*stmt, 0);
    c.pk = ColumnBytes(*stmt, 1);
    c.cid = ColumnBytes(*stmt, 2);
    c.val_type = sqlite3_column_type(*stmt, 3);
    switch (c.val_type) {
      case SQLITE_INTEGER: c.val_int = sqlite3_column_int64(*stmt, 3); break;
      case SQLITE_FLOAT: c.val_real = sqlite3_column_double(*stmt, 3); break;
      case SQLITE_TEXT:
      case SQLITE_BLOB: c.val_bytes = ColumnBytes(*stmt, 3); break;
      default: break;
    }
    c.col_version = sqlite3_column_int64(*stmt, 4);
    c.db_version = sqlite3_column_int64(*stmt, 5);
    c.site_id = ColumnBytes(*stmt, 6);
    c.cl = sqlite3_column_int64(*stmt, 7);
    c.seq = sqlite3_column_int64(*stmt, 8);
    changes.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) {
    src.changes = SqliteError((*a)->db(), kSelectChanges);
  } else if (static_cast<int64_t>(changes.size()) != 3 * src.rows) {
    src.changes = absl::InternalError(absl::StrCat("A's crsql_changes has ", changes.size(),
                                                   " rows, expected ", 3 * src.rows));
  } else {
    src.changes = std::move(changes);
  }
  sqlite3_finalize(*stmt);
}

// A plain copy of A recording a session: the changeset of the inserts.
void MakeChangeset(Source& src, const TempDir& dir) {
  auto p = Db::Open(dir.Sub("a-plain.db"), /*replicated=*/false);
  if (!p.ok()) {
    src.changeset = p.status();
    return;
  }
  sqlite3_session* session = nullptr;
  if (sqlite3session_create((*p)->db(), "main", &session) != SQLITE_OK) {
    src.changeset = SqliteError((*p)->db(), "sqlite3session_create");
    return;
  }
  absl::Status st;
  if (sqlite3session_attach(session, "t") != SQLITE_OK) {
    st = SqliteError((*p)->db(), "sqlite3session_attach");
  }
  if (st.ok()) st = InsertRows(**p, src.data);
  int size = 0;
  void* bytes = nullptr;
  if (st.ok() && sqlite3session_changeset(session, &size, &bytes) != SQLITE_OK) {
    st = SqliteError((*p)->db(), "sqlite3session_changeset");
  }
  sqlite3session_delete(session);
  if (!st.ok()) {
    src.changeset = st;
    return;
  }
  src.changeset = std::string(static_cast<const char*>(bytes), static_cast<size_t>(size));
  sqlite3_free(bytes);
}

const Source& SourceFor(int64_t rows) {
  static auto* sources = new std::map<int64_t, std::unique_ptr<Source>>();
  std::unique_ptr<Source>& slot = (*sources)[rows];
  if (slot == nullptr) {
    slot = std::make_unique<Source>();
    slot->rows = rows;
    slot->data.reserve(static_cast<size_t>(rows));
    for (int64_t id = 1; id <= rows; ++id) slot->data.push_back(RowFor(id));
    TempDir dir("merge-src");
    MakeReplicaA(*slot, dir);
    MakeChangeset(*slot, dir);
  }
  return *slot;
}

// One iteration's pair of fresh databases: B (replicated) and the plain one.
struct Pair {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Db> b, plain;
};

absl::StatusOr<Pair> OpenPair() {
  Pair p;
  p.dir = std::make_unique<TempDir>("merge");
  auto b = Db::Open(p.dir->Sub("b.db"), /*replicated=*/true);
  if (!b.ok()) return b.status();
  auto plain = Db::Open(p.dir->Sub("plain.db"), /*replicated=*/false);
  if (!plain.ok()) return plain.status();
  p.b = *std::move(b);
  p.plain = *std::move(plain);
  return p;
}

// B's tables must hold what the plain database holds.
absl::Status CheckSame(Pair& p, int64_t rows) {
  auto b = p.b->QueryText(kDigest);
  if (!b.ok()) return b.status();
  auto plain = p.plain->QueryText(kDigest);
  if (!plain.ok()) return plain.status();
  if (*b != *plain || !absl::StartsWith(*plain, absl::StrCat(rows, "/"))) {
    return absl::InternalError(
        absl::StrCat("after the merge B holds ", *b, " but the plain database ", *plain));
  }
  return absl::OkStatus();
}

// Sizes after the merge; closes both databases.
bool ReportSizes(benchmark::State& state, Pair& p, int64_t rows) {
  auto db_bytes = p.b->FileBytes();
  if (!OkOrSkip(state, db_bytes.status(), "B size")) return false;
  auto plain_bytes = p.plain->FileBytes();
  if (!OkOrSkip(state, plain_bytes.status(), "plain size")) return false;
  const std::string data_mdb = p.b->path() + "-crlog/data.mdb";
  p.b->Close();
  p.plain->Close();
  const double n = static_cast<double>(rows);
  const double log_bytes = static_cast<double>(Db::StatBytes(data_mdb, false));
  if (log_bytes == 0) {
    OkOrSkip(state, absl::NotFoundError(absl::StrCat("no ", data_mdb)), "log size");
    return false;
  }
  state.counters["db_B_per_row"] = static_cast<double>(*db_bytes) / n;
  state.counters["log_B_per_row"] = log_bytes / n;
  state.counters["log_disk_B_per_row"] = static_cast<double>(Db::StatBytes(data_mdb, true)) / n;
  state.counters["plain_B_per_row"] = static_cast<double>(*plain_bytes) / n;
  state.counters["x_plain_size"] =
      (static_cast<double>(*db_bytes) + log_bytes) / static_cast<double>(*plain_bytes);
  return true;
}

struct Split {
  double stmt_s = 0;
  double commit_s = 0;
  double total() const { return stmt_s + commit_s; }
};

// Times of both sides over the iterations.
struct Totals {
  Split crlog, base;
  int64_t iterations = 0;

  // Counters common to both benchmarks.
  void Report(benchmark::State& state, double rows) const {
    if (iterations == 0 || crlog.total() <= 0 || base.total() <= 0) return;
    const double n = rows * static_cast<double>(iterations);
    state.counters["rows"] = rows;
    state.counters["rows_per_s"] = n / crlog.total();
    state.counters["base_rows_per_s"] = n / base.total();
    state.counters["ns_per_row"] = crlog.total() * 1e9 / n;
    state.counters["base_ns_per_row"] = base.total() * 1e9 / n;
    state.counters["x_baseline"] = crlog.total() / base.total();
    state.SetItemsProcessed(static_cast<int64_t>(n));
  }
};

// The baseline runs first in even iterations (the first one included, so a
// crlog side that fails still leaves a baseline number in the message).
bool BaselineFirst(const Totals& t) { return t.iterations % 2 == 0; }

std::string BaseNote(double base_s, double rows) {
  if (base_s <= 0) return "";
  return absl::StrCat(" [baseline this iteration: ", static_cast<int64_t>(rows / base_s),
                      " rows/s]");
}

// --- BM_ApplyEngine ---------------------------------------------------------

int ConflictAbort(void*, int, sqlite3_changeset_iter*) { return SQLITE_CHANGESET_ABORT; }

absl::StatusOr<double> ApplyChangeset(Db& plain, const std::string& changeset) {
  Stopwatch sw;
  const int rc = sqlite3changeset_apply(plain.db(), static_cast<int>(changeset.size()),
                                        const_cast<char*>(changeset.data()), nullptr,
                                        ConflictAbort, nullptr);
  const double s = sw.Seconds();
  if (rc != SQLITE_OK) return SqliteError(plain.db(), "sqlite3changeset_apply");
  return s;
}

void BM_ApplyEngine(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const Source& src = SourceFor(rows);
  if (!OkOrSkip(state, src.changeset.status(), "baseline changeset")) return;
  Totals totals;
  bool sized = false;
  int64_t events = -1;
  for (auto _ : state) {
    auto pair = OpenPair();
    if (!OkOrSkip(state, pair.status(), "open")) break;
    double crlog_s = 0, base_s = 0;
    bool failed = false;
    for (int turn = 0; turn < 2 && !failed; ++turn) {
      const bool base_turn = (turn == 0) == BaselineFirst(totals);
      if (base_turn) {
        auto s = ApplyChangeset(*pair->plain, *src.changeset);
        failed = !OkOrSkip(state, s.status(), "baseline sqlite3changeset_apply");
        if (!failed) base_s = *s;
      } else {
        absl::StatusOr<double> s = src.bundle.ok()
                                       ? ApplyBundle(*pair->b, *src.bundle, &events)
                                       : absl::StatusOr<double>(src.bundle.status());
        failed = !OkOrSkip(state, s.status(),
                           absl::StrCat("crlog_apply", BaseNote(base_s, static_cast<double>(rows))));
        if (!failed) crlog_s = *s;
      }
    }
    if (failed) break;
    if (!OkOrSkip(state, CheckSame(*pair, rows), "check")) break;
    totals.crlog.stmt_s += crlog_s;
    totals.base.stmt_s += base_s;
    ++totals.iterations;
    state.SetIterationTime(crlog_s);
    if (!sized) {
      if (!ReportSizes(state, *pair, rows)) break;
      sized = true;
    }
  }
  totals.Report(state, static_cast<double>(rows));
  if (totals.iterations > 0) {
    const double x = totals.crlog.total() / totals.base.total();
    state.counters["goal_x"] = kGoalApplyX;
    state.counters["within_goal"] = x <= kGoalApplyX ? 1 : 0;
    state.counters["events_added"] = static_cast<double>(events);
    state.counters["bundle_B_per_row"] =
        static_cast<double>(src.bundle->size()) / static_cast<double>(rows);
    state.counters["changeset_B_per_row"] =
        static_cast<double>(src.changeset->size()) / static_cast<double>(rows);
  }
}

// --- BM_InsertCrsqlChanges --------------------------------------------------

void BindChange(sqlite3_stmt* stmt, const Change& c) {
  sqlite3_bind_text(stmt, 1, c.table.data(), static_cast<int>(c.table.size()), SQLITE_STATIC);
  sqlite3_bind_blob(stmt, 2, c.pk.data(), static_cast<int>(c.pk.size()), SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, c.cid.data(), static_cast<int>(c.cid.size()), SQLITE_STATIC);
  switch (c.val_type) {
    case SQLITE_INTEGER: sqlite3_bind_int64(stmt, 4, c.val_int); break;
    case SQLITE_FLOAT: sqlite3_bind_double(stmt, 4, c.val_real); break;
    case SQLITE_TEXT:
      sqlite3_bind_text(stmt, 4, c.val_bytes.data(), static_cast<int>(c.val_bytes.size()),
                        SQLITE_STATIC);
      break;
    case SQLITE_BLOB:
      sqlite3_bind_blob(stmt, 4, c.val_bytes.data(), static_cast<int>(c.val_bytes.size()),
                        SQLITE_STATIC);
      break;
    default: sqlite3_bind_null(stmt, 4); break;
  }
  sqlite3_bind_int64(stmt, 5, c.col_version);
  sqlite3_bind_int64(stmt, 6, c.db_version);
  sqlite3_bind_blob(stmt, 7, c.site_id.data(), static_cast<int>(c.site_id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 8, c.cl);
  sqlite3_bind_int64(stmt, 9, c.seq);
}

// B: every change through one prepared INSERT INTO crsql_changes, in one
// transaction. `impacted` gets crsql_rows_impacted() before the COMMIT.
absl::StatusOr<Split> InsertChanges(Db& b, const std::vector<Change>& changes,
                                    int64_t* impacted) {
  absl::StatusOr<sqlite3_stmt*> stmt = b.Prepare(kInsertChanges);
  if (!stmt.ok()) return stmt.status();
  // Reported, not required: a build without it still measures the merge.
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(b.db(), "SELECT crsql_rows_impacted()", -1, &count, nullptr);
  absl::Status st = b.Exec("BEGIN");
  Split split;
  if (st.ok()) {
    Stopwatch sw;
    for (const Change& c : changes) {
      BindChange(*stmt, c);
      if (sqlite3_step(*stmt) != SQLITE_DONE) {
        st = SqliteError(b.db(), kInsertChanges);
        break;
      }
      sqlite3_reset(*stmt);
    }
    split.stmt_s = sw.Seconds();
  }
  if (st.ok()) {
    *impacted = -1;
    if (count != nullptr && sqlite3_step(count) == SQLITE_ROW) {
      *impacted = sqlite3_column_int64(count, 0);
    }
    sqlite3_reset(count);
    Stopwatch sw;
    if (sqlite3_exec(b.db(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      st = SqliteError(b.db(), "COMMIT");
    }
    split.commit_s = sw.Seconds();
  }
  sqlite3_finalize(*stmt);
  sqlite3_finalize(count);
  if (!st.ok()) {
    b.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return split;
}

// The baseline: the same rows through a prepared INSERT on a plain table.
absl::StatusOr<Split> InsertPlain(Db& plain, const std::vector<Row>& rows) {
  if (absl::Status s = plain.Exec("BEGIN"); !s.ok()) return s;
  absl::StatusOr<sqlite3_stmt*> stmt = plain.Prepare(kInsert);
  if (!stmt.ok()) return stmt.status();
  Split split;
  Stopwatch sw;
  absl::Status st = StepRows(plain.db(), *stmt, rows);
  split.stmt_s = sw.Seconds();
  sqlite3_finalize(*stmt);
  if (st.ok()) {
    Stopwatch c;
    if (sqlite3_exec(plain.db(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      st = SqliteError(plain.db(), "COMMIT");
    }
    split.commit_s = c.Seconds();
  }
  if (!st.ok()) {
    plain.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return split;
}

void BM_InsertCrsqlChanges(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const Source& src = SourceFor(rows);
  Totals totals;
  bool sized = false;
  int64_t impacted = -1;
  for (auto _ : state) {
    auto pair = OpenPair();
    if (!OkOrSkip(state, pair.status(), "open")) break;
    Split crlog, base;
    bool failed = false;
    for (int turn = 0; turn < 2 && !failed; ++turn) {
      const bool base_turn = (turn == 0) == BaselineFirst(totals);
      if (base_turn) {
        auto s = InsertPlain(*pair->plain, src.data);
        failed = !OkOrSkip(state, s.status(), "baseline INSERT");
        if (!failed) base = *s;
      } else {
        absl::StatusOr<Split> s = src.changes.ok()
                                      ? InsertChanges(*pair->b, *src.changes, &impacted)
                                      : absl::StatusOr<Split>(src.changes.status());
        failed = !OkOrSkip(state, s.status(),
                           absl::StrCat("INSERT INTO crsql_changes",
                                        BaseNote(base.total(), static_cast<double>(rows))));
        if (!failed) crlog = *s;
      }
    }
    if (failed) break;
    if (!OkOrSkip(state, CheckSame(*pair, rows), "check")) break;
    totals.crlog.stmt_s += crlog.stmt_s;
    totals.crlog.commit_s += crlog.commit_s;
    totals.base.stmt_s += base.stmt_s;
    totals.base.commit_s += base.commit_s;
    ++totals.iterations;
    state.SetIterationTime(crlog.total());
    if (!sized) {
      if (!ReportSizes(state, *pair, rows)) break;
      sized = true;
    }
  }
  totals.Report(state, static_cast<double>(rows));
  if (totals.iterations > 0 && totals.crlog.total() > 0) {
    const double n = static_cast<double>(rows * totals.iterations);
    const double changes_per_s = 3 * n / totals.crlog.total();
    state.counters["changes_per_s"] = changes_per_s;
    state.counters["x_crsqlite"] = changes_per_s / kCrsqliteChangesPerSecond;
    state.counters["goal_changes_per_s"] = kGoalChangesPerSecond;
    state.counters["within_goal"] = changes_per_s >= kGoalChangesPerSecond ? 1 : 0;
    state.counters["rows_impacted"] = static_cast<double>(impacted);
    state.counters["stmt_ns_per_row"] = totals.crlog.stmt_s * 1e9 / n;
    state.counters["commit_ns_per_row"] = totals.crlog.commit_s * 1e9 / n;
  }
}

// --- registration -----------------------------------------------------------

// Each iteration is a full merge on both sides with fresh files; iteration
// counts keep the suite within a minute or two on two shared cores.
int RegisterAll() {
  std::vector<std::pair<int64_t, int>> sizes = {{100'000, 5}, {10'000, 20}};
  if (const char* env = std::getenv("CRLOG_MERGE_ROWS"); env != nullptr && *env != '\0') {
    int64_t n = 0;
    if (!absl::SimpleAtoi(env, &n) || n <= 0) {
      std::fprintf(stderr, "crlog_merge_bench: CRLOG_MERGE_ROWS=%s is not a row count\n", env);
      std::exit(2);
    }
    sizes = {{n, n >= 50'000 ? 5 : 20}};
  }
  for (auto [rows, iterations] : sizes) {
    benchmark::RegisterBenchmark("BM_ApplyEngine", BM_ApplyEngine)
        ->Arg(rows)
        ->Iterations(iterations)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_InsertCrsqlChanges", BM_InsertCrsqlChanges)
        ->Arg(rows)
        ->Iterations(iterations)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}
const int kRegistered = RegisterAll();

}  // namespace
}  // namespace crlog::bench
