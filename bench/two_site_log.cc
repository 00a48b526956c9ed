// The shared two-site log (bench/two_site_log.h).
#include "bench/two_site_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace crlog::bench {
namespace {

// Events appended per LMDB transaction while building.
constexpr uint64_t kBuildBatch = 10'000;

log::SiteId SiteOf(uint64_t index) { return SiteNumber(index % 2 == 0 ? 10 : 11); }
uint64_t RoundOf(uint64_t index) { return index / 2 + 1; }

}  // namespace

std::map<uint64_t, std::unique_ptr<TwoSiteLog>>& TwoSiteLog::Logs() {
  // Never destroyed: ReleaseAll closes the logs while LMDB and crlog are
  // still fully alive.
  static auto* logs = new std::map<uint64_t, std::unique_ptr<TwoSiteLog>>();
  return *logs;
}

void TwoSiteLog::ReleaseAll() { Logs().clear(); }

absl::StatusOr<const TwoSiteLog*> TwoSiteLog::Get(uint64_t events) {
  auto& logs = Logs();
  auto it = logs.find(events);
  if (it != logs.end()) return it->second.get();
  std::unique_ptr<TwoSiteLog> log(new TwoSiteLog());
  absl::Status st = log->Build(events);
  if (!st.ok()) return st;
  const TwoSiteLog* out = log.get();
  logs.emplace(events, std::move(log));
  return out;
}

absl::Status TwoSiteLog::Build(uint64_t events) {
  dir_ = std::make_unique<TempDir>(absl::StrCat("twosite", events));
  absl::StatusOr<std::unique_ptr<log::LogStore>> store = log::LogStore::Open(dir_->Sub("crlog"));
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  absl::StatusOr<std::unique_ptr<RawLmdb>> raw = RawLmdb::Open(dir_->Sub("raw"), false);
  if (!raw.ok()) return raw.status();
  raw_ = std::move(*raw);

  hashes_.reserve(events);
  EncodedBatch batch;
  for (uint64_t i = 0; i < events; ++i) {
    const uint64_t round = RoundOf(i);
    std::vector<log::Hash> parents;
    if (round > 1) {
      const uint64_t a_prev = 2 * (round - 2);
      parents.push_back(hashes_[a_prev]);
      parents.push_back(hashes_[a_prev + 1]);
    }
    log::RowsWriter rows;
    WriteInsertRows(rows, PrepareRows(static_cast<int64_t>(i + 1), 1));
    absl::StatusOr<log::EncodedEvent> e = log::EncodeEvent(
        MakeChangeEvent(SiteOf(i), round, round, std::move(parents), std::move(rows)));
    if (!e.ok()) return e.status();
    hashes_.push_back(e->hash);
    batch.Add(std::move(*e));
    if (batch.size() == kBuildBatch || i + 1 == events) {
      absl::StatusOr<std::vector<log::AppendResult>> appended =
          store_->Append(batch.bytes, log::Durability::kNoSync);
      if (!appended.ok()) return appended.status();
      absl::Status st = raw_->Append(batch.hashes, batch.bytes, /*index=*/true);
      if (!st.ok()) return st;
      batch.Clear();
    }
  }
  return absl::OkStatus();
}

log::VersionVector TwoSiteLog::VersionVectorAt(uint64_t have) const {
  // The last two events of the prefix are the latest of each site.
  log::VersionVector vv;
  for (uint64_t i = have >= 2 ? have - 2 : 0; i < have; ++i) {
    uint64_t& seq = vv[SiteOf(i)];
    seq = std::max(seq, RoundOf(i));
  }
  return vv;
}

std::vector<log::Hash> TwoSiteLog::HeadsAt(uint64_t have) const {
  // Every event of round r names both events of round r-1, so the heads of
  // a prefix are exactly the events of its last (possibly half) round.
  std::vector<log::Hash> heads;
  if (have == 0) return heads;
  const uint64_t last_round = RoundOf(have - 1);
  for (uint64_t i = 2 * (last_round - 1); i < have; ++i) heads.push_back(hashes_[i]);
  std::sort(heads.begin(), heads.end());
  return heads;
}

}  // namespace crlog::bench
