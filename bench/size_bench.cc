// Size: 100,000 rows inserted, then an UPDATE of one column (b = b + 1) of
// every row, as crlog events and as SQLite session changesets of the same
// transactions on a plain table. DESIGN.md "Budgets": the log is no larger
// than the changesets plus 64 bytes a transaction.
//
// Run with the whole insert in one transaction (one event, the update one
// more), in transactions of 100 rows (1,000 + 1,000 events), and in
// one-row transactions (10,000 rows: 10,000 + 10,000 events), where the
// per-event overhead shows. All sizes are bytes per table row,
// both transactions together unless the name says ins_ or upd_:
//   event_B_per_row       canonical event bytes (what is hashed and sent)
//   changeset_B_per_row   sqlite3session_changeset bytes
//   x_changeset           event bytes / changeset bytes
//   budget_B_per_row      changesets + 64 bytes per transaction
//   event_within_budget   1 when event bytes <= budget
//   lmdb_file_B_per_row   LogStore::Stats().file_bytes (pages in use)
//   file_within_budget    1 when those LMDB bytes <= budget
//   lmdb_disk_B_per_row   blocks the LMDB files take on disk
//   plain_db_B_per_row    the plain SQLite file after both transactions
#define SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_PREUPDATE_HOOK
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"

namespace crlog::bench {
namespace {

constexpr int64_t kRows = 100'000;
constexpr double kBudgetBytesPerTxn = 64;

absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite ", std::string(what), ": ", sqlite3_errmsg(db)));
}

absl::Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db, sql);
  return absl::OkStatus();
}

// A plain SQLite database with the benchmark table and a session per
// transaction; records the changeset bytes of each phase.
class PlainDb {
 public:
  ~PlainDb() { sqlite3_close(db_); }

  absl::Status Open(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) return SqliteError(db_, "open");
    return Exec(db_,
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL);");
  }

  // Inserts rows [first, first + n) in one transaction; returns the
  // transaction's changeset size.
  absl::StatusOr<uint64_t> InsertTxn(int64_t first, int64_t n) {
    return Txn("INSERT INTO t(id, a, b, c) VALUES (?1, ?2, ?3, ?4)", first, n, /*per_row=*/true);
  }
  // UPDATE t SET b = b + 1 over rows [first, first + n) in one transaction.
  absl::StatusOr<uint64_t> UpdateTxn(int64_t first, int64_t n) {
    return Txn("UPDATE t SET b = b + 1 WHERE id >= ?1 AND id < ?2", first, n, /*per_row=*/false);
  }

  absl::StatusOr<uint64_t> FileBytes() {
    absl::Status st = Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st.ok()) return st;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT page_count * page_size FROM pragma_page_count(), "
                           "pragma_page_size()",
                           -1, &stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "prepare page_count");
    }
    uint64_t bytes = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) bytes = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return bytes;
  }

 private:
  absl::StatusOr<uint64_t> Txn(const char* sql, int64_t first, int64_t n, bool per_row) {
    sqlite3_session* session = nullptr;
    if (sqlite3session_create(db_, "main", &session) != SQLITE_OK) {
      return SqliteError(db_, "session_create");
    }
    absl::StatusOr<uint64_t> out = TxnWithSession(session, sql, first, n, per_row);
    sqlite3session_delete(session);
    return out;
  }

  absl::StatusOr<uint64_t> TxnWithSession(sqlite3_session* session, const char* sql,
                                          int64_t first, int64_t n, bool per_row) {
    if (sqlite3session_attach(session, "t") != SQLITE_OK) return SqliteError(db_, "attach");
    absl::Status st = Exec(db_, "BEGIN");
    if (!st.ok()) return st;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "prepare");
    }
    bool ok = true;
    if (per_row) {
      for (int64_t id = first; id < first + n && ok; ++id) {
        const Row r = RowFor(id);
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_text(stmt, 2, r.a.data(), static_cast<int>(r.a.size()), SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 3, r.b);
        sqlite3_bind_double(stmt, 4, r.c);
        ok = sqlite3_step(stmt) == SQLITE_DONE;
        sqlite3_reset(stmt);
      }
    } else {
      sqlite3_bind_int64(stmt, 1, first);
      sqlite3_bind_int64(stmt, 2, first + n);
      ok = sqlite3_step(stmt) == SQLITE_DONE;
    }
    sqlite3_finalize(stmt);
    if (!ok) return SqliteError(db_, sql);
    st = Exec(db_, "COMMIT");
    if (!st.ok()) return st;
    int size = 0;
    void* changeset = nullptr;
    if (sqlite3session_changeset(session, &size, &changeset) != SQLITE_OK) {
      return SqliteError(db_, "session_changeset");
    }
    sqlite3_free(changeset);
    return static_cast<uint64_t>(size);
  }

  sqlite3* db_ = nullptr;
};

void BM_SizeVsSessionChangeset(benchmark::State& state) {
  const int64_t rows_per_txn = state.range(0);
  // One-row transactions run on a tenth of the rows to stay quick; sizes
  // are per row either way.
  const int64_t total_rows = rows_per_txn == 1 ? kRows / 10 : kRows;
  for (auto _ : state) {
    TempDir dir("size");
    PlainDb plain;
    if (!OkOrSkip(state, plain.Open(dir.Sub("plain.db")), "plain db")) break;
    std::unique_ptr<log::LogStore> store = OpenStoreOrSkip(state, dir.Sub("crlog"));
    if (store == nullptr) break;
    Chain chain(SiteNumber(4));
    const std::vector<PreparedRow> prepared = PrepareRows(1, static_cast<uint32_t>(total_rows));

    uint64_t txns = 0, ins_event = 0, upd_event = 0, ins_cs = 0, upd_cs = 0;
    bool ok = true;
    // Phase 1: the inserts; phase 2: the updates.
    for (int phase = 0; phase < 2 && ok; ++phase) {
      for (int64_t first = 1; first <= total_rows && ok; first += rows_per_txn) {
        const int64_t n = std::min(rows_per_txn, total_rows - first + 1);
        absl::StatusOr<uint64_t> cs =
            phase == 0 ? plain.InsertTxn(first, n) : plain.UpdateTxn(first, n);
        if (!(ok = OkOrSkip(state, cs.status(), "plain transaction"))) break;
        const auto slice = absl::MakeConstSpan(prepared).subspan(first - 1, n);
        absl::StatusOr<log::EncodedEvent> e =
            phase == 0 ? chain.NextInsert(slice) : chain.NextUpdate(slice);
        if (!(ok = OkOrSkip(state, e.status(), "EncodeEvent"))) break;
        absl::StatusOr<log::AppendResult> appended =
            store->Append(e->bytes, log::Durability::kNoSync);
        if (!(ok = OkOrSkip(state, appended.status(), "LogStore::Append"))) break;
        (phase == 0 ? ins_event : upd_event) += e->bytes.size();
        (phase == 0 ? ins_cs : upd_cs) += *cs;
        ++txns;
      }
    }
    if (!ok) break;
    absl::StatusOr<log::StoreStats> stats = store->Stats();
    if (!OkOrSkip(state, stats.status(), "LogStore::Stats")) break;
    absl::StatusOr<uint64_t> db_bytes = plain.FileBytes();
    if (!OkOrSkip(state, db_bytes.status(), "plain db size")) break;

    const double rows = static_cast<double>(total_rows);
    const double event = static_cast<double>(ins_event + upd_event);
    const double cs = static_cast<double>(ins_cs + upd_cs);
    const double budget = cs + kBudgetBytesPerTxn * static_cast<double>(txns);
    state.counters["rows"] = rows;
    state.counters["txns"] = static_cast<double>(txns);
    state.counters["event_B_per_row"] = event / rows;
    state.counters["ins_event_B_per_row"] = static_cast<double>(ins_event) / rows;
    state.counters["upd_event_B_per_row"] = static_cast<double>(upd_event) / rows;
    state.counters["changeset_B_per_row"] = cs / rows;
    state.counters["ins_cs_B_per_row"] = static_cast<double>(ins_cs) / rows;
    state.counters["upd_cs_B_per_row"] = static_cast<double>(upd_cs) / rows;
    state.counters["x_changeset"] = event / cs;
    state.counters["budget_B_per_row"] = budget / rows;
    state.counters["event_within_budget"] = event <= budget ? 1 : 0;
    state.counters["file_within_budget"] = static_cast<double>(stats->file_bytes) <= budget ? 1 : 0;
    state.counters["stats_event_B_per_row"] = static_cast<double>(stats->event_bytes) / rows;
    state.counters["lmdb_file_B_per_row"] = static_cast<double>(stats->file_bytes) / rows;
    state.counters["lmdb_disk_B_per_row"] =
        static_cast<double>(DiskBytes(dir.Sub("crlog"))) / rows;
    state.counters["lmdb_file_x_changeset"] = static_cast<double>(stats->file_bytes) / cs;
    state.counters["plain_db_B_per_row"] = static_cast<double>(*db_bytes) / rows;
    state.counters["lmdb_file_x_plain_db"] =
        static_cast<double>(stats->file_bytes) / static_cast<double>(*db_bytes);
  }
}
BENCHMARK(BM_SizeVsSessionChangeset)
    ->ArgName("rows_per_txn")
    ->Arg(kRows)
    ->Arg(100)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crlog::bench
