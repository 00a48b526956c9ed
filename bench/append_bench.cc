// Log append, batched and durable, each beside bare LMDB writing the same
// bytes (DESIGN.md "Budgets": batched >= 1,000,000 ops a second with
// hashing; durable commits reported beside LMDB's bare durable commit).
//
// An op is one row write: a row of (id INTEGER PRIMARY KEY NOT NULL, a TEXT,
// b INTEGER, c REAL) inserted with its three cells. cells_per_s counts the
// cell ops (Event::CountOps) for readers who count those instead.
#include <cstdint>
#include <memory>

#include "bench/bench_util.h"

namespace crlog::bench {
namespace {

// Ops appended per LMDB transaction in the batched suite.
constexpr uint32_t kOpsPerBatch = 100'000;
constexpr uint32_t kCellsPerInsertRow = 3;

// Batched: many events in one LMDB transaction through
// LogStore::Append(span), no sync; the crlog time includes building the
// rows, EncodeEvent (canonical bytes + SHA-256) and the append with its
// checks and indexes. Baselines, same bytes, same iteration:
//   base_*      bare LMDB, one transaction, MDB_APPEND of position -> id+bytes
//   base_idx_*  the same plus the by_hash index put (what any log keyed by
//               position and found by hash must do)
void BM_AppendBatched(benchmark::State& state) {
  const uint32_t ops_per_event = static_cast<uint32_t>(state.range(0));
  const uint32_t events_per_batch = kOpsPerBatch / ops_per_event;
  TempDir dir("append");
  std::unique_ptr<log::LogStore> store = OpenStoreOrSkip(state, dir.Sub("crlog"));
  if (store == nullptr) return;
  absl::StatusOr<std::unique_ptr<RawLmdb>> raw = RawLmdb::Open(dir.Sub("raw"), /*sync=*/false);
  if (!OkOrSkip(state, raw.status(), "raw lmdb")) return;
  absl::StatusOr<std::unique_ptr<RawLmdb>> raw_idx =
      RawLmdb::Open(dir.Sub("raw_idx"), /*sync=*/false);
  if (!OkOrSkip(state, raw_idx.status(), "raw lmdb")) return;

  Chain chain(SiteNumber(1));
  EncodedBatch batch;
  VsBaseline vs;
  double encode_s = 0, store_s = 0, base_idx_s = 0;
  uint64_t ops = 0, events = 0, bytes = 0;
  int64_t next_id = 1;
  for (auto _ : state) {
    batch.Clear();
    const std::vector<PreparedRow> rows = PrepareRows(next_id, kOpsPerBatch);
    next_id += kOpsPerBatch;
    Stopwatch sw;
    bool ok = true;
    for (uint32_t i = 0; i < events_per_batch && ok; ++i) {
      absl::StatusOr<log::EncodedEvent> e = chain.NextInsert(
          absl::MakeConstSpan(rows).subspan(size_t{i} * ops_per_event, ops_per_event));
      ok = OkOrSkip(state, e.status(), "EncodeEvent");
      if (ok) batch.Add(std::move(*e));
    }
    if (!ok) break;
    const double t_encode = sw.Seconds();
    sw.Restart();
    absl::StatusOr<std::vector<log::AppendResult>> appended =
        store->Append(batch.bytes, log::Durability::kNoSync);
    const double t_store = sw.Seconds();
    if (!OkOrSkip(state, appended.status(), "LogStore::Append")) break;
    state.SetIterationTime(t_encode + t_store);
    encode_s += t_encode;
    store_s += t_store;
    vs.crlog_s += t_encode + t_store;

    sw.Restart();
    absl::Status st = (*raw)->Append(batch.hashes, batch.bytes, /*index=*/false);
    vs.base_s += sw.Seconds();
    if (!OkOrSkip(state, st, "raw append")) break;
    sw.Restart();
    st = (*raw_idx)->Append(batch.hashes, batch.bytes, /*index=*/true);
    base_idx_s += sw.Seconds();
    if (!OkOrSkip(state, st, "raw append with index")) break;

    ops += uint64_t{events_per_batch} * ops_per_event;
    events += events_per_batch;
    bytes += batch.total_bytes;
  }
  if (ops == 0) return;
  const double n = static_cast<double>(ops);
  state.counters["ops_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["cells_per_s"] =
      benchmark::Counter(n * kCellsPerInsertRow, benchmark::Counter::kIsRate);
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["event_B_per_op"] = static_cast<double>(bytes) / n;
  state.counters["encode_ns_per_op"] = encode_s * 1e9 / n;
  state.counters["store_ns_per_op"] = store_s * 1e9 / n;
  state.counters["base_ns_per_op"] = vs.base_s * 1e9 / n;
  state.counters["base_idx_ns_per_op"] = base_idx_s * 1e9 / n;
  state.counters["x_base_idx"] = vs.crlog_s / base_idx_s;
  vs.Report(state, n, "base_ops_per_s");
}
BENCHMARK(BM_AppendBatched)
    ->ArgName("ops_per_event")
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Arg(10'000)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Durable: one event per LMDB transaction, Durability::kSync, encoding
// included; beside a bare LMDB transaction (begin, one MDB_APPEND put of the
// same bytes, commit) in an environment with sync on.
void BM_AppendDurable(benchmark::State& state) {
  const uint32_t ops_per_event = static_cast<uint32_t>(state.range(0));
  TempDir dir("durable");
  std::unique_ptr<log::LogStore> store = OpenStoreOrSkip(state, dir.Sub("crlog"));
  if (store == nullptr) return;
  absl::StatusOr<std::unique_ptr<RawLmdb>> raw = RawLmdb::Open(dir.Sub("raw"), /*sync=*/true);
  if (!OkOrSkip(state, raw.status(), "raw lmdb")) return;

  Chain chain(SiteNumber(2));
  VsBaseline vs;
  uint64_t commits = 0;
  int64_t next_id = 1;
  for (auto _ : state) {
    const std::vector<PreparedRow> rows = PrepareRows(next_id, ops_per_event);
    next_id += ops_per_event;
    Stopwatch sw;
    absl::StatusOr<log::EncodedEvent> e = chain.NextInsert(rows);
    if (!OkOrSkip(state, e.status(), "EncodeEvent")) break;
    absl::StatusOr<log::AppendResult> appended = store->Append(e->bytes, log::Durability::kSync);
    const double t = sw.Seconds();
    if (!OkOrSkip(state, appended.status(), "LogStore::Append")) break;
    state.SetIterationTime(t);
    vs.crlog_s += t;

    sw.Restart();
    absl::Status st = (*raw)->Append(absl::MakeConstSpan(&e->hash, 1),
                                    absl::MakeConstSpan(&e->bytes, 1), /*index=*/false);
    vs.base_s += sw.Seconds();
    if (!OkOrSkip(state, st, "raw durable commit")) break;
    ++commits;
  }
  if (commits == 0) return;
  const double n = static_cast<double>(commits);
  state.counters["commits_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["ops_per_s"] = benchmark::Counter(n * ops_per_event, benchmark::Counter::kIsRate);
  vs.Report(state, n, "base_commits_per_s");
}
BENCHMARK(BM_AppendDurable)
    ->ArgName("ops_per_event")
    ->Arg(1)
    ->Arg(100)
    ->Iterations(400)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace crlog::bench
