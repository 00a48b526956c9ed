// The missing set: LogStore::MissingFor a peer that lacks the newest L
// events of a two-site log (bench/two_site_log.h). DESIGN.md: the cost must
// follow what the peer lacks, not the length of history, so each L runs on
// two history lengths in the same iteration:
//   Time / lacked_per_s     MissingFor on the 100,000-event log
//   short_ms                the same lack on the 10,000-event log
//   x_history               100,000-event time / 10,000-event time (flat ~1)
//   x_baseline              MissingFor / bare LMDB reading those same L
//                           events with a cursor (the floor: the events
//                           have to be read to be sent)
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/two_site_log.h"

namespace crlog::bench {
namespace {

constexpr uint64_t kLongHistory = 100'000;
constexpr uint64_t kShortHistory = 10'000;

// A peer of `log` lacking its newest `lack` events.
struct Peer {
  log::VersionVector vv;
  std::vector<log::Hash> heads;
};
Peer PeerLacking(const TwoSiteLog& log, uint64_t lack) {
  return Peer{log.VersionVectorAt(log.size() - lack), log.HeadsAt(log.size() - lack)};
}

// Runs MissingFor and checks it returned exactly the newest `lack` events.
absl::Status RunMissing(const TwoSiteLog& log, const Peer& peer, uint64_t lack) {
  absl::StatusOr<std::vector<log::StoredEvent>> missing =
      log.store().MissingFor(peer.vv, peer.heads);
  if (!missing.ok()) return missing.status();
  if (missing->size() != lack) {
    return absl::InternalError(absl::StrCat("MissingFor returned ", missing->size(),
                                            " events on a ", log.size(),
                                            "-event log; the peer lacks ", lack));
  }
  if (lack > 0 && missing->front().hash != log.hashes()[log.size() - lack]) {
    return absl::InternalError("MissingFor did not start with the oldest lacked event");
  }
  benchmark::DoNotOptimize(missing->data());
  return absl::OkStatus();
}

void BM_MissingFor(benchmark::State& state) {
  const uint64_t lack = static_cast<uint64_t>(state.range(0));
  absl::StatusOr<const TwoSiteLog*> long_log = TwoSiteLog::Get(kLongHistory);
  if (!OkOrSkip(state, long_log.status(), "building the long log")) return;
  absl::StatusOr<const TwoSiteLog*> short_log = TwoSiteLog::Get(kShortHistory);
  if (!OkOrSkip(state, short_log.status(), "building the short log")) return;
  const Peer long_peer = PeerLacking(**long_log, lack);
  const Peer short_peer = PeerLacking(**short_log, lack);

  VsBaseline vs;
  double short_s = 0;
  uint64_t calls = 0;
  for (auto _ : state) {
    Stopwatch sw;
    absl::Status st = RunMissing(**long_log, long_peer, lack);
    const double t = sw.Seconds();
    if (!OkOrSkip(state, st, "MissingFor (long history)")) break;
    state.SetIterationTime(t);
    vs.crlog_s += t;

    sw.Restart();
    st = RunMissing(**short_log, short_peer, lack);
    short_s += sw.Seconds();
    if (!OkOrSkip(state, st, "MissingFor (short history)")) break;

    sw.Restart();
    absl::StatusOr<std::vector<std::string>> raw =
        (*long_log)->raw().ReadFrom((*long_log)->size() - lack + 1);
    vs.base_s += sw.Seconds();
    if (!OkOrSkip(state, raw.status(), "raw cursor read")) break;
    benchmark::DoNotOptimize(raw->data());
    ++calls;
  }
  if (calls == 0) return;
  const double n = static_cast<double>(calls);
  state.counters["lacked_per_s"] =
      benchmark::Counter(n * static_cast<double>(lack), benchmark::Counter::kIsRate);
  state.counters["us_per_lacked"] = vs.crlog_s * 1e6 / (n * static_cast<double>(lack));
  state.counters["short_ms"] = short_s * 1e3 / n;
  state.counters["x_history"] = vs.crlog_s / short_s;
  vs.Report(state, n * static_cast<double>(lack), "base_lacked_per_s");
}
BENCHMARK(BM_MissingFor)
    ->ArgName("lack")
    ->Arg(1)
    ->Arg(100)
    ->Arg(10'000)
    ->MinTime(0.2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crlog::bench
