// Verify (log/verify.h): a clean log verifies with the right counts; a log
// damaged behind the store's back (raw LMDB) gives DataLoss naming the
// first fault.
#include "log/verify.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/store.h"
#include "tests/log/raw_lmdb.h"
#include "tests/log/test_util.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::ChangeEvent;
using ::crlog::log::testing::Encode;
using ::crlog::log::testing::FakeHash;
using ::crlog::log::testing::History;
using ::crlog::log::testing::Lower;
using ::crlog::log::testing::RawLmdb;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::StatusOf;
using ::crlog::log::testing::StoreTest;
using ::crlog::log::testing::U64BE;
using ::testing::HasSubstr;

constexpr Durability kNoSync = Durability::kNoSync;

std::string BySiteKey(const SiteId& site, uint64_t seq) {
  return std::string(AsBytes(site)) + U64BE(seq);
}

class VerifyTest : public StoreTest {
 protected:
  void AppendAll(std::initializer_list<const EncodedEvent*> events) {
    for (const EncodedEvent* e : events) {
      auto r = store_->Append(e->bytes, kNoSync);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }
  // Closes the store, runs `damage` on the raw environment, reopens.
  template <typename F>
  void Damage(F&& damage) {
    store_.reset();
    {
      RawLmdb raw(LogPath());
      ASSERT_TRUE(raw.ok());
      damage(raw);
    }
    Reopen();
  }
  // Verify must fail with DataLoss; returns the message.
  std::string ExpectDataLoss() {
    auto r = Verify(*store_);
    EXPECT_EQ(StatusOf(r).code(), absl::StatusCode::kDataLoss) << StatusOf(r);
    return std::string(StatusOf(r).message());
  }
  History h_;
};

TEST_F(VerifyTest, CleanLogVerifiesWithTheRightCounts) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent i = h_.Import(1);
  EncodedEvent b1 = h_.Native(Site(2), {a2.hash, i.hash});
  EncodedEvent a3 = h_.Native(Site(1), {b1.hash});
  AppendAll({&a1, &a2, &i, &b1, &a3});
  // A pending event is not part of the published log.
  EncodedEvent a4 = h_.Native(Site(1), {a3.hash});
  ASSERT_OK(store_->AppendPending({a4.bytes}, kNoSync));

  uint64_t ops = 0;
  uint64_t bytes = 0;
  for (const EncodedEvent* e : {&a1, &a2, &i, &b1, &a3}) {
    ASSERT_OK_AND_ASSIGN(Event ev, DecodeEvent(e->bytes));
    ops += ev.CountOps();
    bytes += e->bytes.size();
  }
  ASSERT_OK_AND_ASSIGN(VerifyReport report, Verify(*store_));
  EXPECT_EQ(report.events, 5u);
  EXPECT_EQ(report.ops, ops);
  EXPECT_EQ(ops, 4u * 2u + 1u);  // natives: 2 cells each; the import: 1
  EXPECT_EQ(report.sites, 2u);
  EXPECT_EQ(report.bytes, bytes);
}

TEST_F(VerifyTest, EmptyLogVerifies) {
  ASSERT_OK_AND_ASSIGN(VerifyReport report, Verify(*store_));
  EXPECT_EQ(report.events, 0u);
  EXPECT_EQ(report.ops, 0u);
  EXPECT_EQ(report.sites, 0u);
  EXPECT_EQ(report.bytes, 0u);
}

TEST_F(VerifyTest, ProgressCountsUpToTheTotal) {
  std::vector<EncodedEvent> chain;
  for (int n = 0; n < 50; ++n) {
    chain.push_back(h_.Native(Site(1), chain.empty() ? std::vector<Hash>{}
                                                     : std::vector<Hash>{chain.back().hash}));
    AppendAll({&chain.back()});
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  ASSERT_OK_AND_ASSIGN(VerifyReport report,
                       Verify(*store_, [&](uint64_t done, uint64_t total) {
                         calls.emplace_back(done, total);
                       }));
  EXPECT_EQ(report.events, 50u);
  ASSERT_FALSE(calls.empty()) << "progress never reported";
  for (size_t k = 0; k < calls.size(); ++k) {
    EXPECT_EQ(calls[k].second, 50u);
    EXPECT_LE(calls[k].first, calls[k].second);
    if (k > 0) {
      EXPECT_GE(calls[k].first, calls[k - 1].first);
    }
  }
  EXPECT_EQ(calls.back().first, 50u);
}

// a1 - a2 - b1 - a3, where b1 is on site 2.
class VerifyDamageTest : public VerifyTest {
 protected:
  void SetUp() override {
    VerifyTest::SetUp();
    a1_ = h_.Native(Site(1), {});
    a2_ = h_.Native(Site(1), {a1_.hash});
    b1_ = h_.Native(Site(2), {a2_.hash});
    a3_ = h_.Native(Site(1), {b1_.hash});
    AppendAll({&a1_, &a2_, &b1_, &a3_});
    ASSERT_OK(Verify(*store_));
  }
  EncodedEvent a1_, a2_, b1_, a3_;  // positions 1..4
};

TEST_F(VerifyDamageTest, TamperedByteIsNamedByVerify) {
  // Change one character of b1's row payload: still a well-formed,
  // canonical event, but not the one its id names.
  Damage([&](RawLmdb& raw) {
    auto v = raw.Get(format::kEventsDb, U64BE(3));
    ASSERT_TRUE(v.has_value());
    ASSERT_EQ(v->substr(0, format::kHashSize), std::string(AsBytes(b1_.hash)));
    const size_t at = v->rfind("pk:");
    ASSERT_NE(at, std::string::npos);
    (*v)[at] = 'P';
    raw.Put(format::kEventsDb, U64BE(3), *v);
  });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(msg, HasSubstr(ShortHex(b1_.hash)));
}

TEST_F(VerifyDamageTest, TamperedStructureIsNamedByVerify) {
  // Damage the root pointer of a2's bytes.
  Damage([&](RawLmdb& raw) {
    auto v = raw.Get(format::kEventsDb, U64BE(2));
    ASSERT_TRUE(v.has_value());
    (*v)[format::kEventValueHeader + 1] ^= 0x5a;
    raw.Put(format::kEventsDb, U64BE(2), *v);
  });
  EXPECT_THAT(ExpectDataLoss(), HasSubstr(ShortHex(a2_.hash)));
}

TEST_F(VerifyDamageTest, TamperedStoredIdIsFound) {
  Damage([&](RawLmdb& raw) {
    auto v = raw.Get(format::kEventsDb, U64BE(2));
    ASSERT_TRUE(v.has_value());
    (*v)[0] ^= 0x01;
    raw.Put(format::kEventsDb, U64BE(2), *v);
  });
  ExpectDataLoss();
}

TEST_F(VerifyDamageTest, EventRemovedFromTheMiddleNamesTheChildMissingIt) {
  // b1 goes, with its index entries; a3 names it as a parent.
  Damage([&](RawLmdb& raw) {
    ASSERT_TRUE(raw.Del(format::kEventsDb, U64BE(3)));
    ASSERT_TRUE(raw.Del(format::kByHashDb, AsBytes(b1_.hash)));
    ASSERT_TRUE(raw.Del(format::kBySiteDb, BySiteKey(Site(2), 1)));
  });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(msg, HasSubstr(ShortHex(a3_.hash)));
  EXPECT_THAT(Lower(msg), HasSubstr("parent"));
}

TEST_F(VerifyDamageTest, EventRemovedFromASiteChainIsASeqGap) {
  // Site 3 writes c3 on c1, not on c2 (a site may fork its own chain), so
  // removing c2 with all its entries breaks only the seq chain.
  EncodedEvent c1 = h_.Native(Site(3), {});
  EncodedEvent c2 = h_.Native(Site(3), {c1.hash});
  EncodedEvent c3 = h_.Native(Site(3), {c1.hash});
  AppendAll({&c1, &c2, &c3});  // positions 5, 6, 7
  ASSERT_OK(Verify(*store_));
  Damage([&](RawLmdb& raw) {
    ASSERT_TRUE(raw.Del(format::kEventsDb, U64BE(6)));
    ASSERT_TRUE(raw.Del(format::kByHashDb, AsBytes(c2.hash)));
    ASSERT_TRUE(raw.Del(format::kBySiteDb, BySiteKey(Site(3), 2)));
    ASSERT_TRUE(raw.Del(format::kHeadsDb, AsBytes(c2.hash)));
  });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(msg, HasSubstr(ShortHex(c3.hash)));
  EXPECT_THAT(Lower(msg), HasSubstr("seq"));
}

TEST_F(VerifyDamageTest, HeadEntryForAMissingEventIsFound) {
  // Drop the newest event and its index entries but not its head entry.
  Damage([&](RawLmdb& raw) {
    ASSERT_TRUE(raw.Del(format::kEventsDb, U64BE(4)));
    ASSERT_TRUE(raw.Del(format::kByHashDb, AsBytes(a3_.hash)));
    ASSERT_TRUE(raw.Del(format::kBySiteDb, BySiteKey(Site(1), 3)));
  });
  ExpectDataLoss();
}

TEST_F(VerifyDamageTest, DanglingByHashEntryIsFound) {
  const Hash ghost = FakeHash(0x5a);
  Damage([&](RawLmdb& raw) { raw.Put(format::kByHashDb, AsBytes(ghost), U64BE(99)); });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(msg, HasSubstr(ShortHex(ghost))) << "should name the entry";
}

TEST_F(VerifyDamageTest, ByHashEntryPointingAtAnotherEventIsFound) {
  Damage([&](RawLmdb& raw) { raw.Put(format::kByHashDb, AsBytes(a1_.hash), U64BE(2)); });
  ExpectDataLoss();
}

TEST_F(VerifyDamageTest, MissingByHashEntryIsFound) {
  Damage([&](RawLmdb& raw) { ASSERT_TRUE(raw.Del(format::kByHashDb, AsBytes(a2_.hash))); });
  EXPECT_THAT(ExpectDataLoss(), HasSubstr(ShortHex(a2_.hash)));
}

TEST_F(VerifyDamageTest, DanglingBySiteEntryIsFound) {
  Damage([&](RawLmdb& raw) { raw.Put(format::kBySiteDb, BySiteKey(Site(9), 1), U64BE(99)); });
  ExpectDataLoss();
}

TEST_F(VerifyDamageTest, MissingBySiteEntryIsFound) {
  Damage([&](RawLmdb& raw) { ASSERT_TRUE(raw.Del(format::kBySiteDb, BySiteKey(Site(2), 1))); });
  ExpectDataLoss();
}

TEST_F(VerifyDamageTest, MissingHeadIsFound) {
  Damage([&](RawLmdb& raw) { ASSERT_TRUE(raw.Del(format::kHeadsDb, AsBytes(a3_.hash))); });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(Lower(msg), HasSubstr("head"));
}

TEST_F(VerifyDamageTest, ExtraHeadIsFound) {
  Damage([&](RawLmdb& raw) { raw.Put(format::kHeadsDb, AsBytes(a1_.hash), ""); });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(Lower(msg), HasSubstr("head"));
}

TEST_F(VerifyDamageTest, WrongLamportIsNamedByVerify) {
  // Replace the head a3 by an otherwise identical event with lamport 9,
  // keeping every index consistent with it.
  Event forged = ChangeEvent(Site(1), 3, 9, {b1_.hash});
  EncodedEvent f = Encode(forged);
  Damage([&](RawLmdb& raw) {
    raw.Put(format::kEventsDb, U64BE(4), std::string(AsBytes(f.hash)) + f.bytes);
    ASSERT_TRUE(raw.Del(format::kByHashDb, AsBytes(a3_.hash)));
    raw.Put(format::kByHashDb, AsBytes(f.hash), U64BE(4));
    ASSERT_TRUE(raw.Del(format::kHeadsDb, AsBytes(a3_.hash)));
    raw.Put(format::kHeadsDb, AsBytes(f.hash), "");
  });
  std::string msg = ExpectDataLoss();
  EXPECT_THAT(msg, HasSubstr(ShortHex(f.hash)));
  EXPECT_THAT(Lower(msg), HasSubstr("lamport"));
}

TEST_F(VerifyDamageTest, ParentStoredAfterItsChildIsFound) {
  // Swap a1 (position 1) and a2 (position 2), indexes included.
  Damage([&](RawLmdb& raw) {
    auto v1 = raw.Get(format::kEventsDb, U64BE(1));
    auto v2 = raw.Get(format::kEventsDb, U64BE(2));
    ASSERT_TRUE(v1 && v2);
    raw.Put(format::kEventsDb, U64BE(1), *v2);
    raw.Put(format::kEventsDb, U64BE(2), *v1);
    raw.Put(format::kByHashDb, AsBytes(a1_.hash), U64BE(2));
    raw.Put(format::kByHashDb, AsBytes(a2_.hash), U64BE(1));
    raw.Put(format::kBySiteDb, BySiteKey(Site(1), 1), U64BE(2));
    raw.Put(format::kBySiteDb, BySiteKey(Site(1), 2), U64BE(1));
  });
  EXPECT_THAT(ExpectDataLoss(), HasSubstr(ShortHex(a2_.hash)));
}

TEST_F(VerifyDamageTest, NonCanonicalStoredEventIsFoundThoughItsIdMatches) {
  // An import whose stored bytes carry a trailing zero word, stored under
  // the hash of those very bytes.
  EncodedEvent imp = Encode(testing::ImportEvent(3));
  const std::string padded = imp.bytes + std::string(8, '\0');
  const Hash id = Sha256(padded);
  Damage([&](RawLmdb& raw) {
    raw.Put(format::kEventsDb, U64BE(5), std::string(AsBytes(id)) + padded);
    raw.Put(format::kByHashDb, AsBytes(id), U64BE(5));
    raw.Put(format::kHeadsDb, AsBytes(id), "");
  });
  EXPECT_THAT(ExpectDataLoss(), HasSubstr(ShortHex(id)));
}

TEST_F(VerifyDamageTest, DamageLeavesOtherEventsReadable) {
  Damage([&](RawLmdb& raw) {
    auto v = raw.Get(format::kEventsDb, U64BE(3));
    ASSERT_TRUE(v.has_value());
    (*v)[v->size() - 1] ^= 0x01;
    raw.Put(format::kEventsDb, U64BE(3), *v);
  });
  ExpectDataLoss();
  ASSERT_OK_AND_ASSIGN(StoredEvent got, store_->Get(a1_.hash));
  EXPECT_EQ(got.bytes, a1_.bytes);
  EXPECT_EQ(got.position, 1u);
}

}  // namespace
}  // namespace crlog::log
