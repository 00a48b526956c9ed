// Verify over a log of 100,000 ops (one site's chain, events of 1 or 100
// ops), beside bare LMDB reading the same events with a cursor and checking
// each one's SHA-256 against its stored id: the floor under any verify.
#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "log/verify.h"

namespace crlog::bench {
namespace {

constexpr uint64_t kLogOps = 100'000;
constexpr uint64_t kBuildBatchOps = 10'000;

void BM_Verify(benchmark::State& state) {
  const uint32_t ops_per_event = static_cast<uint32_t>(state.range(0));
  const uint64_t events = kLogOps / ops_per_event;
  TempDir dir("verify");
  std::unique_ptr<log::LogStore> store = OpenStoreOrSkip(state, dir.Sub("crlog"));
  if (store == nullptr) return;
  absl::StatusOr<std::unique_ptr<RawLmdb>> raw = RawLmdb::Open(dir.Sub("raw"), false);
  if (!OkOrSkip(state, raw.status(), "raw lmdb")) return;
  Chain chain(SiteNumber(3));
  EncodedBatch batch;
  for (uint64_t i = 0; i < events; ++i) {
    absl::StatusOr<log::EncodedEvent> e =
        chain.NextInsert(PrepareRows(static_cast<int64_t>(i * ops_per_event + 1), ops_per_event));
    if (!OkOrSkip(state, e.status(), "EncodeEvent")) return;
    batch.Add(std::move(*e));
    if (batch.size() * ops_per_event >= kBuildBatchOps || i + 1 == events) {
      if (!OkOrSkip(state, store->Append(batch.bytes, log::Durability::kNoSync).status(),
                    "LogStore::Append")) {
        return;
      }
      if (!OkOrSkip(state, (*raw)->Append(batch.hashes, batch.bytes, false), "raw append")) return;
      batch.Clear();
    }
  }

  VsBaseline vs;
  uint64_t runs = 0, bytes = 0, cell_ops = 0;
  for (auto _ : state) {
    Stopwatch sw;
    absl::StatusOr<log::VerifyReport> report = log::Verify(*store);
    const double t = sw.Seconds();
    if (!OkOrSkip(state, report.status(), "Verify")) break;
    if (report->events != events) {
      OkOrSkip(state,
               absl::InternalError(absl::StrCat("Verify checked ", report->events,
                                                " events; the log holds ", events)),
               "Verify report");
      break;
    }
    state.SetIterationTime(t);
    vs.crlog_s += t;
    bytes = report->bytes;
    cell_ops = report->ops;

    sw.Restart();
    absl::StatusOr<uint64_t> hashed = (*raw)->HashAll();
    vs.base_s += sw.Seconds();
    if (!OkOrSkip(state, hashed.status(), "raw hash-all")) break;
    ++runs;
  }
  if (runs == 0) return;
  const double n = static_cast<double>(runs);
  state.counters["events_per_s"] =
      benchmark::Counter(n * static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["ops_per_s"] =
      benchmark::Counter(n * static_cast<double>(kLogOps), benchmark::Counter::kIsRate);
  state.counters["MB_per_s"] =
      benchmark::Counter(n * static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsRate);
  state.counters["cell_ops_checked"] = static_cast<double>(cell_ops);
  state.counters["log_MB"] = static_cast<double>(bytes) / 1e6;
  vs.Report(state, n * static_cast<double>(events), "base_events_per_s");
}
BENCHMARK(BM_Verify)
    ->ArgName("ops_per_event")
    ->Arg(1)
    ->Arg(100)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crlog::bench
