// LogStore writes (log/store.h): the seq, parent and lamport rules, no-op
// re-appends, copied-database detection, imports, batches and groups, and
// the pending/publish/discard protocol capture relies on.
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/store.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::ChangeEvent;
using ::crlog::log::testing::Encode;
using ::crlog::log::testing::FakeHash;
using ::crlog::log::testing::History;
using ::crlog::log::testing::ImportEvent;
using ::crlog::log::testing::Lower;
using ::crlog::log::testing::ShortHexes;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::Snapshot;
using ::crlog::log::testing::StatusOf;
using ::crlog::log::testing::StoreSnapshot;
using ::crlog::log::testing::StoreTest;
using ::testing::HasSubstr;

constexpr Durability kNoSync = Durability::kNoSync;

// The error names the event at fault by its id.
#define EXPECT_NAMES_EVENT(status_expr, hash)                                   \
  EXPECT_THAT(std::string(::crlog::log::testing::StatusOf(status_expr).message()), \
              HasSubstr(ShortHex(hash)))

using StoreAppendTest = StoreTest;

TEST_F(StoreAppendTest, FirstEventsOfASiteTakeSeqOneTwoThree) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  EncodedEvent e3 = h.Native(Site(1), {e2.hash});
  for (const EncodedEvent* e : {&e1, &e2, &e3}) {
    ASSERT_OK_AND_ASSIGN(AppendResult r, store_->Append(e->bytes, kNoSync));
    EXPECT_EQ(r.hash, e->hash);
    EXPECT_FALSE(r.already_present);
  }
  ASSERT_OK_AND_ASSIGN(StoredEvent s3, store_->Get(e3.hash));
  EXPECT_EQ(s3.position, 3u);
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 4u);
}

TEST_F(StoreAppendTest, PositionsCountFromOne) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(2), {});
  ASSERT_OK_AND_ASSIGN(AppendResult r1, store_->Append(e1.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(AppendResult r2, store_->Append(e2.bytes, kNoSync));
  EXPECT_EQ(r1.position, 1u);
  EXPECT_EQ(r2.position, 2u);
}

TEST_F(StoreAppendTest, FirstEventOfASiteMustHaveSeqOne) {
  EncodedEvent e2 = Encode(ChangeEvent(Site(1), 2, 1, {}));
  auto r = store_->Append(e2.bytes, kNoSync);
  ASSERT_FALSE(r.ok());
  EXPECT_NAMES_EVENT(r, e2.hash);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 0u);
}

TEST_F(StoreAppendTest, AppendRefusesSeqGap) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  EncodedEvent e3 = h.Native(Site(1), {e1.hash});  // seq 3, skipping e2
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  auto r = store_->Append(e3.bytes, kNoSync);
  ASSERT_FALSE(r.ok());
  EXPECT_NAMES_EVENT(r, e3.hash);
  EXPECT_OK(store_->Append(e2.bytes, kNoSync));
  EXPECT_OK(store_->Append(e3.bytes, kNoSync));
}

TEST_F(StoreAppendTest, SeqRepeatedByTheSameSiteIsRefused) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  ASSERT_OK(store_->Append(e2.bytes, kNoSync));
  // A different event that claims seq 1 again, built on e2.
  EncodedEvent again = Encode(ChangeEvent(Site(1), 1, 3, {e2.hash}, "again"));
  ASSERT_NOT_OK(store_->Append(again.bytes, kNoSync));
}

TEST_F(StoreAppendTest, SitesKeepSeparateSeqChains) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent b1 = h.Native(Site(2), {});
  EncodedEvent a2 = h.Native(Site(1), {a1.hash, b1.hash});
  EncodedEvent b2 = h.Native(Site(2), {a2.hash});
  for (const EncodedEvent* e : {&a1, &b1, &a2, &b2}) ASSERT_OK(store_->Append(e->bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(VersionVector vv, store_->GetVersionVector());
  EXPECT_EQ(vv, (VersionVector{{Site(1), 2}, {Site(2), 2}}));
}

TEST_F(StoreAppendTest, AppendRefusesMissingParent) {
  History h;
  EncodedEvent p = h.Native(Site(1), {});
  EncodedEvent c = h.Native(Site(2), {p.hash});
  auto r = store_->Append(c.bytes, kNoSync);
  EXPECT_EQ(StatusOf(r).code(), absl::StatusCode::kFailedPrecondition) << StatusOf(r);
  EXPECT_NAMES_EVENT(r, c.hash);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 0u);
  EXPECT_TRUE(snap.vv.empty());
}

TEST_F(StoreAppendTest, AppendRefusesParentThatIsOnlyPending) {
  History h;
  EncodedEvent p = h.Native(Site(1), {});
  EncodedEvent c = h.Native(Site(2), {p.hash});
  ASSERT_OK(store_->AppendPending({p.bytes}, kNoSync));
  auto r = store_->Append(c.bytes, kNoSync);
  ASSERT_FALSE(r.ok());
  EXPECT_NAMES_EVENT(r, c.hash);
  ASSERT_OK(store_->Publish({p.hash}, kNoSync));
  EXPECT_OK(store_->Append(c.bytes, kNoSync));
}

TEST_F(StoreAppendTest, LamportMustBeOneMoreThanTheHighestParent) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});                    // lamport 1
  EncodedEvent a2 = h.Native(Site(1), {a1.hash});             // 2
  EncodedEvent b1 = h.Native(Site(2), {});                    // 1
  for (const EncodedEvent* e : {&a1, &a2, &b1}) ASSERT_OK(store_->Append(e->bytes, kNoSync));
  for (uint64_t lamport : {1, 2, 4, 100}) {
    SCOPED_TRACE(::testing::Message() << "lamport " << lamport);
    EncodedEvent bad = Encode(ChangeEvent(Site(2), 2, lamport, {a2.hash, b1.hash}));
    auto r = store_->Append(bad.bytes, kNoSync);
    ASSERT_FALSE(r.ok());
    EXPECT_NAMES_EVENT(r, bad.hash);
  }
  EncodedEvent good = Encode(ChangeEvent(Site(2), 2, 3, {a2.hash, b1.hash}));
  EXPECT_OK(store_->Append(good.bytes, kNoSync));
}

TEST_F(StoreAppendTest, EventWithoutParentsMustHaveLamportOne) {
  EncodedEvent bad = Encode(ChangeEvent(Site(1), 1, 2, {}));
  ASSERT_NOT_OK(store_->Append(bad.bytes, kNoSync));
}

TEST_F(StoreAppendTest, AppendOfExistingEventIsNoOp) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(AppendResult first, store_->Append(e2.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot before, Snapshot(*store_));
  ASSERT_OK_AND_ASSIGN(AppendResult again, store_->Append(e2.bytes, kNoSync));
  EXPECT_TRUE(again.already_present);
  EXPECT_EQ(again.hash, e2.hash);
  EXPECT_EQ(again.position, first.position);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*store_));
  EXPECT_EQ(before, after);
  // An old event re-sent is also a no-op, though its seq is no longer next.
  ASSERT_OK_AND_ASSIGN(AppendResult old, store_->Append(e1.bytes, kNoSync));
  EXPECT_TRUE(old.already_present);
  EXPECT_EQ(old.position, 1u);
}

TEST_F(StoreAppendTest, BatchMixingPresentAndNewEventsAppendsOnlyTheNew) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> rs,
                       store_->Append({e1.bytes, e2.bytes}, kNoSync));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].already_present);
  EXPECT_FALSE(rs[1].already_present);
  EXPECT_EQ(rs[1].position, 2u);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.events, 2u);
}

TEST_F(StoreAppendTest, SameEventTwiceInOneBatchIsStoredOnce) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> rs,
                       store_->Append({e1.bytes, e1.bytes}, kNoSync));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_FALSE(rs[0].already_present);
  EXPECT_TRUE(rs[1].already_present);
  EXPECT_EQ(rs[0].position, rs[1].position);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.events, 1u);
}

TEST_F(StoreAppendTest, TwoEventsWithTheSameSiteAndSeqMeanACopiedDatabase) {
  EncodedEvent mine = Encode(ChangeEvent(Site(1), 1, 1, {}, "written here"));
  EncodedEvent theirs = Encode(ChangeEvent(Site(1), 1, 1, {}, "written by a copy"));
  ASSERT_NE(mine.hash, theirs.hash);
  ASSERT_OK(store_->Append(mine.bytes, kNoSync));
  auto r = store_->Append(theirs.bytes, kNoSync);
  ASSERT_FALSE(r.ok());
  const std::string msg = Lower(std::string(StatusOf(r).message()));
  EXPECT_THAT(msg, HasSubstr("cop")) << "should say the database was copied: " << msg;
  EXPECT_THAT(msg, HasSubstr("site id")) << "should suggest a new site id: " << msg;
  EXPECT_NAMES_EVENT(r, theirs.hash);
  ASSERT_OK_AND_ASSIGN(StoredEvent kept, store_->GetBySiteSeq(Site(1), 1));
  EXPECT_EQ(kept.hash, mine.hash);
}

TEST_F(StoreAppendTest, CopiedDatabaseIsDetectedInsideOneBatch) {
  EncodedEvent a = Encode(ChangeEvent(Site(1), 1, 1, {}, "a"));
  EncodedEvent b = Encode(ChangeEvent(Site(1), 1, 1, {}, "b"));
  auto r = store_->Append({a.bytes, b.bytes}, kNoSync);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Lower(std::string(StatusOf(r).message())), HasSubstr("cop"));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 0u);
}

TEST_F(StoreAppendTest, ImportEventsAreAcceptedWithoutParentsOrSeq) {
  EncodedEvent i1 = Encode(ImportEvent(1));
  EncodedEvent i2 = Encode(ImportEvent(2));
  ASSERT_OK(store_->Append(i1.bytes, kNoSync));
  ASSERT_OK(store_->Append(i2.bytes, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 2u);
  EXPECT_TRUE(snap.vv.empty()) << "imports are outside every site's seq chain";
  EXPECT_EQ(ShortHexes(snap.heads), ShortHexes(testing::Sorted({i1.hash, i2.hash})));
  // The same import again (another replica imported the same changes).
  ASSERT_OK_AND_ASSIGN(AppendResult again, store_->Append(i1.bytes, kNoSync));
  EXPECT_TRUE(again.already_present);
}

TEST_F(StoreAppendTest, NativeEventMayBuildOnAnImport) {
  History h;
  EncodedEvent i = h.Import(7);
  EncodedEvent a1 = h.Native(Site(1), {i.hash});  // lamport 2
  ASSERT_OK(store_->Append({i.bytes, a1.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({a1.hash}));
}

TEST_F(StoreAppendTest, EventsInOneBatchMayHaveParentsEarlierInTheBatch) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent b1 = h.Native(Site(2), {a1.hash});
  EncodedEvent a2 = h.Native(Site(1), {b1.hash});
  EncodedEvent a3 = h.Native(Site(1), {a2.hash});
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> rs,
                       store_->Append({a1.bytes, b1.bytes, a2.bytes, a3.bytes}, kNoSync));
  ASSERT_EQ(rs.size(), 4u);
  for (size_t i = 0; i < rs.size(); ++i) EXPECT_EQ(rs[i].position, i + 1);
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({a3.hash}));
}

// Each event of a chain replaces the one head there is. Done in the wrong
// order, the heads tree emptied once per event and LMDB took a fresh page
// for it every time: a batch of small events wrote a page per event.
TEST_F(StoreAppendTest, ABatchOfChainedEventsGrowsTheFileByWhatItStores) {
  constexpr int kEvents = 2000;
  History h;
  std::vector<EncodedEvent> chain;
  std::vector<std::string> bytes;
  for (int i = 0; i < kEvents; ++i) {
    chain.push_back(h.Native(Site(1), i == 0 ? std::vector<Hash>{} : std::vector<Hash>{chain.back().hash}));
    bytes.push_back(chain.back().bytes);
  }
  ASSERT_OK(store_->Append(bytes, kNoSync).status());
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({chain.back().hash}));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.events, uint64_t{kEvents});
  // The events, their three indexes and LMDB's own pages: a few times the
  // bytes stored, far below the page per event (8 MB here) of the fault.
  EXPECT_LT(stats.file_bytes, 4 * stats.event_bytes + (1u << 20))
      << "event bytes " << stats.event_bytes;
}

TEST_F(StoreAppendTest, ChildBeforeItsParentInOneBatchIsRefused) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent b1 = h.Native(Site(2), {a1.hash});
  auto r = store_->Append({b1.bytes, a1.bytes}, kNoSync);
  ASSERT_FALSE(r.ok());
  EXPECT_NAMES_EVENT(r, b1.hash);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 0u);
}

// A group of `n` events from one site, each built on the previous.
std::vector<EncodedEvent> MakeGroup(History& h, const SiteId& site, uint32_t n,
                                    std::vector<Hash> parents) {
  std::vector<EncodedEvent> out;
  Hash first{};
  uint64_t lamport = 1;
  for (const Hash& p : parents) lamport = std::max(lamport, h.LamportOf(p) + 1);
  for (uint32_t i = 0; i < n; ++i) {
    Event e = ChangeEvent(site, h.TakeSeq(site), lamport, parents, "member " + std::to_string(i));
    e.group = {i, n, i == 0 ? Hash{} : first};
    EncodedEvent enc = Encode(e);
    if (i == 0) first = enc.hash;
    h.Remember(enc.hash, lamport);
    parents = {enc.hash};
    ++lamport;
    out.push_back(enc);
  }
  return out;
}

TEST_F(StoreAppendTest, CompleteGroupInOneBatchIsAccepted) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  ASSERT_OK(store_->Append(a1.bytes, kNoSync));
  std::vector<EncodedEvent> g = MakeGroup(h, Site(1), 3, {a1.hash});
  ASSERT_OK(store_->Append({g[0].bytes, g[1].bytes, g[2].bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 4u);
  EXPECT_EQ(ShortHexes(snap.heads), ShortHexes({g[2].hash}));
  // Re-sending the whole group is a no-op.
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> rs,
                       store_->Append({g[0].bytes, g[1].bytes, g[2].bytes}, kNoSync));
  for (const AppendResult& r : rs) EXPECT_TRUE(r.already_present);
}

TEST_F(StoreAppendTest, GroupSplitAcrossBatchesIsRefused) {
  History h;
  std::vector<EncodedEvent> g = MakeGroup(h, Site(1), 3, {});
  auto r = store_->Append({g[0].bytes, g[1].bytes}, kNoSync);
  ASSERT_FALSE(r.ok()) << "a group missing its last member was stored";
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 0u);
  ASSERT_NOT_OK(store_->Append(g[0].bytes, kNoSync));
  ASSERT_OK(store_->Append({g[0].bytes, g[1].bytes, g[2].bytes}, kNoSync));
}

TEST_F(StoreAppendTest, GroupMemberWithoutItsFirstIsRefused) {
  History h;
  std::vector<EncodedEvent> g = MakeGroup(h, Site(1), 2, {});
  // Member 1 alone (its parent, member 0, is absent too).
  ASSERT_NOT_OK(store_->Append(g[1].bytes, kNoSync));
}

TEST_F(StoreAppendTest, ConcurrentAppendsFromTwoThreadsAllLand) {
  constexpr int kPerThread = 200;
  History ha;
  History hb;
  std::vector<EncodedEvent> a;
  std::vector<EncodedEvent> b;
  for (int i = 0; i < kPerThread; ++i) {
    a.push_back(ha.Native(Site(1), a.empty() ? std::vector<Hash>{} : std::vector{a.back().hash}));
    b.push_back(hb.Native(Site(2), b.empty() ? std::vector<Hash>{} : std::vector{b.back().hash}));
  }
  auto run = [&](const std::vector<EncodedEvent>& events, absl::Status* out) {
    for (const EncodedEvent& e : events) {
      absl::Status st = StatusOf(store_->Append(e.bytes, kNoSync));
      if (!st.ok()) {
        *out = st;
        return;
      }
      auto got = store_->Get(e.hash);  // a reader in between
      if (!got.ok()) {
        *out = got.status();
        return;
      }
    }
  };
  absl::Status sa, sb;
  std::thread ta(run, std::cref(a), &sa);
  std::thread tb(run, std::cref(b), &sb);
  ta.join();
  tb.join();
  ASSERT_OK(sa);
  ASSERT_OK(sb);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 2u * kPerThread);
  EXPECT_EQ(snap.vv, (VersionVector{{Site(1), kPerThread}, {Site(2), kPerThread}}));
  EXPECT_EQ(ShortHexes(snap.heads), ShortHexes(testing::Sorted({a.back().hash, b.back().hash})));
}

TEST_F(StoreAppendTest, SyncDurabilityWritesToo) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK(store_->Append(e1.bytes, Durability::kSync));
  ASSERT_OK(store_->Sync());
  Reopen();
  EXPECT_OK(store_->Get(e1.hash));
}

// --- Pending events ----------------------------------------------------------

using StorePendingTest = StoreTest;

TEST_F(StorePendingTest, PendingEventIsInvisibleUntilPublished) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> rs, store_->AppendPending({e1.bytes}, kNoSync));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].hash, e1.hash);

  EXPECT_CODE(store_->Get(e1.hash), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->GetBySiteSeq(Site(1), 1), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->GetByPrefix(ToHex(e1.hash)), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(bool contains, store_->Contains(e1.hash));
  EXPECT_FALSE(contains);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 0u);
  EXPECT_EQ(snap.pending, 1u);
  EXPECT_EQ(snap.event_bytes, 0u);
  EXPECT_TRUE(snap.heads.empty());
  EXPECT_TRUE(snap.vv.empty());
  EXPECT_TRUE(snap.order.empty());
  int newest_first = 0;
  ASSERT_OK(store_->ForEachNewestFirst([&](const StoredEvent&) {
    ++newest_first;
    return true;
  }));
  EXPECT_EQ(newest_first, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing, store_->MissingFor({}, {}));
  EXPECT_TRUE(missing.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> pending, store_->PendingEvents());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].hash, e1.hash);
  EXPECT_EQ(pending[0].bytes, e1.bytes);
  // It holds its seq.
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 2u);

  ASSERT_OK(store_->Publish({e1.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->Get(e1.hash));
  EXPECT_EQ(got.bytes, e1.bytes);
  ASSERT_OK_AND_ASSIGN(snap, Snapshot(*store_));
  EXPECT_EQ(snap.events, 1u);
  EXPECT_EQ(snap.pending, 0u);
  EXPECT_EQ(snap.event_bytes, e1.bytes.size());
  EXPECT_EQ(ShortHexes(snap.heads), ShortHexes({e1.hash}));
  EXPECT_EQ(snap.vv, (VersionVector{{Site(1), 1}}));
  EXPECT_TRUE(snap.pending_hashes.empty());
  ASSERT_OK_AND_ASSIGN(missing, store_->MissingFor({}, {}));
  EXPECT_EQ(missing.size(), 1u);
}

TEST_F(StorePendingTest, PendingChildDoesNotMoveTheHeadsUntilPublished) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  ASSERT_OK(store_->AppendPending({e2.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({e1.hash}));
  ASSERT_OK_AND_ASSIGN(VersionVector vv, store_->GetVersionVector());
  EXPECT_EQ(vv, (VersionVector{{Site(1), 1}}));
  ASSERT_OK(store_->Publish({e2.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(heads, store_->Heads());
  EXPECT_EQ(ShortHexes(heads), ShortHexes({e2.hash}));
}

TEST_F(StorePendingTest, DiscardForgetsThePendingEventAndFreesItsSeq) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  EncodedEvent rolled_back = Encode(ChangeEvent(Site(1), 2, 2, {e1.hash}, "rolled back"));
  ASSERT_OK(store_->AppendPending({rolled_back.bytes}, kNoSync));
  ASSERT_OK(store_->Discard({rolled_back.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> pending, store_->PendingEvents());
  EXPECT_TRUE(pending.empty());
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 2u);
  EXPECT_CODE(store_->Get(rolled_back.hash), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store_->Stats());
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.events, 1u);
  // The next transaction reuses seq 2 with other content: not a copy.
  EncodedEvent committed = Encode(ChangeEvent(Site(1), 2, 2, {e1.hash}, "committed"));
  EXPECT_OK(store_->Append(committed.bytes, kNoSync));
  // And the discarded one is not published by mistake.
  EXPECT_CODE(store_->Publish({rolled_back.hash}, kNoSync), absl::StatusCode::kNotFound);
}

// Recovery's set-aside (log/store.h, SetAside): the event leaves every index
// and frees its seq, but its bytes stay listed until a commit that wrote
// forgets them, and can be stored pending again and published.
TEST_F(StorePendingTest, SetAsideFreesTheSeqKeepsTheBytesAndIsForgottenByAWritingCommit) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  EncodedEvent judged = Encode(ChangeEvent(Site(1), 2, 2, {e1.hash}, "judged uncommitted"));
  ASSERT_OK(store_->AppendPending({judged.bytes}, kNoSync));
  ASSERT_OK(store_->SetAside({judged.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> pending, store_->PendingEvents());
  EXPECT_TRUE(pending.empty());
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> aside, store_->SetAsideEvents());
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].hash, judged.hash);
  EXPECT_EQ(aside[0].bytes, judged.bytes);

  // The database names it after all: stored pending again, then published.
  ASSERT_OK(store_->RestoreSetAside(aside, kNoSync));
  ASSERT_OK_AND_ASSIGN(aside, store_->SetAsideEvents());
  EXPECT_TRUE(aside.empty());
  ASSERT_OK(store_->Publish({judged.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoredEvent restored, store_->Get(judged.hash));
  EXPECT_EQ(restored.bytes, judged.bytes);

  // A later event set aside, then a commit that wrote: forgotten for good.
  EncodedEvent later = Encode(ChangeEvent(Site(1), 3, 3, {judged.hash}, "later"));
  ASSERT_OK(store_->AppendPending({later.bytes}, kNoSync));
  ASSERT_OK(store_->SetAside({later.hash}, kNoSync));
  EncodedEvent committed = Encode(ChangeEvent(Site(1), 3, 3, {judged.hash}, "committed"));
  ASSERT_OK(store_->AppendPending({committed.bytes}, kNoSync));
  ASSERT_OK(store_->Publish({committed.hash}, kNoSync, /*forget_set_aside=*/true));
  ASSERT_OK_AND_ASSIGN(aside, store_->SetAsideEvents());
  EXPECT_TRUE(aside.empty());
}

// Capture's own events take the path that skips the decode and re-hash: it
// must store what the checked path stores, byte for byte.
TEST_F(StorePendingTest, EncodedEventsAreStoredAsTheCheckedPathStoresThem) {
  History h;
  EncodedEvent imp = h.Import(7);
  EncodedEvent e1 = h.Native(Site(1), {imp.hash});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  std::vector<EncodedEvent> batch = {imp, e1, e2};
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> rs, store_->AppendPendingEncoded(batch, kNoSync));
  ASSERT_EQ(rs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rs[i].hash, batch[i].hash);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot encoded, Snapshot(*store_));

  StoreOptions options;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LogStore> checked, LogStore::Open(PathIn("checked"), options));
  ASSERT_OK(checked->AppendPending({imp.bytes, e1.bytes, e2.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot expected, Snapshot(*checked));
  EXPECT_EQ(encoded, expected);

  ASSERT_OK(store_->Publish({imp.hash, e1.hash, e2.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoredEvent stored, store_->Get(e2.hash));
  EXPECT_EQ(stored.bytes, e2.bytes);
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads, store_->Heads());
  EXPECT_EQ(heads, std::vector<Hash>{e2.hash});
}

TEST_F(StorePendingTest, EncodedEventsStillObeyTheLogsRules) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent gap = Encode(ChangeEvent(Site(1), 3, 2, {e1.hash}));
  EncodedEvent orphan = Encode(ChangeEvent(Site(2), 1, 2, {FakeHash(9)}));
  EncodedEvent bad_lamport = Encode(ChangeEvent(Site(3), 1, 5, {}));
  ASSERT_OK(store_->AppendPendingEncoded(std::vector<EncodedEvent>{e1}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot before, Snapshot(*store_));
  for (const EncodedEvent* e : {&gap, &orphan, &bad_lamport}) {
    absl::StatusOr<std::vector<AppendResult>> r =
        store_->AppendPendingEncoded(std::vector<EncodedEvent>{*e}, kNoSync);
    EXPECT_FALSE(r.ok());
    EXPECT_NAMES_EVENT(r, e->hash);
  }
  ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*store_));
  EXPECT_EQ(after, before);
}

TEST_F(StorePendingTest, AnEncodedEventOverTheLogsSizeLimitIsRefused) {
  options_.max_event_bytes = 256;
  Reopen();
  EncodedEvent big = Encode(ChangeEvent(Site(1), 1, 1, {}, std::string(400, 'x')));
  ASSERT_GT(big.bytes.size(), 256u);
  EXPECT_THAT(std::string(StatusOf(store_->AppendPendingEncoded(std::vector<EncodedEvent>{big}, kNoSync)).message()),
              HasSubstr("over the log's limit of 256"));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.pending, 0u);
}

TEST_F(StorePendingTest, RetriedCommitAppendsTheSamePendingEventAsNoOp) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> first, store_->AppendPending({e1.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<AppendResult> again, store_->AppendPending({e1.bytes}, kNoSync));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].already_present);
  EXPECT_EQ(again[0].position, first[0].position);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> pending, store_->PendingEvents());
  EXPECT_EQ(pending.size(), 1u);
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 2u);
}

TEST_F(StorePendingTest, OtherPendingEventWithAHeldSeqIsRefused) {
  EncodedEvent a = Encode(ChangeEvent(Site(1), 1, 1, {}, "a"));
  EncodedEvent b = Encode(ChangeEvent(Site(1), 1, 1, {}, "b"));
  ASSERT_OK(store_->AppendPending({a.bytes}, kNoSync));
  ASSERT_NOT_OK(store_->AppendPending({b.bytes}, kNoSync));
  ASSERT_NOT_OK(store_->Append(b.bytes, kNoSync));
}

TEST_F(StorePendingTest, PendingEventsListsThemInOrder) {
  History h;
  EncodedEvent a1 = h.Native(Site(1), {});
  EncodedEvent b1 = h.Native(Site(2), {});
  ASSERT_OK(store_->AppendPending({a1.bytes}, kNoSync));
  ASSERT_OK(store_->AppendPending({b1.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> pending, store_->PendingEvents());
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].hash, a1.hash);
  EXPECT_EQ(pending[1].hash, b1.hash);
  EXPECT_LT(pending[0].position, pending[1].position);
  auto d = pending[1].Decode();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->site, Site(2));
}

TEST_F(StorePendingTest, PendingEventsSurviveReopen) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK(store_->AppendPending({e1.bytes}, kNoSync));
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> pending, store_->PendingEvents());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].hash, e1.hash);
  ASSERT_OK(store_->Publish({e1.hash}, kNoSync));
  EXPECT_OK(store_->Get(e1.hash));
}

TEST_F(StorePendingTest, PublishOrDiscardOfUnknownHashIsNotFound) {
  EXPECT_CODE(store_->Publish({FakeHash(1)}, kNoSync), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->Discard({FakeHash(1)}, kNoSync), absl::StatusCode::kNotFound);
}

TEST_F(StorePendingTest, PublishWithOneUnknownHashPublishesNothing) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK(store_->AppendPending({e1.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot before, Snapshot(*store_));
  EXPECT_CODE(store_->Publish({e1.hash, FakeHash(9)}, kNoSync), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*store_));
  EXPECT_EQ(before, after);
  EXPECT_CODE(store_->Discard({e1.hash, FakeHash(9)}, kNoSync), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(after, Snapshot(*store_));
  EXPECT_EQ(before, after);
}

TEST_F(StorePendingTest, PublishingAPublishedEventIsNoOp) {
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  ASSERT_OK(store_->AppendPending({e1.bytes}, kNoSync));
  ASSERT_OK(store_->Publish({e1.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot before, Snapshot(*store_));
  EXPECT_OK(store_->Publish({e1.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot after, Snapshot(*store_));
  EXPECT_EQ(before, after);
  // Also for events appended published directly.
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  ASSERT_OK(store_->Append(e2.bytes, kNoSync));
  EXPECT_OK(store_->Publish({e2.hash}, kNoSync));
}

TEST_F(StorePendingTest, PendingAppendFollowsTheSameRules) {
  History h;
  EncodedEvent p = h.Native(Site(1), {});
  EncodedEvent c = h.Native(Site(2), {p.hash});
  ASSERT_NOT_OK(store_->AppendPending({c.bytes}, kNoSync));  // parent missing
  EncodedEvent gap = Encode(ChangeEvent(Site(3), 2, 1, {}));
  ASSERT_NOT_OK(store_->AppendPending({gap.bytes}, kNoSync));  // seq gap
  ASSERT_NOT_OK(store_->AppendPending({std::string("garbage!")}, kNoSync));
  ASSERT_OK_AND_ASSIGN(StoreSnapshot snap, Snapshot(*store_));
  EXPECT_EQ(snap.pending, 0u);
}

TEST_F(StorePendingTest, PendingAndPublishedSeqsChainTogether) {
  // capture: seq 1 published, seq 2 pending; seq 3 must wait for 2.
  History h;
  EncodedEvent e1 = h.Native(Site(1), {});
  EncodedEvent e2 = h.Native(Site(1), {e1.hash});
  ASSERT_OK(store_->Append(e1.bytes, kNoSync));
  ASSERT_OK(store_->AppendPending({e2.bytes}, kNoSync));
  ASSERT_OK_AND_ASSIGN(uint64_t next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 3u);
  ASSERT_OK(store_->Publish({e2.hash}, kNoSync));
  ASSERT_OK_AND_ASSIGN(next, store_->NextSeq(Site(1)));
  EXPECT_EQ(next, 3u);
}

}  // namespace
}  // namespace crlog::log
