// DAG walks over the log (log/store.h): Ancestors, IsAncestor and
// MissingFor, with hand-made histories and a seeded random simulation of
// replicas that write, import and sync.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/store.h"
#include "tests/log/test_util.h"
#include "tests/support/seeds.h"

namespace crlog::log {
namespace {

using ::crlog::log::testing::AllInOrder;
using ::crlog::log::testing::FakeHash;
using ::crlog::log::testing::HashesOf;
using ::crlog::log::testing::History;
using ::crlog::log::testing::ShortHexes;
using ::crlog::log::testing::Site;
using ::crlog::log::testing::Sorted;
using ::crlog::log::testing::StoreTest;
using ::crlog::log::testing::TempDirTest;

constexpr Durability kNoSync = Durability::kNoSync;

class StoreDagTest : public StoreTest {
 protected:
  void AppendAll(std::initializer_list<const EncodedEvent*> events) {
    for (const EncodedEvent* e : events) {
      auto r = store_->Append(e->bytes, kNoSync);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }
  // Checks that every event's parents are in `have` or earlier in `events`.
  void ExpectParentsFirst(const std::vector<StoredEvent>& events, std::set<Hash> have) {
    for (const StoredEvent& e : events) {
      auto d = e.Decode();
      ASSERT_TRUE(d.ok()) << d.status();
      for (const Hash& p : d->parents) {
        EXPECT_TRUE(have.count(p)) << ShortHex(e.hash) << " comes before its parent " << ShortHex(p);
      }
      have.insert(e.hash);
    }
  }
  History h_;
};

// a1 - a2 - a3 ------- a4
//        \            /
//         b1 - b2 ---
// plus an import i that b1 builds on and an import j nobody names.
struct Diamond {
  EncodedEvent a1, a2, a3, a4, b1, b2, i, j;
};

Diamond MakeDiamond(History& h) {
  Diamond d;
  d.a1 = h.Native(Site(1), {});
  d.a2 = h.Native(Site(1), {d.a1.hash});
  d.i = h.Import(1);
  d.b1 = h.Native(Site(2), {d.a2.hash, d.i.hash});
  d.a3 = h.Native(Site(1), {d.a2.hash});
  d.b2 = h.Native(Site(2), {d.b1.hash});
  d.a4 = h.Native(Site(1), {d.a3.hash, d.b2.hash});
  d.j = h.Import(2);
  return d;
}

// Arrival order: a1 a2 i b1 a3 b2 a4 j
#define DIAMOND_ORDER(d) &d.a1, &d.a2, &d.i, &d.b1, &d.a3, &d.b2, &d.a4, &d.j

TEST_F(StoreDagTest, AncestorsOfAHeadAreItsWholePastInArrivalOrder) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> anc, store_->Ancestors({d.a4.hash}));
  EXPECT_EQ(ShortHexes(anc), ShortHexes({d.a1.hash, d.a2.hash, d.i.hash, d.b1.hash, d.a3.hash,
                                         d.b2.hash, d.a4.hash}));
  ASSERT_OK_AND_ASSIGN(anc, store_->Ancestors({d.a3.hash}));
  EXPECT_EQ(ShortHexes(anc), ShortHexes({d.a1.hash, d.a2.hash, d.a3.hash}));
  ASSERT_OK_AND_ASSIGN(anc, store_->Ancestors({d.a1.hash}));
  EXPECT_EQ(ShortHexes(anc), ShortHexes({d.a1.hash}));
}

TEST_F(StoreDagTest, AncestorsOfSeveralHeadsIsTheUnionOnce) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  ASSERT_OK_AND_ASSIGN(std::vector<Hash> anc, store_->Ancestors({d.b2.hash, d.a3.hash, d.j.hash}));
  EXPECT_EQ(ShortHexes(anc), ShortHexes({d.a1.hash, d.a2.hash, d.i.hash, d.b1.hash, d.a3.hash,
                                         d.b2.hash, d.j.hash}));
  ASSERT_OK_AND_ASSIGN(anc, store_->Ancestors({}));
  EXPECT_TRUE(anc.empty());
}

TEST_F(StoreDagTest, AncestorsOfAnUnknownEventIsAnError) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  EXPECT_FALSE(store_->Ancestors({FakeHash(1)}).ok());
}

TEST_F(StoreDagTest, IsAncestorFollowsParentLinks) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  struct Case {
    const EncodedEvent* anc;
    const EncodedEvent* desc;
    bool expected;
  } cases[] = {
      {&d.a1, &d.a4, true},  {&d.i, &d.a4, true},   {&d.b1, &d.a4, true},
      {&d.a3, &d.b2, false}, {&d.b2, &d.a3, false}, {&d.a4, &d.a1, false},
      {&d.j, &d.a4, false},  {&d.a2, &d.b1, true},  {&d.i, &d.a3, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << ShortHex(c.anc->hash) << " in past of "
                                      << ShortHex(c.desc->hash));
    ASSERT_OK_AND_ASSIGN(bool r, store_->IsAncestor(c.anc->hash, c.desc->hash));
    EXPECT_EQ(r, c.expected);
  }
}

TEST_F(StoreDagTest, AnEventIsInItsOwnPast) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  for (const EncodedEvent* e : {DIAMOND_ORDER(d)}) {
    ASSERT_OK_AND_ASSIGN(bool r, store_->IsAncestor(e->hash, e->hash));
    EXPECT_TRUE(r);
  }
}

TEST_F(StoreDagTest, IsAncestorOfUnknownEventIsNotFound) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  EXPECT_CODE(store_->IsAncestor(FakeHash(1), d.a4.hash), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->IsAncestor(d.a1.hash, FakeHash(1)), absl::StatusCode::kNotFound);
  EXPECT_CODE(store_->IsAncestor(FakeHash(1), FakeHash(1)), absl::StatusCode::kNotFound);
}

TEST_F(StoreDagTest, PendingEventsAreNotInTheDag) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  AppendAll({&a1});
  ASSERT_OK(store_->AppendPending({a2.bytes}, kNoSync));
  EXPECT_CODE(store_->IsAncestor(a1.hash, a2.hash), absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->Ancestors({a2.hash}).ok());
}

TEST_F(StoreDagTest, MissingForAnEmptyPeerIsEverythingParentsFirst) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing, store_->MissingFor({}, {}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes(AllInOrder(*store_)));
  ExpectParentsFirst(missing, {});
  for (const StoredEvent& e : missing) {
    ASSERT_OK_AND_ASSIGN(StoredEvent stored, store_->Get(e.hash));
    EXPECT_EQ(e.bytes, stored.bytes);
    EXPECT_EQ(e.position, stored.position);
  }
}

TEST_F(StoreDagTest, MissingForAPeerWithAPrefixIsExactlyTheRest) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  EncodedEvent a3 = h_.Native(Site(1), {a2.hash});
  EncodedEvent a4 = h_.Native(Site(1), {a3.hash});
  AppendAll({&a1, &a2, &a3, &a4});
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing,
                       store_->MissingFor({{Site(1), 2}}, {a2.hash}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes({a3.hash, a4.hash}));
  ASSERT_OK_AND_ASSIGN(missing, store_->MissingFor({{Site(1), 4}}, {a4.hash}));
  EXPECT_TRUE(missing.empty());
}

TEST_F(StoreDagTest, MissingForAPeerOnAConcurrentBranch) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  // The peer has a1 a2 a3 (site 1 only).
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing,
                       store_->MissingFor({{Site(1), 3}}, {d.a3.hash}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)),
            ShortHexes({d.i.hash, d.b1.hash, d.b2.hash, d.a4.hash, d.j.hash}));
  ExpectParentsFirst(missing, {d.a1.hash, d.a2.hash, d.a3.hash});
  // The peer has a1 a2 i b1 b2 (site 2's branch).
  ASSERT_OK_AND_ASSIGN(missing, store_->MissingFor({{Site(1), 2}, {Site(2), 2}}, {d.b2.hash}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes({d.a3.hash, d.a4.hash, d.j.hash}));
}

TEST_F(StoreDagTest, MissingForIncludesImportsThePeerLacks) {
  Diamond d = MakeDiamond(h_);
  AppendAll({DIAMOND_ORDER(d)});
  // The peer has everything but the unreferenced import j.
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing,
                       store_->MissingFor({{Site(1), 4}, {Site(2), 2}}, {d.a4.hash}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes({d.j.hash}));
  // Naming j among its heads, it lacks nothing.
  ASSERT_OK_AND_ASSIGN(missing, store_->MissingFor({{Site(1), 4}, {Site(2), 2}},
                                                   Sorted({d.a4.hash, d.j.hash})));
  EXPECT_TRUE(missing.empty());
  // A peer holding only the imports still lacks every native event.
  ASSERT_OK_AND_ASSIGN(missing, store_->MissingFor({}, Sorted({d.i.hash, d.j.hash})));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes({d.a1.hash, d.a2.hash, d.b1.hash,
                                                      d.a3.hash, d.b2.hash, d.a4.hash}));
}

TEST_F(StoreDagTest, MissingForLeavesOutImportsInThePastOfPeerHeads) {
  // i is in the peer's past through a1; b1 (which the peer lacks) also
  // builds on i. The peer lacks b1 only.
  EncodedEvent i = h_.Import(1);
  EncodedEvent a1 = h_.Native(Site(1), {i.hash});
  EncodedEvent b1 = h_.Native(Site(2), {i.hash});
  AppendAll({&i, &a1, &b1});
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing,
                       store_->MissingFor({{Site(1), 1}}, {a1.hash}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes({b1.hash}));
}

TEST_F(StoreDagTest, MissingForIgnoresPeerHeadsItDoesNotKnow) {
  EncodedEvent a1 = h_.Native(Site(1), {});
  EncodedEvent a2 = h_.Native(Site(1), {a1.hash});
  AppendAll({&a1, &a2});
  // The peer is ahead on site 1 and has a head we never saw.
  ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing,
                       store_->MissingFor({{Site(1), 5}, {Site(3), 2}}, {FakeHash(0x77)}));
  EXPECT_TRUE(missing.empty());
  ASSERT_OK_AND_ASSIGN(missing, store_->MissingFor({{Site(1), 1}}, {FakeHash(0x77), a1.hash}));
  EXPECT_EQ(ShortHexes(HashesOf(missing)), ShortHexes({a2.hash}));
}

// --- Random histories ----------------------------------------------------------

// Replicas that write (on their heads), import foreign changes and sync
// (union of what two replicas know). Every replica's knowledge stays closed
// under parents, as a real replica's is.
class Simulation {
 public:
  struct Ev {
    EncodedEvent enc;
    std::vector<size_t> parents;  // indexes into events()
    int writer = -1;              // -1: import
    uint64_t seq = 0;
  };

  Simulation(uint32_t seed, int replicas) : rng_(seed), known_(replicas) {}

  void Run(int steps) {
    const int n = static_cast<int>(known_.size());
    for (int step = 0; step < steps; ++step) {
      const int r = static_cast<int>(rng_() % n);
      const uint32_t action = rng_() % 10;
      if (action < 6) {
        Write(r);
      } else if (action < 7) {
        Import(r, rng_() % 6);  // a small pool: replicas import the same changes
      } else {
        const int s = static_cast<int>(rng_() % n);
        known_[r].insert(known_[s].begin(), known_[s].end());
      }
    }
  }

  const std::vector<Ev>& events() const { return events_; }
  const std::set<size_t>& known(int r) const { return known_[r]; }
  int replicas() const { return static_cast<int>(known_.size()); }
  uint32_t Next() { return rng_(); }

  std::vector<Hash> HeadsOf(const std::set<size_t>& set) const {
    std::set<size_t> named;
    for (size_t i : set) named.insert(events_[i].parents.begin(), events_[i].parents.end());
    std::vector<Hash> out;
    for (size_t i : set) {
      if (!named.count(i)) out.push_back(events_[i].enc.hash);
    }
    return Sorted(out);
  }

  VersionVector VvOf(const std::set<size_t>& set) const {
    VersionVector vv;
    for (size_t i : set) {
      const Ev& e = events_[i];
      if (e.writer < 0) continue;
      uint64_t& v = vv[SiteOf(e.writer)];
      v = std::max(v, e.seq);
    }
    return vv;
  }

  static SiteId SiteOf(int r) { return Site(static_cast<uint8_t>(r + 1)); }

  std::string Describe() const {
    std::ostringstream os;
    os << "history of " << events_.size() << " events:\n";
    for (size_t i = 0; i < events_.size(); ++i) {
      const Ev& e = events_[i];
      os << "  #" << i << " " << ShortHex(e.enc.hash) << " ";
      if (e.writer < 0) {
        os << "import";
      } else {
        os << "site" << e.writer + 1 << ":" << e.seq << " parents";
        for (size_t p : e.parents) os << " #" << p;
      }
      os << "\n";
    }
    for (size_t r = 0; r < known_.size(); ++r) {
      os << "  replica " << r << " knows";
      for (size_t i : known_[r]) os << " #" << i;
      os << "\n";
    }
    return os.str();
  }

 private:
  void Write(int r) {
    std::vector<Hash> parents = HeadsOf(known_[r]);
    Ev e;
    e.writer = r;
    e.enc = history_.Native(SiteOf(r), parents);
    e.seq = history_.LastSeq(SiteOf(r));
    for (const Hash& p : parents) e.parents.push_back(index_.at(p));
    Add(r, std::move(e));
  }
  void Import(int r, uint64_t salt) {
    EncodedEvent enc = history_.Import(salt);
    auto it = index_.find(enc.hash);
    if (it != index_.end()) {
      known_[r].insert(it->second);
      return;
    }
    Ev e;
    e.enc = enc;
    Add(r, std::move(e));
  }
  void Add(int r, Ev e) {
    const size_t i = events_.size();
    index_[e.enc.hash] = i;
    events_.push_back(std::move(e));
    known_[r].insert(i);
  }

  std::mt19937 rng_;
  History history_;
  std::vector<Ev> events_;
  std::map<Hash, size_t> index_;
  std::vector<std::set<size_t>> known_;
};

class StoreDagRandomTest : public TempDirTest {
 protected:
  std::unique_ptr<LogStore> OpenFresh(const std::string& name) {
    auto s = LogStore::Open(PathIn(name));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Appends the events of `set` in creation order.
  static absl::Status Fill(LogStore& store, const Simulation& sim, const std::set<size_t>& set) {
    std::vector<std::string> batch;
    for (size_t i : set) batch.push_back(sim.events()[i].enc.bytes);
    if (batch.empty()) return absl::OkStatus();
    return testing::StatusOf(store.Append(batch, kNoSync));
  }

  // One history: a sender holding `sender_set` answers a peer holding
  // `peer_set`; the peer appends the answer.
  void CheckExchange(const Simulation& sim, const std::set<size_t>& sender_set,
                     const std::set<size_t>& peer_set, const std::string& tag) {
    SCOPED_TRACE(tag);
    const std::string sender_name = "sender-" + tag;
    const std::string peer_name = "peer-" + tag;
    std::unique_ptr<LogStore> sender = OpenFresh(sender_name);
    std::unique_ptr<LogStore> peer = OpenFresh(peer_name);
    ASSERT_TRUE(sender && peer);
    ASSERT_OK(Fill(*sender, sim, sender_set));
    ASSERT_OK(Fill(*peer, sim, peer_set));

    ASSERT_OK_AND_ASSIGN(VersionVector peer_vv, peer->GetVersionVector());
    ASSERT_OK_AND_ASSIGN(std::vector<Hash> peer_heads, peer->Heads());
    ASSERT_EQ(peer_vv, sim.VvOf(peer_set));
    ASSERT_EQ(ShortHexes(peer_heads), ShortHexes(sim.HeadsOf(peer_set)));

    ASSERT_OK_AND_ASSIGN(std::vector<StoredEvent> missing,
                         sender->MissingFor(peer_vv, peer_heads));

    // What the peer lacks, in the sender's arrival (= creation) order.
    std::vector<Hash> lacking;
    std::set<Hash> peer_hashes;
    for (size_t i : peer_set) peer_hashes.insert(sim.events()[i].enc.hash);
    for (size_t i : sender_set) {
      if (!peer_set.count(i)) lacking.push_back(sim.events()[i].enc.hash);
    }
    const bool sender_knows_peer_heads =
        std::includes(sender_set.begin(), sender_set.end(), peer_set.begin(), peer_set.end());
    std::vector<Hash> got = HashesOf(missing);
    if (sender_knows_peer_heads) {
      // Exactly the rest: MissingFor(peer) and the peer's set partition the
      // sender's events.
      EXPECT_EQ(ShortHexes(got), ShortHexes(lacking));
    } else {
      // The sender cannot see the past of heads it lacks, so it may resend
      // imports the peer has; nothing else, and nothing the peer lacks is
      // left out.
      std::set<Hash> got_set(got.begin(), got.end());
      for (const Hash& h : lacking) {
        EXPECT_TRUE(got_set.count(h)) << "left out " << ShortHex(h);
      }
      for (const StoredEvent& e : missing) {
        if (peer_hashes.count(e.hash)) {
          auto d = e.Decode();
          ASSERT_TRUE(d.ok()) << d.status();
          EXPECT_EQ(d->kind, EventKind::kImport)
              << "sent native event " << ShortHex(e.hash) << " the peer's vv covers";
        }
      }
    }
    // Arrival order, no duplicates.
    for (size_t k = 1; k < missing.size(); ++k) {
      ASSERT_LT(missing[k - 1].position, missing[k].position);
    }

    // The peer can append the answer as it is, and then knows the union.
    std::vector<std::string> batch;
    for (const StoredEvent& e : missing) batch.push_back(e.bytes);
    ASSERT_OK(peer->Append(batch, kNoSync));
    std::set<size_t> both = peer_set;
    both.insert(sender_set.begin(), sender_set.end());
    ASSERT_OK_AND_ASSIGN(std::vector<Hash> heads_after, peer->Heads());
    EXPECT_EQ(ShortHexes(heads_after), ShortHexes(sim.HeadsOf(both)));
    ASSERT_OK_AND_ASSIGN(VersionVector vv_after, peer->GetVersionVector());
    EXPECT_EQ(vv_after, sim.VvOf(both));
    ASSERT_OK_AND_ASSIGN(StoreStats stats, peer->Stats());
    EXPECT_EQ(stats.events, both.size());
    if (sender_set == both) {
      ASSERT_OK_AND_ASSIGN(std::vector<Hash> sender_heads, sender->Heads());
      EXPECT_EQ(ShortHexes(heads_after), ShortHexes(sender_heads));
    }
    sender.reset();
    peer.reset();
    std::error_code ec;
    std::filesystem::remove_all(PathIn(sender_name), ec);
    std::filesystem::remove_all(PathIn(peer_name), ec);
  }
};

TEST_F(StoreDagRandomTest, MissingForThenAppendConvergesOnRandomMultiSiteHistories) {
  // CRLOG_TEST_SEED=<n> runs only seed n.
  const test_support::Seeds seeds({"CRLOG_TEST_SEED"}, 1, 12);
  for (uint64_t seed64 : seeds) {
    const auto seed = static_cast<uint32_t>(seed64);
    // Growing sizes, so the first failure reported is on a small history.
    for (int steps : {6, 20, 60, 150}) {
      Simulation sim(seed, 4);
      sim.Run(steps);
      SCOPED_TRACE(::testing::Message() << "seed=" << seed << " steps=" << steps
                                        << " (rerun with CRLOG_TEST_SEED=" << seed << ")\n"
                                        << sim.Describe());
      std::set<size_t> all;
      for (size_t i = 0; i < sim.events().size(); ++i) all.insert(i);
      const int r = static_cast<int>(sim.Next() % sim.replicas());
      int q = static_cast<int>(sim.Next() % sim.replicas());
      if (q == r) q = (q + 1) % sim.replicas();
      // A sender with the whole history, to each kind of peer.
      CheckExchange(sim, all, {}, "all-to-empty");
      CheckExchange(sim, all, sim.known(r), "all-to-replica");
      CheckExchange(sim, all, all, "all-to-all");
      // Two replicas that each know things the other does not.
      CheckExchange(sim, sim.known(q), sim.known(r), "replica-to-replica");
      if (HasFatalFailure() || HasNonfatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace crlog::log
