// History: what replay and blame cost (issue 5), each beside a baseline
// measured in the same run.
//
// BM_Replay/N: engine::ReplayToFile at "head" of a log of N rows (100,000)
//   of t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL), the
//   table of crlog_merge_bench, inserted on replica A through the extension
//   in one transaction and then updated (UPDATE t SET b = b + 1) in a
//   second: 4N cell ops. Each iteration, in rotating order:
//     replay   ReplayToFile into a new file (timed: the call)
//     merge    SELECT crlog_apply(bundle of A's whole log) into an empty
//              replica B that already has t replicated: the engine's merge
//              path (Replica::ApplyEvents), as BM_ApplyEngine runs it
//              (timed: the statement until its commit)
//     plain    plain SQLite inserting the N rows as they end (prepared
//              INSERT, one transaction; timed: BEGIN..COMMIT)
//     fold     engine::ReplayInto an in-memory database: replay without
//              writing the file, to show where replay's time goes
//   Replay, merge and plain must end with equal tables (kDigest), or the
//   run fails.
//   Counters ("rate" = the log's cell ops per second of timed time):
//     ops, rows          the log's cell ops (4N) and rows (N)
//     ops_per_s          replay rate; merge_ops_per_s the merge's;
//                        fold_only_ops_per_s ReplayInto's (in memory)
//     plain_rows_per_s   the plain inserts' rows per second
//     x_engine_merge     replay rate / merge rate (goal >= 1: replay is at
//                        least as fast as merging the same events)
//     x_plain            replay time / plain time for the same end state
//                        (as x_baseline in the other suites: 3 means replay
//                        takes three times as long as plain SQLite
//                        inserting the rows)
//     within_goal        x_engine_merge >= 1
//
// BM_BlameRow: engine::BlameRow of random rows of a log of 1,000,000 ops,
//   built once per process: 250,000 rows inserted by site A in 250
//   transactions of 1,000 rows (750,000 ops), merged into site B; then, on
//   concurrent branches, B updates b of the even rows and A updates c of the
//   odd rows, 125 transactions of 1,000 rows each (250,000 ops); B is
//   merged back into A, whose database and log are measured (~500 events).
//   Each iteration blames 200 random rows and, in the same connection,
//   reads the same rows with a prepared `SELECT a, b, c FROM t WHERE id = ?`
//   (alternating which goes first). Every blame is checked: three cells,
//   each with its writer; b written by B on even rows, by A on odd ones.
//   Counters: ns_per_blame, blame_ms, select_ns, x_select (blame time /
//   select time), goal_ms (10), within_goal, log_ops, log_events.
//
// BM_RowHistory: engine::RowHistory of one random row at "head" of the same
//   log (it replays the row alone, so it reads the whole log), beside a
//   bare read of the whole log (LogStore::ForEach over every event, no
//   decoding) in the same iteration. Counters: history_ms, versions (values
//   recorded per row), scan_ms, x_log_scan (history time / scan time),
//   x_select (history time / one point SELECT).
//
// BM_BlameRowInHugeEvent: engine::BlameRow of random rows of a log where one
//   transaction inserted 500,000 rows, more than one event may hold (the
//   extension's crlog-max-event-bytes, 8 MiB by default), so capture split
//   it into an event group whose members all share one db_version. Blame
//   then has to look through every member for the row (each blame is a
//   fresh call: nothing is cached from one to the next). Built once per
//   process; each iteration blames kHugeBlamesPerIteration random rows and,
//   in the same connection, SELECTs the same rows (alternating which goes
//   first). Every blame is checked: three cells, each written by site A in
//   a member of the group. Counters: ns_per_blame, blame_ms, select_ns,
//   x_select, goal_ms (10), within_goal, rows, group_members,
//   member_mib (the largest member's bytes), members_hit (distinct members
//   the blamed rows were found in), setup_s.
//
// The random rows come from a fixed seed (CRLOG_BENCH_SEED overrides it),
// shown as the label. Setup (about half a minute) is not timed.
// CRLOG_HISTORY_ROWS=N replays N rows instead of 100,000.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_db.h"
#include "bench/bench_util.h"
#include "bench/sqlite_bench_util.h"
#include "benchmark/benchmark.h"
#include "engine/history/blame.h"
#include "engine/history/history_db.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "util/sqlite/stmt.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/store.h"

#ifndef CRLOG_EXTENSION
#error "CRLOG_EXTENSION must name crsqlite.so (bench/CMakeLists.txt defines it)"
#endif

namespace crlog::bench {
namespace {

constexpr double kGoalReplayX = 1.0;    // replay rate / merge rate
constexpr double kGoalBlameMs = 10.0;   // one blame
constexpr int kBlamesPerIteration = 200;
constexpr int64_t kBlameRows = 250'000;
constexpr int64_t kBlameBatch = 1'000;  // rows per transaction
constexpr int64_t kHugeRows = 500'000;  // rows of the one huge transaction
constexpr int kHugeBlamesPerIteration = 20;

uint64_t Seed() {
  uint64_t seed = 20260501;
  if (const char* env = std::getenv("CRLOG_BENCH_SEED"); env != nullptr && *env != '\0') {
    if (!absl::SimpleAtoi(env, &seed)) {
      std::fprintf(stderr, "crlog_history_bench: CRLOG_BENCH_SEED=%s is not a number\n", env);
      std::exit(2);
    }
  }
  return seed;
}

// The log's cell ops and events, read back from the log itself.
struct LogCount {
  uint64_t ops = 0;
  uint64_t events = 0;
};
absl::StatusOr<LogCount> CountLog(const log::LogStore& store) {
  LogCount count;
  absl::Status fault;
  absl::Status walk = store.ForEach([&](const log::StoredEvent& stored) {
    absl::StatusOr<log::Event> event = stored.Decode();
    if (!event.ok()) {
      fault = event.status();
      return false;
    }
    count.ops += event->CountOps();
    ++count.events;
    return true;
  });
  if (!fault.ok()) return fault;
  if (!walk.ok()) return walk;
  return count;
}

// Everything a history suite keeps open for the whole run. Released by
// main() before exit, so the scratch directories go with it.
struct Fixture {
  virtual ~Fixture() = default;
};
std::vector<std::unique_ptr<Fixture>>& Fixtures() {
  static auto* all = new std::vector<std::unique_ptr<Fixture>>();
  return *all;
}

// --- BM_Replay --------------------------------------------------------------

struct ReplaySource : Fixture {
  int64_t rows = 0;
  absl::Status status = absl::UnknownError("not made");
  std::unique_ptr<TempDir> dir;
  std::string bundle;            // A's whole log
  std::vector<Row> final_rows;   // t as A ends, for the plain baseline
  std::string digest;            // kDigest of A's t
  LogCount count;
  // A, opened after its connection closed; declared after `dir`, so it
  // closes before the directory is removed.
  std::unique_ptr<engine::HistoryDb> history;
  std::optional<engine::Point> head;
};

absl::Status MakeReplaySource(ReplaySource& src) {
  src.dir = std::make_unique<TempDir>("history-replay-src");
  const std::string path = src.dir->Sub("a.db");
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(src.rows));
  for (int64_t id = 1; id <= src.rows; ++id) rows.push_back(RowFor(id));
  {
    auto a = Db::Open(path, /*replicated=*/true);
    if (!a.ok()) return a.status();
    if (absl::Status s = InsertRows(**a, rows); !s.ok()) return s;
    if (absl::Status s = (*a)->Exec("UPDATE t SET b = b + 1"); !s.ok()) return s;
    auto digest = (*a)->QueryText(kDigest);
    if (!digest.ok()) return digest.status();
    src.digest = *digest;
    auto bundle = ExportBundle(**a);
    if (!bundle.ok()) return bundle.status();
    src.bundle = *std::move(bundle);
  }  // A's connection (and the extension's hold on its log) closes here
  for (Row& r : rows) r.b = UpdatedB(r);
  src.final_rows = std::move(rows);
  auto history = engine::HistoryDb::Open(path);
  if (!history.ok()) return history.status();
  src.history = *std::move(history);
  auto head = src.history->Resolve("head");
  if (!head.ok()) return head.status();
  src.head = *std::move(head);
  auto count = CountLog(src.history->store());
  if (!count.ok()) return count.status();
  src.count = *count;
  return absl::OkStatus();
}

const ReplaySource& ReplaySourceFor(int64_t rows) {
  static std::map<int64_t, ReplaySource*>* made = new std::map<int64_t, ReplaySource*>();
  ReplaySource*& slot = (*made)[rows];
  if (slot == nullptr) {
    auto src = std::make_unique<ReplaySource>();
    src->rows = rows;
    src->status = MakeReplaySource(*src);
    slot = src.get();
    Fixtures().push_back(std::move(src));
  }
  return *slot;
}

absl::Status SameTable(const std::string& what, const std::string& got, const std::string& want) {
  if (got == want) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " holds ", got, " but replica A holds ", want));
}

// One turn of BM_Replay; returns its timed seconds.
absl::StatusOr<double> ReplayTurn(const ReplaySource& src, const TempDir& dir, uint64_t* folded) {
  const std::string out = dir.Sub("replay.db");
  Stopwatch sw;
  auto stats = engine::ReplayToFile(src.history->store(), *src.head, out, src.history->Options());
  const double s = sw.Seconds();
  if (!stats.ok()) return stats.status();
  *folded = stats->ops;
  auto d = Db::OpenExisting(out);
  if (!d.ok()) return d.status();
  auto digest = (*d)->QueryText(kDigest);
  if (!digest.ok()) return digest.status();
  if (absl::Status st = SameTable("the replayed file", *digest, src.digest); !st.ok()) return st;
  return s;
}

// ReplayInto an in-memory database: the fold alone, without writing the
// file out (what ReplayToFile adds on top of it).
absl::StatusOr<double> FoldOnlyTurn(const ReplaySource& src) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(":memory:", &raw) != SQLITE_OK) return SqliteError(raw, "open :memory:");
  ::crlog::sqlite::OwnedDb db(raw);
  Stopwatch sw;
  auto stats = engine::ReplayInto(src.history->store(), *src.head, db.get(), src.history->Options());
  const double s = sw.Seconds();
  if (!stats.ok()) return stats.status();
  return s;
}

absl::StatusOr<double> MergeTurn(const ReplaySource& src, const TempDir& dir) {
  auto b = Db::Open(dir.Sub("b.db"), /*replicated=*/true);
  if (!b.ok()) return b.status();
  int64_t events = 0;
  auto s = ApplyBundle(**b, src.bundle, &events);
  if (!s.ok()) return s.status();
  auto digest = (*b)->QueryText(kDigest);
  if (!digest.ok()) return digest.status();
  if (absl::Status st = SameTable("replica B after crlog_apply", *digest, src.digest); !st.ok()) return st;
  return *s;
}

absl::StatusOr<double> PlainTurn(const ReplaySource& src, const TempDir& dir) {
  auto p = Db::Open(dir.Sub("plain.db"), /*replicated=*/false);
  if (!p.ok()) return p.status();
  Stopwatch sw;
  absl::Status st = InsertRows(**p, src.final_rows);
  const double s = sw.Seconds();
  if (!st.ok()) return st;
  auto digest = (*p)->QueryText(kDigest);
  if (!digest.ok()) return digest.status();
  if (absl::Status same = SameTable("the plain database", *digest, src.digest); !same.ok()) return same;
  return s;
}

void BM_Replay(benchmark::State& state) {
  const ReplaySource& src = ReplaySourceFor(state.range(0));
  if (!OkOrSkip(state, src.status, "making replica A")) return;
  double replay_s = 0, merge_s = 0, plain_s = 0, fold_s = 0;
  uint64_t folded = 0;
  int64_t iterations = 0;
  for (auto _ : state) {
    TempDir dir("history-replay");
    double times[4] = {0, 0, 0, 0};
    bool failed = false;
    // Rotating order, so a noisy neighbour slows all of them alike.
    static constexpr const char* kWhat[4] = {"replay", "merge (crlog_apply)", "plain", "fold only (ReplayInto)"};
    for (int turn = 0; turn < 4 && !failed; ++turn) {
      const int which = static_cast<int>((turn + iterations) % 4);
      absl::StatusOr<double> t = which == 0   ? ReplayTurn(src, dir, &folded)
                                 : which == 1 ? MergeTurn(src, dir)
                                 : which == 2 ? PlainTurn(src, dir)
                                              : FoldOnlyTurn(src);
      failed = !OkOrSkip(state, t.status(), kWhat[which]);
      if (!failed) times[which] = *t;
    }
    if (failed) break;
    replay_s += times[0];
    merge_s += times[1];
    plain_s += times[2];
    fold_s += times[3];
    ++iterations;
    state.SetIterationTime(times[0]);
  }
  if (iterations == 0 || replay_s <= 0 || merge_s <= 0 || plain_s <= 0 || fold_s <= 0) return;
  const double n = static_cast<double>(iterations);
  const double ops = static_cast<double>(src.count.ops);
  state.counters["ops"] = ops;
  state.counters["rows"] = static_cast<double>(src.rows);
  state.counters["events"] = static_cast<double>(src.count.events);
  state.counters["replay_row_ops"] = static_cast<double>(folded);
  state.counters["ops_per_s"] = ops * n / replay_s;
  state.counters["merge_ops_per_s"] = ops * n / merge_s;
  state.counters["fold_only_ops_per_s"] = ops * n / fold_s;
  state.counters["plain_rows_per_s"] = static_cast<double>(src.rows) * n / plain_s;
  const double x_merge = merge_s / replay_s;
  state.counters["x_engine_merge"] = x_merge;
  state.counters["x_plain"] = replay_s / plain_s;
  state.counters["goal_x_engine_merge"] = kGoalReplayX;
  state.counters["within_goal"] = x_merge >= kGoalReplayX ? 1 : 0;
  state.SetItemsProcessed(static_cast<int64_t>(ops * n));
}

// --- The 1,000,000-op log for blame and row history -------------------------

struct BlameLog : Fixture {
  absl::Status status = absl::UnknownError("not made");
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<engine::HistoryDb> history;  // site A; closes before `dir` goes
  std::optional<engine::Point> head;
  LogCount count;
  double setup_s = 0;
};

// UPDATE t SET <column> = <value> for the rows from `first` to `last` whose
// id has parity `parity`, in transactions of kBlameBatch rows.
absl::Status UpdateEveryOther(Db& d, const char* sql, int64_t first, int64_t last, int parity,
                              bool real_value) {
  absl::StatusOr<sqlite3_stmt*> stmt = d.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::Status st = d.Exec("BEGIN");
  int64_t in_txn = 0;
  for (int64_t id = first; id <= last && st.ok(); ++id) {
    if (id % 2 != parity) continue;
    sqlite3_bind_int64(*stmt, 1, id);
    if (real_value) {
      sqlite3_bind_double(*stmt, 2, static_cast<double>(id) * 0.5);
    } else {
      sqlite3_bind_int64(*stmt, 2, id * 7);
    }
    if (sqlite3_step(*stmt) != SQLITE_DONE) st = SqliteError(d.db(), sql);
    sqlite3_reset(*stmt);
    if (st.ok() && ++in_txn == kBlameBatch) {
      st = d.Exec("COMMIT");
      if (st.ok()) st = d.Exec("BEGIN");
      in_txn = 0;
    }
  }
  sqlite3_finalize(*stmt);
  if (!st.ok()) {
    d.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return d.Exec("COMMIT");
}

absl::Status MakeBlameLog(BlameLog& bl) {
  Stopwatch sw;
  bl.dir = std::make_unique<TempDir>("history-blame");
  const std::string a_path = bl.dir->Sub("a.db");
  {
    auto a = Db::Open(a_path, /*replicated=*/true);
    if (!a.ok()) return a.status();
    auto b = Db::Open(bl.dir->Sub("b.db"), /*replicated=*/true);
    if (!b.ok()) return b.status();
    std::vector<Row> batch;
    for (int64_t first = 1; first <= kBlameRows; first += kBlameBatch) {
      batch.clear();
      for (int64_t id = first; id < first + kBlameBatch && id <= kBlameRows; ++id) batch.push_back(RowFor(id));
      if (absl::Status s = InsertRows(**a, batch); !s.ok()) return s;
    }
    int64_t events = 0;
    auto a_bundle = ExportBundle(**a);
    if (!a_bundle.ok()) return a_bundle.status();
    if (auto s = ApplyBundle(**b, *a_bundle, &events); !s.ok()) return s.status();
    // Concurrent branches: neither site sees the other's updates until the
    // final merge.
    if (absl::Status s = UpdateEveryOther(**b, "UPDATE t SET b = ?2 WHERE id = ?1", 1, kBlameRows, 0, false);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = UpdateEveryOther(**a, "UPDATE t SET c = ?2 WHERE id = ?1", 1, kBlameRows, 1, true);
        !s.ok()) {
      return s;
    }
    auto b_bundle = ExportBundle(**b);
    if (!b_bundle.ok()) return b_bundle.status();
    if (auto s = ApplyBundle(**a, *b_bundle, &events); !s.ok()) return s.status();
  }  // both connections close: the extension lets go of both logs
  auto history = engine::HistoryDb::Open(a_path);
  if (!history.ok()) return history.status();
  bl.history = *std::move(history);
  auto head = bl.history->Resolve("head");
  if (!head.ok()) return head.status();
  bl.head = *std::move(head);
  auto count = CountLog(bl.history->store());
  if (!count.ok()) return count.status();
  bl.count = *count;
  bl.setup_s = sw.Seconds();
  return absl::OkStatus();
}

const BlameLog& TheBlameLog() {
  static BlameLog* made = nullptr;
  if (made == nullptr) {
    auto bl = std::make_unique<BlameLog>();
    bl->status = MakeBlameLog(*bl);
    made = bl.get();
    Fixtures().push_back(std::move(bl));
  }
  return *made;
}

// A point SELECT of row `id`, on a statement prepared once.
absl::Status SelectRow(sqlite3* db, sqlite3_stmt* stmt, int64_t id, int64_t* sink) {
  sqlite3_bind_int64(stmt, 1, id);
  if (sqlite3_step(stmt) != SQLITE_ROW) return SqliteError(db, "SELECT a, b, c FROM t WHERE id = ?1");
  *sink += sqlite3_column_bytes(stmt, 0) + sqlite3_column_int64(stmt, 1) +
           static_cast<int64_t>(sqlite3_column_double(stmt, 2));
  sqlite3_reset(stmt);
  return absl::OkStatus();
}

// What blame must say of row `id` (see the log's making above).
absl::Status CheckBlame(const engine::RowBlame& blame, int64_t id, const log::SiteId& site_a) {
  if (!blame.exists || blame.cells.size() != 3) {
    return absl::InternalError(absl::StrCat("blame of row ", id, ": exists=", blame.exists, ", ",
                                            blame.cells.size(), " cells; expected a live row of 3"));
  }
  for (const engine::CellBlame& c : blame.cells) {
    if (!c.written_by) return absl::InternalError(absl::StrCat("blame of row ", id, ": no writer for ", c.column));
    const bool by_a = c.written_by->site == site_a;
    const bool want_a = !(c.column == "b" && id % 2 == 0);
    if (by_a != want_a) {
      return absl::InternalError(absl::StrCat("blame of row ", id, ": column ", c.column, " written by ",
                                              by_a ? "site A" : "another site", ", expected ",
                                              want_a ? "site A" : "site B"));
    }
  }
  return absl::OkStatus();
}

// Blames random rows of `t` beside a point SELECT of the same rows, taking
// turns at going first, and keeps the totals: the timing both blame
// benchmarks share.
class BlameBesideSelect {
 public:
  BlameBesideSelect(sqlite3* db, const log::LogStore& store, int64_t max_id, uint64_t seed, int per_iteration)
      : db_(db), store_(store), rng_(seed), pick_(1, max_id), ids_(per_iteration), pks_(per_iteration) {}
  ~BlameBesideSelect() { sqlite3_finalize(select_); }
  BlameBesideSelect(const BlameBesideSelect&) = delete;
  BlameBesideSelect& operator=(const BlameBesideSelect&) = delete;

  absl::Status Prepare() {
    if (sqlite3_prepare_v2(db_, "SELECT a, b, c FROM t WHERE id = ?1", -1, &select_, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "prepare SELECT");
    }
    return absl::OkStatus();
  }

  // One iteration: picks the rows, then times the blames and the SELECTs.
  absl::Status Run() {
    for (size_t i = 0; i < ids_.size(); ++i) {
      ids_[i] = pick_(rng_);
      pks_[i] = PackIntPk(ids_[i]);
    }
    results_.clear();
    absl::Status st;
    for (int turn = 0; turn < 2 && st.ok(); ++turn) {
      if ((turn == 0) == (iterations_ % 2 == 0)) {
        Stopwatch sw;
        for (const std::string& pk : pks_) results_.push_back(engine::BlameRow(db_, store_, "t", pk));
        this_blame_ = sw.Seconds();
      } else {
        Stopwatch sw;
        for (size_t i = 0; i < ids_.size() && st.ok(); ++i) st = SelectRow(db_, select_, ids_[i], &sink_);
        this_select_ = sw.Seconds();
      }
    }
    return st;
  }
  const std::vector<absl::StatusOr<engine::RowBlame>>& results() const { return results_; }
  const std::vector<int64_t>& ids() const { return ids_; }

  // Adds the iteration, once its blames were checked, and gives its time
  // per blame.
  double Count() {
    blame_s_ += this_blame_;
    select_s_ += this_select_;
    blames_ += static_cast<int64_t>(ids_.size());
    ++iterations_;
    return this_blame_ / static_cast<double>(ids_.size());
  }

  // The counters both benchmarks report; false when nothing was measured.
  bool Report(benchmark::State& state, uint64_t seed) const {
    benchmark::DoNotOptimize(sink_);
    if (blames_ == 0 || blame_s_ <= 0 || select_s_ <= 0) return false;
    const double n = static_cast<double>(blames_);
    state.SetLabel(absl::StrCat("seed=", seed));
    state.counters["ns_per_blame"] = blame_s_ * 1e9 / n;
    state.counters["blame_ms"] = blame_s_ * 1e3 / n;
    state.counters["select_ns"] = select_s_ * 1e9 / n;
    state.counters["x_select"] = blame_s_ / select_s_;
    state.counters["goal_ms"] = kGoalBlameMs;
    state.counters["within_goal"] = blame_s_ * 1e3 / n < kGoalBlameMs ? 1 : 0;
    return true;
  }

 private:
  sqlite3* db_;
  const log::LogStore& store_;
  sqlite3_stmt* select_ = nullptr;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<int64_t> pick_;
  std::vector<int64_t> ids_;
  std::vector<std::string> pks_;
  std::vector<absl::StatusOr<engine::RowBlame>> results_;
  double this_blame_ = 0, this_select_ = 0, blame_s_ = 0, select_s_ = 0;
  int64_t blames_ = 0, iterations_ = 0, sink_ = 0;
};

void BM_BlameRow(benchmark::State& state) {
  const BlameLog& bl = TheBlameLog();
  if (!OkOrSkip(state, bl.status, "making the 1,000,000-op log")) return;
  const uint64_t seed = Seed();
  BlameBesideSelect timer(bl.history->db(), bl.history->store(), kBlameRows, seed, kBlamesPerIteration);
  if (!OkOrSkip(state, timer.Prepare(), "select")) return;
  for (auto _ : state) {
    if (!OkOrSkip(state, timer.Run(), "SELECT")) break;
    absl::Status st;
    for (size_t i = 0; i < timer.ids().size() && st.ok(); ++i) {
      const auto& r = timer.results()[i];
      st = r.ok() ? CheckBlame(*r, timer.ids()[i], bl.history->site()) : r.status();
    }
    if (!OkOrSkip(state, st, "BlameRow")) break;
    state.SetIterationTime(timer.Count());
  }
  if (!timer.Report(state, seed)) return;
  state.counters["log_ops"] = static_cast<double>(bl.count.ops);
  state.counters["log_events"] = static_cast<double>(bl.count.events);
  state.counters["setup_s"] = bl.setup_s;
}

void BM_RowHistory(benchmark::State& state) {
  const BlameLog& bl = TheBlameLog();
  if (!OkOrSkip(state, bl.status, "making the 1,000,000-op log")) return;
  sqlite3* db = bl.history->db();
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT a, b, c FROM t WHERE id = ?1", -1, &select, nullptr) != SQLITE_OK) {
    OkOrSkip(state, SqliteError(db, "prepare SELECT"), "select");
    return;
  }
  const uint64_t seed = Seed() + 1;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(1, kBlameRows);
  double history_s = 0, scan_s = 0, select_s = 0;
  uint64_t versions = 0;
  int64_t iterations = 0, sink = 0;
  for (auto _ : state) {
    const int64_t id = pick(rng);
    double this_history = 0, this_scan = 0;
    absl::Status st;
    for (int turn = 0; turn < 2 && st.ok(); ++turn) {
      if ((turn == 0) == (iterations % 2 == 0)) {
        Stopwatch sw;
        auto h = engine::RowHistory(bl.history->store(), *bl.head, "t", PackIntPk(id), bl.history->Options());
        this_history = sw.Seconds();
        if (!h.ok()) {
          st = h.status();
        } else if (h->empty()) {
          st = absl::InternalError(absl::StrCat("RowHistory of row ", id, " is empty"));
        } else {
          versions += h->size();
        }
      } else {
        Stopwatch sw;
        uint64_t bytes = 0;
        st = bl.history->store().ForEach([&bytes](const log::StoredEvent& e) {
          bytes += e.bytes.size();
          return true;
        });
        this_scan = sw.Seconds();
        sink += static_cast<int64_t>(bytes);
      }
    }
    if (!OkOrSkip(state, st, "RowHistory / log scan")) break;
    Stopwatch sw;
    st = SelectRow(db, select, id, &sink);
    select_s += sw.Seconds();
    if (!OkOrSkip(state, st, "SELECT")) break;
    history_s += this_history;
    scan_s += this_scan;
    ++iterations;
    state.SetIterationTime(this_history);
  }
  sqlite3_finalize(select);
  benchmark::DoNotOptimize(sink);
  if (iterations == 0 || history_s <= 0 || scan_s <= 0 || select_s <= 0) return;
  const double n = static_cast<double>(iterations);
  state.SetLabel(absl::StrCat("seed=", seed));
  state.counters["history_ms"] = history_s * 1e3 / n;
  state.counters["versions"] = static_cast<double>(versions) / n;
  state.counters["scan_ms"] = scan_s * 1e3 / n;
  state.counters["x_log_scan"] = history_s / scan_s;
  state.counters["x_select"] = history_s / select_s;
  state.counters["log_ops"] = static_cast<double>(bl.count.ops);
}

// --- BM_BlameRowInHugeEvent ------------------------------------------------

struct HugeEventLog : Fixture {
  absl::Status status = absl::UnknownError("not made");
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<engine::HistoryDb> history;  // closes before `dir` goes
  std::vector<log::Hash> members;              // the group, in member order
  uint64_t largest_member_bytes = 0;
  double setup_s = 0;
};

absl::Status MakeHugeEventLog(HugeEventLog& hl) {
  Stopwatch sw;
  hl.dir = std::make_unique<TempDir>("history-huge-event");
  const std::string path = hl.dir->Sub("a.db");
  {
    auto a = Db::Open(path, /*replicated=*/true);
    if (!a.ok()) return a.status();
    std::vector<Row> rows;
    rows.reserve(static_cast<size_t>(kHugeRows));
    for (int64_t id = 1; id <= kHugeRows; ++id) rows.push_back(RowFor(id));
    if (absl::Status s = InsertRows(**a, rows); !s.ok()) return s;
  }  // the extension lets go of the log
  auto history = engine::HistoryDb::Open(path);
  if (!history.ok()) return history.status();
  hl.history = *std::move(history);
  absl::Status fault;
  absl::Status walk = hl.history->store().ForEach([&](const log::StoredEvent& stored) {
    absl::StatusOr<log::Event> event = stored.Decode();
    if (!event.ok()) {
      fault = event.status();
      return false;
    }
    if (event->group.grouped()) {
      hl.members.push_back(stored.hash);
      hl.largest_member_bytes = std::max<uint64_t>(hl.largest_member_bytes, stored.bytes.size());
    }
    return true;
  });
  if (!fault.ok()) return fault;
  if (!walk.ok()) return walk;
  if (hl.members.size() < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "inserting ", kHugeRows, " rows in one transaction made ", hl.members.size(),
        " grouped events, not a group of several: crlog-max-event-bytes is larger than this bench assumes"));
  }
  hl.setup_s = sw.Seconds();
  return absl::OkStatus();
}

const HugeEventLog& TheHugeEventLog() {
  static HugeEventLog* made = nullptr;
  if (made == nullptr) {
    auto hl = std::make_unique<HugeEventLog>();
    hl->status = MakeHugeEventLog(*hl);
    made = hl.get();
    Fixtures().push_back(std::move(hl));
  }
  return *made;
}

// What blame must say of row `id` of the huge transaction; `member` gets
// the index of the group member that wrote it.
absl::Status CheckHugeBlame(const engine::RowBlame& blame, int64_t id, const HugeEventLog& hl, size_t* member) {
  if (!blame.exists || blame.cells.size() != 3) {
    return absl::InternalError(absl::StrCat("blame of row ", id, ": exists=", blame.exists, ", ",
                                            blame.cells.size(), " cells; expected a live row of 3"));
  }
  for (const engine::CellBlame& c : blame.cells) {
    if (!c.written_by) return absl::InternalError(absl::StrCat("blame of row ", id, ": no writer for ", c.column));
    if (c.written_by->site != hl.history->site()) {
      return absl::InternalError(absl::StrCat("blame of row ", id, ": column ", c.column,
                                              " written by another site than A, the only writer"));
    }
    auto it = std::find(hl.members.begin(), hl.members.end(), c.written_by->event);
    if (it == hl.members.end()) {
      return absl::InternalError(absl::StrCat("blame of row ", id, ": column ", c.column, " written by event ",
                                              log::ShortHex(c.written_by->event),
                                              ", not a member of the huge transaction's group"));
    }
    *member = static_cast<size_t>(it - hl.members.begin());
  }
  return absl::OkStatus();
}

void BM_BlameRowInHugeEvent(benchmark::State& state) {
  const HugeEventLog& hl = TheHugeEventLog();
  if (!OkOrSkip(state, hl.status, "making the 500,000-row transaction")) return;
  const uint64_t seed = Seed() + 2;
  BlameBesideSelect timer(hl.history->db(), hl.history->store(), kHugeRows, seed, kHugeBlamesPerIteration);
  if (!OkOrSkip(state, timer.Prepare(), "select")) return;
  std::vector<bool> hit(hl.members.size(), false);
  for (auto _ : state) {
    if (!OkOrSkip(state, timer.Run(), "SELECT")) break;
    absl::Status st;
    for (size_t i = 0; i < timer.ids().size() && st.ok(); ++i) {
      const auto& r = timer.results()[i];
      size_t member = 0;
      st = r.ok() ? CheckHugeBlame(*r, timer.ids()[i], hl, &member) : r.status();
      if (st.ok()) hit[member] = true;
    }
    if (!OkOrSkip(state, st, "BlameRow")) break;
    state.SetIterationTime(timer.Count());
  }
  if (!timer.Report(state, seed)) return;
  state.counters["rows"] = static_cast<double>(kHugeRows);
  state.counters["group_members"] = static_cast<double>(hl.members.size());
  state.counters["member_mib"] = static_cast<double>(hl.largest_member_bytes) / (1024.0 * 1024.0);
  state.counters["members_hit"] = static_cast<double>(std::count(hit.begin(), hit.end(), true));
  state.counters["setup_s"] = hl.setup_s;
}

// --- registration -----------------------------------------------------------

int RegisterAll() {
  int64_t rows = 100'000;
  if (const char* env = std::getenv("CRLOG_HISTORY_ROWS"); env != nullptr && *env != '\0') {
    if (!absl::SimpleAtoi(env, &rows) || rows <= 0) {
      std::fprintf(stderr, "crlog_history_bench: CRLOG_HISTORY_ROWS=%s is not a row count\n", env);
      std::exit(2);
    }
  }
  benchmark::RegisterBenchmark("BM_Replay", BM_Replay)
      ->Arg(rows)
      ->Iterations(5)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_BlameRow", BM_BlameRow)
      ->Iterations(10)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_RowHistory", BM_RowHistory)
      ->Iterations(5)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_BlameRowInHugeEvent", BM_BlameRowInHugeEvent)
      ->Iterations(10)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  return 0;
}
const int kRegistered = RegisterAll();

}  // namespace
}  // namespace crlog::bench

// Google Benchmark's main, then the fixtures closed (logs first) so their
// scratch directories are removed before exit, not left to static
// destruction.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  crlog::bench::Fixtures().clear();
  benchmark::Shutdown();
  return 0;
}
