// LogStore reads (log/store.h): lookups by id, prefix and (site, seq),
// iteration order, heads, version vectors, next seq, lamport, stats, meta;
// and the shared environment: two stores on one path, reopening.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/store.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::AllInOrder;
using ::crlog::log::testing::Encode;
using ::crlog::log::testing::FakeHash;
using ::crlog::log::testing::History;
using ::crlog::log::testing::ImportEvent;
using ::crlog::log::testing::ShortHexes;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::Snapshot;
using ::crlog::log::testing::Sorted;
using ::crlog::log::testing::StoreSnapshot;
using ::crlog::log::testing::StoreTest;
using ::crlog::log::testing::TempDirTest;

constexpr Durability kNoSync = Durability::kNoSync;

// a1 -> a2 -> a3 on site 1, then a fork: b1 (site 2) and a4 both on a3,
// then a merge m = b2 (site 2) on {a4, b1}.
class StoreReadTest : public StoreTest {
 protected:
  void AppendAll(std::initializer_list<const EncodedEvent*> events) {
    for (const EncodedEvent* e : events) {
      auto r = store_->Append(e->bytes, kNoSync);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }
  History h_;
};

TEST_F(StoreReadTest, GetReturnsTheStoredBytesAndPosition) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  AppendAll({&a1, &a2});
  ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->Get(a2.hash));
  EXPECT_EQ(got.hash, a2.hash);
  EXPECT_EQ(got.bytes, a2.bytes);
  EXPECT_EQ(got.position, 2u);
  ASSERT_OK_AND_ASSIGN(Event e, got.Decode());
  EXPECT_EQ(e.site, Site(1));
  EXPECT_EQ(e.seq, 2u);
  EXPECT_EQ(e.parents, std::vector<Hash>{a1.hash});
}

TEST_F(StoreReadTest, GetOfUnknownIdIsNotFound) {
  EXPECT_CODE(store_->Get(FakeHash(3)), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(bool contains, store_->Contains(FakeHash(3)));
  EXPECT_FALSE(contains);
}

TEST_F(StoreReadTest, ContainsSaysWhetherAnEventIsStored) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  AppendAll({&a1});
  ASSERT_OK_AND_ASSIGN(bool contains, store_->Contains(a1.hash));
  EXPECT_TRUE(contains);
}

TEST_F(StoreReadTest, GetByPrefixFindsTheOneEventItNames) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent b1 = h_.Native(Site(2), {});
  AppendAll({&a1, &b1});
  const std::string hex = ToHex(b1.hash);
  for (size_t n : {size_t{64}, size_t{12}}) {
    SCOPED_TRACE(::testing::Message() << "prefix length " << n);
    ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->GetByPrefix(hex.substr(0, n)));
    EXPECT_EQ(got.hash, b1.hash);
  }
  // The shortest prefix (4 digits) works when it is unique.
  if (ToHex(a1.hash).substr(0, 4) != hex.substr(0, 4)) {
    ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->GetByPrefix(hex.substr(0, 4)));
    EXPECT_EQ(got.hash, b1.hash);
  }
}

TEST_F(StoreReadTest, GetByPrefixMatchingTwoEventsIsInvalidArgument) {
  // Find two imports whose ids share their first 4 hex digits (about 300
  // tries by the birthday bound; deterministic).
  std::map<std::string, EncodedEvent> by_prefix;
  EncodedEvent x, y;
  for (uint64_t salt = 0; salt < 100000; ++salt) {
    EncodedEvent e = Encode(ImportEvent(salt));
    auto [it, inserted] = by_prefix.emplace(ToHex(e.hash).substr(0, 4), e);
    if (!inserted) {
      x = it->second;
      y = e;
      break;
    }
  }
  ASSERT_NE(x.hash, y.hash);
  AppendAll({&x, &y});
  const std::string prefix = ToHex(x.hash).substr(0, 4);
  EXPECT_CODE(store_->GetByPrefix(prefix), absl::StatusCode::kInvalidArgument);
  // A longer prefix that tells them apart finds each.
  size_t n = 4;
  while (ToHex(x.hash).substr(0, n) == ToHex(y.hash).substr(0, n)) ++n;
  ASSERT_OK_AND_ASSIGN(StoredEvent gx, store_->GetByPrefix(ToHex(x.hash).substr(0, n)));
  EXPECT_EQ(gx.hash, x.hash);
  ASSERT_OK_AND_ASSIGN(StoredEvent gy, store_->GetByPrefix(ToHex(y.hash).substr(0, n)));
  EXPECT_EQ(gy.hash, y.hash);
}

TEST_F(StoreReadTest, GetByPrefixMatchingNothingIsNotFound) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  AppendAll({&a1});
  std::string other = ToHex(a1.hash).substr(0, 8);
  other[0] = other[0] == '0' ? '1' : '0';
  EXPECT_CODE(store_->GetByPrefix(other), absl::StatusCode::kNotFound);
  // Past the last stored id.
  EXPECT_CODE(store_->GetByPrefix("ffffffffffff"), absl::StatusCode::kNotFound);
}

TEST_F(StoreReadTest, GetByPrefixShorterThanFourDigitsIsInvalidArgument) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  AppendAll({&a1});
  const std::string hex = ToHex(a1.hash);
  EXPECT_CODE(store_->GetByPrefix(hex.substr(0, 3)), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(store_->GetByPrefix(""), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreReadTest, GetByPrefixLongerThanAnIdIsRefused) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  AppendAll({&a1});
  EXPECT_FALSE(store_->GetByPrefix(ToHex(a1.hash) + "0").ok());
}

TEST_F(StoreReadTest, GetBySiteSeqFindsNativeEvents) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent b1 = h_.Native(Site(2), {a1.hash});
  EncodedEvent i = h_.Import(1);
  AppendAll({&a1, &a2, &b1, &i});
  ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->GetBySiteSeq(Site(1), 2));
  EXPECT_EQ(got.hash, a2.hash);
  ASSERT_OK_AND_ASSIGN(got, store_->GetBySiteSeq(Site(2), 1));
  EXPECT_EQ(got.hash, b1.hash);
  EXPECT_CODE(store_->GetBySiteSeq(Site(1), 3), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->GetBySiteSeq(Site(1), 0), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->GetBySiteSeq(Site(9), 1), absl::StatusCode::kNotFound);
  // Imports belong to no site.
  EXPECT_CODE(store_->GetBySiteSeq(SiteId{}, 0), absl::StatusCode::kNotFound);
}

TEST_F(StoreReadTest, ForEachVisitsInArrivalOrderFromAPosition) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent i = h_.Import(1);
  EncodedEvent b1 = h_.Native(Site(2), {a1.hash, i.hash});
  EncodedEvent a2 = h_.Native(Site(1), {b1.hash});
  AppendAll({&a1, &i, &b1, &a2});
  std::vector<Hash> all = {a1.hash, i.hash, b1.hash, a2.hash};
  EXPECT_EQ(ShortHexes(AllInOrder(*store_)), ShortHexes(all));

  std::vector<Hash> seen;
  std::vector<uint64_t> positions;
  ASSERT_OK(store_->ForEach(
      [&](const StoredEvent& e) {
        seen.push_back(e.hash);
        positions.push_back(e.position);
        return true;
      },
      3));
  EXPECT_EQ(ShortHexes(seen), ShortHexes({b1.hash, a2.hash}));
  EXPECT_EQ(positions, (std::vector<uint64_t>{3, 4}));

  seen.clear();
  ASSERT_OK(store_->ForEach(
      [&](const StoredEvent& e) {
        seen.push_back(e.hash);
        return true;
      },
      5));
  EXPECT_TRUE(seen.empty());
}

TEST_F(StoreReadTest, ForEachStopsWhenTheVisitorSaysSo) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent a3 = h_.Native(Site(1), {a2.hash});
  AppendAll({&a1, &a2, &a3});
  int calls = 0;
  ASSERT_OK(store_->ForEach([&](const StoredEvent&) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
}

TEST_F(StoreReadTest, ForEachNewestFirstVisitsInReverseArrivalOrder) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent b1 = h_.Native(Site(2), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash, b1.hash});
  AppendAll({&a1, &b1, &a2});
  std::vector<Hash> seen;
  std::vector<uint64_t> positions;
  ASSERT_OK(store_->ForEachNewestFirst([&](const StoredEvent& e) {
    seen.push_back(e.hash);
    positions.push_back(e.position);
    return true;
  }));
  EXPECT_EQ(ShortHexes(seen), ShortHexes({a2.hash, b1.hash, a1.hash}));
  EXPECT_EQ(positions, (std::vector<uint64_t>{3, 2, 1}));
  int calls = 0;
  ASSERT_OK(store_->ForEachNewestFirst([&](const StoredEvent&) { return ++calls < 1; }));
  EXPECT_EQ(calls, 1);
}

TEST_F(StoreReadTest, EmptyStoreHasNothingToShow) {
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap, StoreSnapshot{});
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 1u);
}

TEST_F(StoreReadTest, HeadsFollowLinearForkedAndMergedHistories) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent a3 = h_.Native(Site(1), {a2.hash});
  AppendAll({&a1, &a2, &a3});
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({a3.hash}));

  EncodedEvent b1 = h_.Native(Site(2), {a3.hash});
  EncodedEvent a4 = h_.Native(Site(1), {a3.hash});
  AppendAll({&b1, &a4});
  ASSERT_OK_AND_ASSIGN(heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes(Sorted({b1.hash, a4.hash})));

  EncodedEvent b2 = h_.Native(Site(2), {a4.hash, b1.hash});
  AppendAll({&b2});
  ASSERT_OK_AND_ASSIGN(heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({b2.hash}));
}

TEST_F(StoreReadTest, HeadsAreSortedAndIncludeUnreferencedImports) {
  std::vector<Hash> all;
  for (uint64_t salt = 0; salt < 8; ++salt) {
    EncodedEvent e = h_.Import(salt);
    AppendAll({&e});
    all.push_back(e.hash);
  }
  EncodedEvent a1 = h_.Native(Site(1), {all[0], all[1]});
  AppendAll({&a1});
  std::vector<Hash> expected(all.begin() + 2, all.end());
  expected.push_back(a1.hash);
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_TRUE(std::is_sorted(heads.begin(), heads.end()));
  EXPECT_EQ(ShortHexes(heads), ShortHexes(Sorted(expected)));
}

TEST_F(StoreReadTest, VersionVectorHoldsTheHighestSeqPerSite) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent b1 = h_.Native(Site(2), {a1.hash});
  EncodedEvent a3 = h_.Native(Site(1), {a2.hash, b1.hash});
  EncodedEvent i = h_.Import(3);
  AppendAll({&a1, &a2, &b1, &a3, &i});
  ASSERT_OK_AND_ASSIGN(VersionVector vv, store_->GetVersionVector());
  EXPECT_EQ(vv, (VersionVector{{Site(1), 3}, {Site(2), 1}}));
}

TEST_F(StoreReadTest, NextSeqIsOneMoreThanTheSitesLast) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  AppendAll({&a1, &a2});
  ASSERT_OK_AND_ASSIGN(uint64_t n1, store_->NextSeq(Site(1)));
  EXPECT_EQ(n1, 3u);
  ASSERT_OK_AND_ASSIGN(uint64_t n2, store_->NextSeq(Site(2)));
  EXPECT_EQ(n2, 1u);
}

TEST_F(StoreReadTest, LamportAfterIsOneMoreThanTheHighestParent) {
  EncodedEvent a1 = h_.Native(Site(1), {});          // 1
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});   // 2
  EncodedEvent a3 = h_.Native(Site(1), {a2.hash});   // 3
  EncodedEvent b1 = h_.Native(Site(2), {a1.hash});   // 2
  EncodedEvent i = h_.Import(1);                     // 1
  AppendAll({&a1, &a2, &a3, &b1, &i});
  ASSERT_OK_AND_ASSIGN(uint64_t l, store_->LamportAfter({}));
  EXPECT_EQ(l, 1u);
  ASSERT_OK_AND_ASSIGN(l, store_->LamportAfter({a3.hash}));
  EXPECT_EQ(l, 4u);
  ASSERT_OK_AND_ASSIGN(l, store_->LamportAfter({b1.hash, a3.hash}));
  EXPECT_EQ(l, 4u);
  ASSERT_OK_AND_ASSIGN(l, store_->LamportAfter({b1.hash, i.hash}));
  EXPECT_EQ(l, 3u);
  EXPECT_FALSE(store_->LamportAfter({FakeHash(1)}).ok()) << "unknown parent";
}

TEST_F(StoreReadTest, StatsCountEventsPendingAndBytes) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent i = h_.Import(2);
  EncodedEvent a3 = h_.Native(Site(1), {a2.hash, i.hash});
  AppendAll({&a1, &a2, &i});
  ASSERT_OK(store_->AppendPending({a3.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.events, 3u);
  EXPECT_EQ(stats.pending, 1u);
  EXPECT_EQ(stats.event_bytes, a1.bytes.size() + a2.bytes.size() + i.bytes.size());
  EXPECT_GT(stats.file_bytes, stats.event_bytes);
}

TEST_F(StoreReadTest, MetaValuesRoundTripAndPersist) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> none, store_->GetMeta("owner-test"));
  EXPECT_FALSE(none.has_value());
  const std::string binary("\x00\x01\xff", 3);
  ASSERT_OK(store_->PutMeta("owner-test", binary, kNoSync));
  ASSERT_OK(store_->PutMeta("empty", "", kNoSync));
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, store_->GetMeta("owner-test"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, binary);
  ASSERT_OK_AND_ASSIGN(v, store_->GetMeta("empty"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "");
  ASSERT_OK(store_->PutMeta("owner-test", "replaced", kNoSync));
  ASSERT_OK_AND_ASSIGN(v, store_->GetMeta("owner-test"));
  EXPECT_EQ(v.value_or(""), "replaced");
}

TEST_F(StoreReadTest, NewLogRecordsItsFormatVersion) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> v, store_->GetMeta(format::kMetaFormatVersion));
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), 4u);
  uint32_t version = 0;
  for (char c : *v) version = (version << 8) | static_cast<uint8_t>(c);
  EXPECT_EQ(version, format::kFormatVersion);
}

// --- The shared environment ------------------------------------------------

using StoreEnvTest = TempDirTest;

// How many times this process has the log's data file mapped: one per
// MDB_env open on it. LMDB forbids two in one process.
int DataFileMappings(const std::string& log_dir) {
  const std::string data = std::filesystem::canonical(log_dir).string() + "/data.mdb";
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> regions;
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= data.size() && line.compare(line.size() - data.size(), data.size(), data) == 0) {
      regions.insert(line.substr(0, line.find(' ')));
    }
  }
  return static_cast<int>(regions.size());
}

TEST_F(StoreEnvTest, OpeningTheSamePathTwiceSharesWrites) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s1, LogStore::Open(LogPath()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s2, LogStore::Open(LogPath()));
  EXPECT_EQ(DataFileMappings(LogPath()), 1) << "one MDB_env per path per process";
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent a2 = h.Native(Site(1), {a1.hash});
  ASSERT_OK(s1->Append(a1.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoredEvent got, s2->Get(a1.hash));
  EXPECT_EQ(got.bytes, a1.bytes);
  ASSERT_OK(s2->Append(a2.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, s1->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({a2.hash}));
  // Closing one leaves the other working.
  s1.reset();
  EncodedEvent a3 = h.Native(Site(1), {a2.hash});
  ASSERT_OK(s2->Append(a3.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, s2->Stats());
  EXPECT_EQ(stats.events, 3u);
}

TEST_F(StoreEnvTest, AnotherSpellingOfThePathSharesTheEnvironment) {
  std::filesystem::create_directory_symlink(LogPath(), PathIn("link-to-log"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s1, LogStore::Open(LogPath()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s2, LogStore::Open(LogPath() + "/."));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s3,
                       LogStore::Open(PathIn("link-to-log")));
  EXPECT_EQ(DataFileMappings(LogPath()), 1) << "one MDB_env per path per process";
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  ASSERT_OK(s2->Append(a1.bytes, kNoSync));
  ASSERT_OK(s1->Get(a1.hash));
  ASSERT_OK(s3->Get(a1.hash));
  // And the other way round.
  EncodedEvent a2 = h.Native(Site(1), {a1.hash});
  ASSERT_OK(s1->Append(a2.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, s2->Stats());
  EXPECT_EQ(stats.events, 2u);
}

TEST_F(StoreEnvTest, ReopeningAfterCloseSeesEverything) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent b1 = h.Native(Site(2), {a1.hash});
  EncodedEvent i = h.Import(4);
  StoreSnapshot before;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
    ASSERT_OK(s->Append({a1.bytes, b1.bytes, i.bytes}, Durability::kSync));
    ASSERT_OK_AND_ASSIGN(before, Snapshot(*s));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*s));
  EXPECT_EQ(before, after);
  EXPECT_EQ(after.events, 3u);
  ASSERT_OK_AND_ASSIGN(uint64_t next, s->NextSeq(Site(2)));
  EXPECT_EQ(next, 2u);
  ASSERT_OK_AND_ASSIGN(StoredEvent got, s->GetBySiteSeq(Site(2), 1));
  EXPECT_EQ(got.bytes, b1.bytes);
  // Appends continue where they stopped.
  EncodedEvent b2 = h.Native(Site(2), {b1.hash, i.hash});
  ASSERT_OK_AND_ASSIGN(AppendResult r, s->Append(b2.bytes, kNoSync));
  EXPECT_EQ(r.position, 4u);
}

TEST_F(StoreEnvTest, OpenCreatesAMissingDirectory) {
  const std::string path = PathIn("new-log-crlog");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(path));
  EXPECT_TRUE(std::filesystem::is_directory(path));
  ASSERT_OK(s->Append(Encode(ImportEvent(1)).bytes, kNoSync));
}

TEST_F(StoreEnvTest, OpenWithoutCreateRefusesAMissingLog) {
  StoreOptions options;
  options.create_if_missing = false;
  EXPECT_FALSE(LogStore::Open(PathIn("absent"), options).ok());
  EXPECT_FALSE(std::filesystem::exists(PathIn("absent")));
}

TEST_F(StoreEnvTest, ReadOnlyStoreReadsButRefusesWrites) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent a2 = h.Native(Site(1), {a1.hash});
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
    ASSERT_OK(s->Append(a1.bytes, kNoSync));
  }
  StoreOptions ro;
  ro.read_only = true;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath(), ro));
    ASSERT_OK(s->Get(a1.hash));
    EXPECT_FALSE(s->Append(a2.bytes, kNoSync).ok());
    EXPECT_FALSE(s->PutMeta("k", "v", kNoSync).ok());
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> s, LogStore::Open(LogPath()));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, s->Stats());
  EXPECT_EQ(stats.events, 1u);
}

TEST_F(StoreEnvTest, ReadOnlyStoreBesideAWritableOneStillRefusesWrites) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> rw, LogStore::Open(LogPath()));
  StoreOptions ro;
  ro.read_only = true;
  auto s = LogStore::Open(LogPath(), ro);
  if (!s.ok()) GTEST_SKIP() << "read-only beside read-write refused at open: " << s.status();
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EXPECT_FALSE((*s)->Append(a1.bytes, kNoSync).ok());
  ASSERT_OK(rw->Append(a1.bytes, kNoSync));
  EXPECT_OK((*s)->Get(a1.hash));
}

}  // namespace
}  // namespace crlog::log
