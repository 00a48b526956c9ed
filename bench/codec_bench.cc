// Where an append's time goes, per event: building the rows (RowsWriter),
// EncodeEvent (Cap'n Proto build, canonicalize, SHA-256), DecodeEvent (what
// Append and Verify do to every event) and DecodeEventHeader; beside
// SHA-256 of the same canonical bytes straight through OpenSSL.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace crlog::bench {
namespace {

// SHA-256: crlog's Sha256 beside OpenSSL EVP with the digest and context
// fetched once.
void BM_Sha256(benchmark::State& state) {
  const std::string msg(static_cast<size_t>(state.range(0)), 'x');
  // About a mebibyte hashed per iteration, whatever the message size.
  const int kPerIteration = std::max<int>(1, (1 << 20) / static_cast<int>(msg.size()));
  RawSha256 raw;
  VsBaseline vs;
  uint64_t n = 0;
  for (auto _ : state) {
    Stopwatch sw;
    for (int i = 0; i < kPerIteration; ++i) benchmark::DoNotOptimize(log::Sha256(msg));
    const double t = sw.Seconds();
    state.SetIterationTime(t);
    vs.crlog_s += t;
    sw.Restart();
    for (int i = 0; i < kPerIteration; ++i) benchmark::DoNotOptimize(raw.Digest(msg));
    vs.base_s += sw.Seconds();
    n += kPerIteration;
  }
  state.counters["ns_per_hash"] = vs.crlog_s * 1e9 / static_cast<double>(n);
  state.counters["MB_per_s"] = benchmark::Counter(
      static_cast<double>(n) * static_cast<double>(msg.size()) / 1e6, benchmark::Counter::kIsRate);
  vs.Report(state, static_cast<double>(n), "base_hashes_per_s");
}
BENCHMARK(BM_Sha256)
    ->ArgName("bytes")
    ->Arg(128)
    ->Arg(4096)
    ->Arg(1 << 20)
    ->MinTime(0.1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// Time is EncodeEvent alone; x_baseline is EncodeEvent over raw SHA-256 of
// its output.
void BM_EventCodec(benchmark::State& state) {
  const uint32_t ops_per_event = static_cast<uint32_t>(state.range(0));
  const uint32_t events_per_iteration = std::max<uint32_t>(1, 10'000 / ops_per_event);
  const log::SiteId site = SiteNumber(5);
  RawSha256 raw;
  VsBaseline vs;
  double rows_s = 0, decode_s = 0, header_s = 0;
  uint64_t events = 0, bytes = 0;
  std::vector<log::Event> pending;
  std::vector<log::EncodedEvent> encoded;
  uint64_t seq = 0;
  log::Hash prev{};
  for (auto _ : state) {
    pending.clear();
    encoded.clear();
    const std::vector<PreparedRow> rows = PrepareRows(
        static_cast<int64_t>(seq * ops_per_event + 1), events_per_iteration * ops_per_event);
    Stopwatch sw;
    for (uint32_t i = 0; i < events_per_iteration; ++i) {
      log::RowsWriter w;
      WriteInsertRows(w, absl::MakeConstSpan(rows).subspan(size_t{i} * ops_per_event,
                                                           ops_per_event));
      pending.push_back(MakeChangeEvent(site, seq + i + 1, seq + i + 1, {prev}, std::move(w)));
    }
    rows_s += sw.Seconds();

    bool ok = true;
    sw.Restart();
    for (log::Event& e : pending) {
      absl::StatusOr<log::EncodedEvent> enc = log::EncodeEvent(std::move(e));
      if (!(ok = OkOrSkip(state, enc.status(), "EncodeEvent"))) break;
      encoded.push_back(std::move(*enc));
    }
    const double t = sw.Seconds();
    if (!ok) break;
    state.SetIterationTime(t);
    vs.crlog_s += t;

    sw.Restart();
    for (const log::EncodedEvent& e : encoded) {
      absl::StatusOr<log::Event> d = log::DecodeEvent(e.bytes);
      if (!(ok = OkOrSkip(state, d.status(), "DecodeEvent"))) break;
      benchmark::DoNotOptimize(d->tables.data());
    }
    decode_s += sw.Seconds();
    if (!ok) break;

    sw.Restart();
    for (const log::EncodedEvent& e : encoded) {
      absl::StatusOr<log::EventHeader> h = log::DecodeEventHeader(e.bytes);
      if (!(ok = OkOrSkip(state, h.status(), "DecodeEventHeader"))) break;
      benchmark::DoNotOptimize(h->seq);
    }
    header_s += sw.Seconds();
    if (!ok) break;

    sw.Restart();
    for (const log::EncodedEvent& e : encoded) benchmark::DoNotOptimize(raw.Digest(e.bytes));
    vs.base_s += sw.Seconds();

    for (const log::EncodedEvent& e : encoded) bytes += e.bytes.size();
    events += encoded.size();
    seq += encoded.size();
  }
  if (events == 0) return;
  const double n = static_cast<double>(events);
  const double ops = n * ops_per_event;
  state.counters["event_B"] = static_cast<double>(bytes) / n;
  state.counters["rows_ns_per_op"] = rows_s * 1e9 / ops;
  state.counters["encode_ns_per_op"] = vs.crlog_s * 1e9 / ops;
  state.counters["decode_ns_per_op"] = decode_s * 1e9 / ops;
  state.counters["header_ns_per_event"] = header_s * 1e9 / n;
  state.counters["sha_ns_per_event"] = vs.base_s * 1e9 / n;
  vs.Report(state, n, "base_events_per_s");
}
BENCHMARK(BM_EventCodec)
    ->ArgName("ops_per_event")
    ->Arg(1)
    ->Arg(100)
    ->Arg(10'000)
    ->MinTime(0.1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace crlog::bench
