// Capture: what recording local writes costs, end to end through SQLite with
// the loadable extension (crsqlite.so) loaded, beside the same statements on
// a plain table (DESIGN.md "Budgets": INSERT at most 2x, UPDATE at most 3x).
// For scale, not run here: cr-sqlite 0.16 takes about 18-21x for the insert
// and 27-32x for the update on this kind of machine (DESIGN.md).
//
// Table: t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL);
// crlog's copy is made replicated with crsql_as_crr('t'). Both databases use
// the same PRAGMAs; the name's last part says which:
//   wal_normal   journal_mode=WAL, synchronous=NORMAL (log appends not synced)
//   full         journal_mode=WAL, synchronous=FULL   (log synced per commit)
//
//   BM_Insert100k         100,000 rows in one transaction (prepared INSERT,
//                         bound values, one step per row)
//   BM_UpdateAll          UPDATE t SET b = b + 1 over those 100,000 rows in one
//                         transaction; the rows are inserted before timing.
//                         Also reports the sizes after insert + update.
//   BM_SmallTransactions  1,000 transactions of 100 inserted rows each
//   BM_SingleRowAutocommit  1,000 single-row INSERTs, each its own
//                         (autocommit) transaction: the common app write
//                         (issue 14: goal 1.5x at WAL + NORMAL; under FULL a
//                         durable commit costs two fsyncs, so no goal there)
//   BM_Select100k         SELECT of every column of the 100,000 rows (inserted
//                         before timing): reading a replicated table costs
//                         what reading a plain one does
//
// The floor: a third database, plain SQLite with triggers that hand every
// inserted or updated row to a virtual table whose xUpdate only copies the
// values (CopySink below): what any trigger-based capture must pay before it
// records anything. Reported beside the other two in the same run (x_floor,
// x_over_floor), for the transactional benchmarks.
//
// Each iteration uses fresh database files for both sides; opening, the
// schema and crsql_as_crr are outside the timed region. Timed: the
// statements (every step) and the COMMIT, separately; BEGIN is not timed.
// The two sides run one after the other in every iteration, alternating
// which goes first, so a noisy neighbour slows both alike.
//
// Counters (per iteration, averaged; "base" is the plain table):
//   ns_per_row / base_ns_per_row      statements + COMMIT, per row
//   x_baseline                        crlog time / plain time (the goal)
//   goal_x, within_goal               the budget and whether it is met
//   stmt_ns_per_row / commit_ns_per_row, and base_ the same: the split
//   x_stmt                            crlog statement time / plain statement time
//   x_floor                           floor time / plain time
//   x_over_floor                      crlog time / floor time
//   commit_us_per_txn / base_commit_us_per_txn  (BM_SmallTransactions)
// Sizes (BM_UpdateAll, first iteration, after the insert and the update,
// WAL checkpointed; log counters read after crlog's connection closed):
//   db_B_per_row          crlog's SQLite file (tables + crlog_clock + meta)
//   clock_B_per_row       of which crlog_clock (dbstat), when available
//   log_B_per_row         LMDB pages in use (LogStore::Stats().file_bytes)
//   log_disk_B_per_row    blocks data.mdb takes on disk
//   event_B_per_row       canonical event bytes of the published events
//   plain_db_B_per_row    the plain SQLite file
//   x_plain_size          (db + log) / plain  (budget: under 2)
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/sqlite_bench_util.h"
#include "log/store.h"
#include "util/strings.h"

#ifndef CRLOG_EXTENSION
#error "CRLOG_EXTENSION must name crsqlite.so (bench/CMakeLists.txt defines it)"
#endif

namespace crlog::bench {
namespace {

constexpr int64_t kRows = 100'000;
constexpr int64_t kSmallTxns = 1'000;
constexpr int64_t kSmallTxnRows = kRows / kSmallTxns;  // 100

enum Setting : int64_t { kWalNormal = 0, kFull = 1 };

const char* PragmasFor(int64_t setting) {
  return setting == kFull ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                          : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
}

constexpr char kCreate[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL)";
constexpr char kInsert[] = "INSERT INTO t(id, a, b, c) VALUES (?1, ?2, ?3, ?4)";
constexpr char kUpdate[] = "UPDATE t SET b = b + 1";

// The rows every benchmark inserts, made once, outside any timing.
const std::vector<Row>& Rows() {
  static const std::vector<Row>* rows = [] {
    auto* v = new std::vector<Row>();
    v->reserve(kRows);
    for (int64_t id = 1; id <= kRows; ++id) v->push_back(RowFor(id));
    return v;
  }();
  return *rows;
}

// The floor probe's virtual table: xUpdate copies each row's values and
// forgets them; reads see nothing.
struct CopySink {
  sqlite3_vtab base{};
  std::vector<sqlite3_value*> last;
  ~CopySink() {
    for (sqlite3_value* v : last) sqlite3_value_free(v);
  }
};

int SinkConnect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(id, a, b, c)");
  if (rc != SQLITE_OK) return rc;
  *out = &(new CopySink())->base;
  return SQLITE_OK;
}
int SinkDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<CopySink*>(vtab);
  return SQLITE_OK;
}
int SinkBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1;
  return SQLITE_OK;
}
int SinkOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = new sqlite3_vtab_cursor{};
  return SQLITE_OK;
}
int SinkClose(sqlite3_vtab_cursor* cur) {
  delete cur;
  return SQLITE_OK;
}
int SinkFilter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**) { return SQLITE_OK; }
int SinkNext(sqlite3_vtab_cursor*) { return SQLITE_OK; }
int SinkEof(sqlite3_vtab_cursor*) { return 1; }
int SinkColumn(sqlite3_vtab_cursor*, sqlite3_context*, int) { return SQLITE_OK; }
int SinkRowid(sqlite3_vtab_cursor*, sqlite3_int64* rowid) {
  *rowid = 0;
  return SQLITE_OK;
}
int SinkUpdate(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64* rowid) {
  auto* sink = reinterpret_cast<CopySink*>(vtab);
  for (sqlite3_value* v : sink->last) sqlite3_value_free(v);
  sink->last.clear();
  for (int i = 2; i < argc; ++i) sink->last.push_back(sqlite3_value_dup(argv[i]));
  *rowid = 0;
  return SQLITE_OK;
}

sqlite3_module MakeSinkModule() {
  sqlite3_module m{};
  m.xCreate = SinkConnect;
  m.xConnect = SinkConnect;
  m.xBestIndex = SinkBestIndex;
  m.xDisconnect = SinkDisconnect;
  m.xDestroy = SinkDisconnect;
  m.xOpen = SinkOpen;
  m.xClose = SinkClose;
  m.xFilter = SinkFilter;
  m.xNext = SinkNext;
  m.xEof = SinkEof;
  m.xColumn = SinkColumn;
  m.xRowid = SinkRowid;
  m.xUpdate = SinkUpdate;
  return m;
}
const sqlite3_module kSinkModule = MakeSinkModule();

constexpr char kFloorSchema[] =
    "CREATE VIRTUAL TABLE sink USING copy_sink;"
    "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO sink VALUES (NEW.id, NEW.a, NEW.b, NEW.c); END;"
    "CREATE TRIGGER t_upd AFTER UPDATE ON t BEGIN INSERT INTO sink VALUES (NEW.id, NEW.a, NEW.b, NEW.c); END;";

enum class Side { kPlain, kFloor, kCrlog };

// One benchmark database: plain, the floor probe, or with crlog loaded and t
// replicated.
class BenchDb {
 public:
  static absl::StatusOr<std::unique_ptr<BenchDb>> Open(const std::string& path, int64_t setting, Side side) {
    const bool replicated = side == Side::kCrlog;
    std::unique_ptr<BenchDb> d(new BenchDb());
    d->path_ = path;
    if (sqlite3_open(path.c_str(), &d->db_) != SQLITE_OK) return SqliteError(d->db_, "open");
    if (absl::Status s = d->Exec(PragmasFor(setting)); !s.ok()) return s;
    if (replicated) {
      if (absl::Status s = LoadCrlogExtension(d->db_); !s.ok()) return s;
    }
    if (absl::Status s = d->Exec(kCreate); !s.ok()) return s;
    if (replicated) {
      if (absl::Status s = d->Exec("SELECT crsql_as_crr('t')"); !s.ok()) return s;
    }
    if (side == Side::kFloor) {
      if (sqlite3_create_module_v2(d->db_, "copy_sink", &kSinkModule, nullptr, nullptr) != SQLITE_OK) {
        return SqliteError(d->db_, "create_module copy_sink");
      }
      if (absl::Status s = d->Exec(kFloorSchema); !s.ok()) return s;
    }
    // Prepared after crsql_as_crr, so the capture triggers are compiled in.
    if (sqlite3_prepare_v2(d->db_, kInsert, -1, &d->insert_, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(d->db_, kUpdate, -1, &d->update_, nullptr) != SQLITE_OK) {
      return SqliteError(d->db_, "prepare");
    }
    return d;
  }

  ~BenchDb() { Close(); }

  void Close() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(update_);
    insert_ = update_ = nullptr;
    sqlite3_close(db_);  // the extension's log closes with its last connection
    db_ = nullptr;
  }

  absl::Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      absl::Status s = absl::InternalError(absl::StrCat("sqlite ", sql, ": ", err != nullptr ? err : "?"));
      sqlite3_free(err);
      return s;
    }
    return absl::OkStatus();
  }

  // Statement and COMMIT time of one transaction.
  struct Split {
    double stmt_s = 0;
    double commit_s = 0;
    double total() const { return stmt_s + commit_s; }
    void operator+=(const Split& o) {
      stmt_s += o.stmt_s;
      commit_s += o.commit_s;
    }
  };

  // One step of the prepared INSERT.
  absl::Status InsertRow(const Row& r) {
    sqlite3_bind_int64(insert_, 1, r.id);
    sqlite3_bind_text(insert_, 2, r.a.data(), static_cast<int>(r.a.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 3, r.b);
    sqlite3_bind_double(insert_, 4, r.c);
    const int rc = sqlite3_step(insert_);
    absl::Status s = rc == SQLITE_DONE ? absl::OkStatus() : SqliteError(db_, kInsert);
    sqlite3_reset(insert_);
    return s;
  }

  // Inserts rows [first, first + n) (1-based ids) in one transaction.
  absl::StatusOr<Split> InsertTxn(int64_t first, int64_t n) {
    if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
    const std::vector<Row>& rows = Rows();
    Split split;
    Stopwatch sw;
    for (int64_t id = first; id < first + n; ++id) {
      if (absl::Status s = InsertRow(rows[id - 1]); !s.ok()) {
        Exec("ROLLBACK").IgnoreError();
        return s;
      }
    }
    split.stmt_s = sw.Seconds();
    return Commit(split);
  }

  // Inserts rows [first, first + n), each in its own autocommit
  // transaction: the statement includes its commit, so all is stmt time.
  absl::StatusOr<Split> InsertAutocommit(int64_t first, int64_t n) {
    const std::vector<Row>& rows = Rows();
    Split split;
    Stopwatch sw;
    for (int64_t id = first; id < first + n; ++id) {
      if (absl::Status s = InsertRow(rows[id - 1]); !s.ok()) return s;
    }
    split.stmt_s = sw.Seconds();
    return split;
  }

  // Reads every column of every row of t; fails unless it saw `expected` rows.
  absl::StatusOr<Split> SelectAll(int64_t expected) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT id, a, b, c FROM t", -1, &stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "SELECT");
    }
    Split split;
    Stopwatch sw;
    int64_t seen = 0, sum = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      ++seen;
      sum += sqlite3_column_int64(stmt, 0) + sqlite3_column_bytes(stmt, 1) + sqlite3_column_int64(stmt, 2);
      benchmark::DoNotOptimize(sqlite3_column_double(stmt, 3));
    }
    split.stmt_s = sw.Seconds();
    sqlite3_finalize(stmt);
    benchmark::DoNotOptimize(sum);
    if (rc != SQLITE_DONE) return SqliteError(db_, "SELECT");
    if (seen != expected) return absl::InternalError(absl::StrCat("SELECT saw ", seen, " rows of ", expected));
    return split;
  }

  // UPDATE t SET b = b + 1 in one transaction.
  absl::StatusOr<Split> UpdateAllTxn() {
    if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
    Split split;
    Stopwatch sw;
    const int rc = sqlite3_step(update_);
    sqlite3_reset(update_);
    split.stmt_s = sw.Seconds();
    if (rc != SQLITE_DONE) {
      absl::Status s = SqliteError(db_, kUpdate);
      Exec("ROLLBACK").IgnoreError();
      return s;
    }
    if (sqlite3_changes(db_) != kRows) {
      Exec("ROLLBACK").IgnoreError();
      return absl::InternalError(absl::StrCat("UPDATE changed ", sqlite3_changes(db_), " rows"));
    }
    return Commit(split);
  }

  // Checkpoints the WAL away and returns the file's size (pages in use).
  absl::StatusOr<uint64_t> FileBytes() {
    if (absl::Status s = Exec("PRAGMA wal_checkpoint(TRUNCATE)"); !s.ok()) return s;
    return QueryInt("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
  }

  // Bytes of the pages that hold `table` and its indexes (dbstat), or
  // nullopt when SQLite was built without dbstat.
  std::optional<uint64_t> TableBytes(const char* table) {
    auto q = QueryInt(absl::StrCat("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
                                   "(SELECT name FROM sqlite_schema WHERE tbl_name = '",
                                   table, "')")
                          .c_str());
    if (!q.ok()) return std::nullopt;
    return *q;
  }

  const std::string& path() const { return path_; }

 private:
  BenchDb() = default;

  absl::StatusOr<Split> Commit(Split split) {
    Stopwatch sw;
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      absl::Status s = SqliteError(db_, "COMMIT");
      Exec("ROLLBACK").IgnoreError();
      return s;
    }
    split.commit_s = sw.Seconds();
    return split;
  }

  absl::StatusOr<uint64_t> QueryInt(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return SqliteError(db_, sql);
    uint64_t v = 0;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) v = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return SqliteError(db_, sql);
    return v;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
};

// crlog's and the plain side's times over a benchmark's iterations.
struct Totals {
  BenchDb::Split crlog, base, floor;
  int64_t iterations = 0;
  int64_t txns_per_iteration = 1;

  void Report(benchmark::State& state, double rows_per_iteration, double goal) const {
    if (iterations == 0 || base.total() <= 0) return;
    const double rows = rows_per_iteration * static_cast<double>(iterations);
    const double txns = static_cast<double>(txns_per_iteration * iterations);
    auto ns = [&](double s) { return s * 1e9 / rows; };
    const double x = crlog.total() / base.total();
    state.counters["rows"] = rows_per_iteration;
    state.counters["ns_per_row"] = ns(crlog.total());
    state.counters["base_ns_per_row"] = ns(base.total());
    state.counters["x_baseline"] = x;
    if (goal > 0) {  // 0: no budget (a durable single-row commit is two fsyncs)
      state.counters["goal_x"] = goal;
      state.counters["within_goal"] = x <= goal ? 1 : 0;
    }
    state.counters["stmt_ns_per_row"] = ns(crlog.stmt_s);
    state.counters["commit_ns_per_row"] = ns(crlog.commit_s);
    state.counters["base_stmt_ns_per_row"] = ns(base.stmt_s);
    state.counters["base_commit_ns_per_row"] = ns(base.commit_s);
    state.counters["x_stmt"] = crlog.stmt_s / base.stmt_s;
    if (floor.total() > 0) {
      state.counters["x_floor"] = floor.total() / base.total();
      state.counters["x_over_floor"] = crlog.total() / floor.total();
    }
    if (txns_per_iteration > 1) {
      state.counters["commit_us_per_txn"] = crlog.commit_s * 1e6 / txns;
      state.counters["base_commit_us_per_txn"] = base.commit_s * 1e6 / txns;
    }
    state.SetItemsProcessed(static_cast<int64_t>(rows));
  }
};

// The databases of one iteration; `floor` only when the benchmark asks for
// the floor probe.
struct Pair {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<BenchDb> plain, crlog, floor;
};

absl::StatusOr<Pair> OpenPair(int64_t setting, bool with_floor = false) {
  Pair p;
  p.dir = std::make_unique<TempDir>("capture");
  auto plain = BenchDb::Open(p.dir->Sub("plain.db"), setting, Side::kPlain);
  if (!plain.ok()) return plain.status();
  auto crlog = BenchDb::Open(p.dir->Sub("app.db"), setting, Side::kCrlog);
  if (!crlog.ok()) return crlog.status();
  p.plain = *std::move(plain);
  p.crlog = *std::move(crlog);
  if (with_floor) {
    auto floor = BenchDb::Open(p.dir->Sub("floor.db"), setting, Side::kFloor);
    if (!floor.ok()) return floor.status();
    p.floor = *std::move(floor);
  }
  return p;
}

// Runs `work` on both compared sides, alternating which goes first, then on
// the floor probe when the pair has one, and adds the times to `totals`. Returns false (with the error on `state`) on failure.
template <typename Work>
bool RunBoth(benchmark::State& state, Pair& pair, Totals& totals, Work work) {
  BenchDb::Split c, b;
  for (int side = 0; side < 2; ++side) {
    const bool crlog_turn = (side == 0) == (totals.iterations % 2 == 0);
    auto split = work(crlog_turn ? *pair.crlog : *pair.plain);
    if (!OkOrSkip(state, split.status(), crlog_turn ? "crlog" : "plain")) return false;
    (crlog_turn ? c : b) = *split;
  }
  if (pair.floor != nullptr) {
    // After the two compared sides, so their alternation is as before.
    auto split = work(*pair.floor);
    if (!OkOrSkip(state, split.status(), "floor")) return false;
    totals.floor += *split;
  }
  totals.crlog += c;
  totals.base += b;
  ++totals.iterations;
  state.SetIterationTime(c.total());
  return true;
}

const char* SettingName(int64_t s) { return s == kFull ? "full" : "wal_normal"; }

void BM_Insert100k(benchmark::State& state, int64_t setting) {
  Totals totals;
  for (auto _ : state) {
    auto pair = OpenPair(setting, /*with_floor=*/true);
    if (!OkOrSkip(state, pair.status(), "open")) break;
    if (!RunBoth(state, *pair, totals, [](BenchDb& d) { return d.InsertTxn(1, kRows); })) break;
  }
  totals.Report(state, kRows, 2.0);
}

uint64_t DataMdbDiskBytes(const std::string& log_dir) {
  struct stat st;
  if (stat((log_dir + "/data.mdb").c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Sizes after the insert and the update; closes both databases.
bool ReportSizes(benchmark::State& state, Pair& pair) {
  auto plain_bytes = pair.plain->FileBytes();
  if (!OkOrSkip(state, plain_bytes.status(), "plain size")) return false;
  auto db_bytes = pair.crlog->FileBytes();
  if (!OkOrSkip(state, db_bytes.status(), "crlog db size")) return false;
  std::optional<uint64_t> clock_bytes = pair.crlog->TableBytes("crlog_clock");
  const std::string log_dir = pair.crlog->path() + "-crlog";
  pair.crlog->Close();  // the extension's LMDB env closes; open our own
  pair.plain->Close();
  std::unique_ptr<log::LogStore> store = OpenStoreOrSkip(state, log_dir);
  if (store == nullptr) return false;
  auto stats = store->Stats();
  if (!OkOrSkip(state, stats.status(), "LogStore::Stats")) return false;
  const double rows = kRows;
  const double log_bytes = static_cast<double>(stats->file_bytes);
  state.counters["db_B_per_row"] = static_cast<double>(*db_bytes) / rows;
  if (clock_bytes.has_value()) {
    state.counters["clock_B_per_row"] = static_cast<double>(*clock_bytes) / rows;
  }
  state.counters["log_B_per_row"] = log_bytes / rows;
  state.counters["log_disk_B_per_row"] = static_cast<double>(DataMdbDiskBytes(log_dir)) / rows;
  state.counters["event_B_per_row"] = static_cast<double>(stats->event_bytes) / rows;
  state.counters["log_events"] = static_cast<double>(stats->events);
  state.counters["plain_db_B_per_row"] = static_cast<double>(*plain_bytes) / rows;
  state.counters["x_plain_size"] =
      (static_cast<double>(*db_bytes) + log_bytes) / static_cast<double>(*plain_bytes);
  return true;
}

void BM_UpdateAll(benchmark::State& state, int64_t setting) {
  Totals totals;
  bool sized = false;
  for (auto _ : state) {
    auto pair = OpenPair(setting, /*with_floor=*/true);
    if (!OkOrSkip(state, pair.status(), "open")) break;
    // Untimed: the rows to update.
    for (BenchDb* d : {pair->plain.get(), pair->crlog.get(), pair->floor.get()}) {
      if (!OkOrSkip(state, d->InsertTxn(1, kRows).status(), "insert before update")) return;
    }
    if (!RunBoth(state, *pair, totals, [](BenchDb& d) { return d.UpdateAllTxn(); })) break;
    if (!sized) {
      if (!ReportSizes(state, *pair)) break;
      sized = true;
    }
  }
  totals.Report(state, kRows, 3.0);
}

void BM_SmallTransactions(benchmark::State& state, int64_t setting) {
  Totals totals;
  totals.txns_per_iteration = kSmallTxns;
  for (auto _ : state) {
    auto pair = OpenPair(setting, /*with_floor=*/true);
    if (!OkOrSkip(state, pair.status(), "open")) break;
    auto work = [](BenchDb& d) -> absl::StatusOr<BenchDb::Split> {
      BenchDb::Split sum;
      for (int64_t first = 1; first <= kRows; first += kSmallTxnRows) {
        auto split = d.InsertTxn(first, kSmallTxnRows);
        if (!split.ok()) return split.status();
        sum += *split;
      }
      return sum;
    };
    if (!RunBoth(state, *pair, totals, work)) break;
  }
  totals.Report(state, kRows, 2.0);
}

constexpr int64_t kSingleRowTxns = 1'000;

void BM_SingleRowAutocommit(benchmark::State& state, int64_t setting) {
  // One row a transaction: ns_per_row is the cost of a whole transaction,
  // its commit included (the statement commits it).
  Totals totals;
  for (auto _ : state) {
    auto pair = OpenPair(setting, /*with_floor=*/true);
    if (!OkOrSkip(state, pair.status(), "open")) break;
    if (!RunBoth(state, *pair, totals, [](BenchDb& d) { return d.InsertAutocommit(1, kSingleRowTxns); })) break;
  }
  totals.Report(state, kSingleRowTxns, setting == kFull ? 0 : 1.5);
}

void BM_Select100k(benchmark::State& state, int64_t setting) {
  Totals totals;
  for (auto _ : state) {
    auto pair = OpenPair(setting);
    if (!OkOrSkip(state, pair.status(), "open")) break;
    for (BenchDb* d : {pair->plain.get(), pair->crlog.get()}) {
      if (!OkOrSkip(state, d->InsertTxn(1, kRows).status(), "insert before select")) return;
    }
    if (!RunBoth(state, *pair, totals, [](BenchDb& d) { return d.SelectAll(kRows); })) break;
  }
  totals.Report(state, kRows, 1.1);
}

// Iteration counts keep the whole suite near a minute on two shared cores;
// each iteration is a full 100,000-row run on both sides.
// Names: BM_Insert100k/wal_normal, BM_Insert100k/full, and so on.
int RegisterAll() {
  struct Suite {
    const char* name;
    void (*fn)(benchmark::State&, int64_t);
    int iterations[2];  // wal_normal, full
  };
  // 1,000 durable commits take seconds when the disk is shared (an fsync
  // costs 0.1 to 4 ms here): the full small-transaction case runs once.
  for (const Suite& s : {Suite{"BM_Insert100k", BM_Insert100k, {6, 6}},
                         Suite{"BM_UpdateAll", BM_UpdateAll, {5, 5}},
                         Suite{"BM_SmallTransactions", BM_SmallTransactions, {3, 1}},
                         Suite{"BM_SingleRowAutocommit", BM_SingleRowAutocommit, {5, 1}},
                         Suite{"BM_Select100k", BM_Select100k, {5, 2}}}) {
    for (int64_t setting : {kWalNormal, kFull}) {
      auto fn = s.fn;
      benchmark::RegisterBenchmark(absl::StrCat(s.name, "/", SettingName(setting)).c_str(),
                                   [fn, setting](benchmark::State& state) { fn(state, setting); })
          ->Iterations(s.iterations[setting])
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  return 0;
}
const int kRegistered = RegisterAll();

}  // namespace
}  // namespace crlog::bench
