// Reading events by id from a 100,000-event two-site log: LogStore::Get and
// GetByPrefix, each beside bare LMDB doing the same lookups on a copy with
// the same layout (by_hash -> position -> id + bytes), one read transaction
// per lookup, bytes copied out.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/two_site_log.h"

namespace crlog::bench {
namespace {

constexpr uint64_t kLogEvents = 100'000;
constexpr int kLookupsPerIteration = 1'000;
// Hex digits of the prefix lookups: the short id people see (ShortHex).
constexpr size_t kPrefixDigits = 12;

// Picks `n` event indexes at random (fixed seed: every run reads the same).
std::vector<uint64_t> RandomIndexes(std::mt19937_64& rng, uint64_t size, int n) {
  std::uniform_int_distribution<uint64_t> pick(0, size - 1);
  std::vector<uint64_t> out(n);
  for (uint64_t& i : out) i = pick(rng);
  return out;
}

void BM_GetByHash(benchmark::State& state) {
  absl::StatusOr<const TwoSiteLog*> log = TwoSiteLog::Get(kLogEvents);
  if (!OkOrSkip(state, log.status(), "building the log")) return;
  const TwoSiteLog& l = **log;
  std::mt19937_64 rng(42);
  VsBaseline vs;
  uint64_t lookups = 0, bytes = 0;
  for (auto _ : state) {
    const std::vector<uint64_t> picks = RandomIndexes(rng, l.size(), kLookupsPerIteration);
    Stopwatch sw;
    bool ok = true;
    for (uint64_t i : picks) {
      absl::StatusOr<log::StoredEvent> e = l.store().Get(l.hashes()[i]);
      if (!(ok = OkOrSkip(state, e.status(), "LogStore::Get"))) break;
      bytes += e->bytes.size();
      benchmark::DoNotOptimize(e->bytes.data());
    }
    const double t = sw.Seconds();
    if (!ok) break;
    state.SetIterationTime(t);
    vs.crlog_s += t;

    sw.Restart();
    for (uint64_t i : picks) {
      absl::StatusOr<std::string> e = l.raw().Get(l.hashes()[i]);
      if (!(ok = OkOrSkip(state, e.status(), "raw get"))) break;
      benchmark::DoNotOptimize(e->data());
    }
    vs.base_s += sw.Seconds();
    if (!ok) break;
    lookups += picks.size();
  }
  if (lookups == 0) return;
  const double n = static_cast<double>(lookups);
  state.counters["gets_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["event_B"] = static_cast<double>(bytes) / n;
  vs.Report(state, n, "base_gets_per_s");
}
BENCHMARK(BM_GetByHash)->MinTime(0.3)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_GetByPrefix(benchmark::State& state) {
  absl::StatusOr<const TwoSiteLog*> log = TwoSiteLog::Get(kLogEvents);
  if (!OkOrSkip(state, log.status(), "building the log")) return;
  const TwoSiteLog& l = **log;
  std::mt19937_64 rng(43);
  VsBaseline vs;
  uint64_t lookups = 0;
  for (auto _ : state) {
    const std::vector<uint64_t> picks = RandomIndexes(rng, l.size(), kLookupsPerIteration);
    std::vector<std::string> hex;
    std::vector<std::string_view> raw_prefix;
    hex.reserve(picks.size());
    for (uint64_t i : picks) {
      hex.push_back(log::ToHex(l.hashes()[i]).substr(0, kPrefixDigits));
      raw_prefix.push_back(log::AsBytes(l.hashes()[i]).substr(0, kPrefixDigits / 2));
    }
    Stopwatch sw;
    bool ok = true;
    for (const std::string& h : hex) {
      absl::StatusOr<log::StoredEvent> e = l.store().GetByPrefix(h);
      if (!(ok = OkOrSkip(state, e.status(), "LogStore::GetByPrefix"))) break;
      benchmark::DoNotOptimize(e->bytes.data());
    }
    const double t = sw.Seconds();
    if (!ok) break;
    state.SetIterationTime(t);
    vs.crlog_s += t;

    sw.Restart();
    for (std::string_view p : raw_prefix) {
      absl::StatusOr<std::string> e = l.raw().GetByPrefix(p);
      if (!(ok = OkOrSkip(state, e.status(), "raw get by prefix"))) break;
      benchmark::DoNotOptimize(e->data());
    }
    vs.base_s += sw.Seconds();
    if (!ok) break;
    lookups += picks.size();
  }
  if (lookups == 0) return;
  const double n = static_cast<double>(lookups);
  state.counters["gets_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  vs.Report(state, n, "base_gets_per_s");
}
BENCHMARK(BM_GetByPrefix)->MinTime(0.3)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crlog::bench
