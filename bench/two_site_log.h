// A two-site log shared by the read and missing-set suites, built once per
// process per length, with a bare LMDB copy of the same events.
//
// Shape: rounds r = 1, 2, ...; in each round site A and site B each write
// one event (seq r, lamport r) whose parents are both events of round r-1,
// so every round holds two concurrent events and the DAG has two heads
// after every round. Arrival order is a1, b1, a2, b2, ... Each event
// inserts one row.
#ifndef CRLOG_BENCH_TWO_SITE_LOG_H_
#define CRLOG_BENCH_TWO_SITE_LOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/bench_util.h"
#include "log/store.h"

namespace crlog::bench {

class TwoSiteLog {
 public:
  // The log of `events` events, built on first use and kept until exit.
  static absl::StatusOr<const TwoSiteLog*> Get(uint64_t events);
  // Closes every log built by Get and removes its files. Call once, after
  // the last benchmark.
  static void ReleaseAll();

  log::LogStore& store() const { return *store_; }
  const RawLmdb& raw() const { return *raw_; }
  uint64_t size() const { return hashes_.size(); }
  // Ids in arrival order (index 0 is position 1).
  const std::vector<log::Hash>& hashes() const { return hashes_; }

  // What a peer holding exactly the first `have` events in arrival order
  // would send: its version vector and its heads.
  log::VersionVector VersionVectorAt(uint64_t have) const;
  std::vector<log::Hash> HeadsAt(uint64_t have) const;

 private:
  TwoSiteLog() = default;
  static std::map<uint64_t, std::unique_ptr<TwoSiteLog>>& Logs();
  absl::Status Build(uint64_t events);

  // Declared first so that it is destroyed last, after the store closed.
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<log::LogStore> store_;
  std::unique_ptr<RawLmdb> raw_;
  std::vector<log::Hash> hashes_;
};

}  // namespace crlog::bench

#endif  // CRLOG_BENCH_TWO_SITE_LOG_H_
