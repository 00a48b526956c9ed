// Rule 3 of DESIGN.md under kill -9 at an arbitrary instant: a writer child
// runs seeded random transactions, the parent kills it with SIGKILL after a
// seeded random number of acknowledged commits, and then possibly a few
// reported statements or the start of a COMMIT (the child is then somewhere
// inside a later transaction, often inside its commit), and the database is
// reopened and checked (tests/crash/harness.h). Each seed kills and restarts
// the writer up to three times, so recovery itself also runs in a child that
// is then killed, and ends by writing once more through crlog.
#include <cstdio>
#include <iterator>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/crash/harness.h"

namespace crlog::crash {
namespace {

class KilledWriterTest : public ::testing::TestWithParam<Mode> {};

// Chooses when the parent kills a writer: after 1..max_acks
// acknowledgements, and then possibly a few steps more.
void ChooseKill(std::mt19937_64& rng, int max_acks, WriterOptions* options) {
  options->kill_after_acks = std::uniform_int_distribution<int>(1, max_acks)(rng);
  // The kill follows an acknowledgement, or a few statements later, or
  // the start of a COMMIT, or one of SQLite's first writes inside a
  // COMMIT (crlog's commit phase one is done, SQLite's is not), or one
  // of SQLite's syncs or journal deletions inside a COMMIT (around
  // SQLite's commit point, before crlog publishes).
  switch (rng() % 5) {
    case 0:
      break;
    case 1:
      options->then_after_steps = std::uniform_int_distribution<int>(1, 8)(rng);
      break;
    case 2:
      options->then_after_steps = std::uniform_int_distribution<int>(1, 2)(rng);
      options->steps = WriterOptions::Step::kCommit;
      break;
    case 3:
      options->then_after_steps = std::uniform_int_distribution<int>(1, 6)(rng);
      options->steps = WriterOptions::Step::kCommitIo;
      break;
    case 4:
      // Rollback journal: journal sync, header sync, database sync, then
      // the deletion that commits. WAL: the one sync that commits.
      options->then_after_steps = std::uniform_int_distribution<int>(1, 4)(rng);
      options->steps = WriterOptions::Step::kCommitSync;
      break;
  }
}

TEST_P(KilledWriterTest, KilledWriterLosesNoAcknowledgedCommit) {
  const Mode& mode = GetParam();
  // Where the kills landed, for the record (named crash points cover the
  // narrow windows deterministically).
  int kills = 0, left_pending = 0, left_committed_pending = 0;
  const test_support::Seeds seeds = Seeds(20, 1);
  for (uint64_t seed : seeds) {
    SeedTrace trace(seeds, seed, absl::StrCat("mode ", mode.name));
    TempDir dir;
    const std::string db = dir.Db();
    std::mt19937_64 rng(seed);
    const int rounds = 1 + static_cast<int>(seed % 3);
    std::set<int64_t> known;  // committed: acknowledged, or found after an earlier recovery
    for (int round = 0; round < rounds; ++round) {
      SCOPED_TRACE(testing::Message() << "round " << round);
      WriterOptions options;
      options.seed = seed * 100 + static_cast<uint64_t>(round);
      options.mode = &mode;
      ChooseKill(rng, 25, &options);
      auto run = RunWriter(db, options);
      ASSERT_TRUE(run.ok()) << run.status();
      ASSERT_TRUE(run->KilledBySigkill()) << run->Describe();
      ASSERT_GE(run->acks.size(), static_cast<size_t>(options.kill_after_acks)) << run->Describe();
      for (int64_t k : run->acks) {
        ASSERT_TRUE(known.insert(k).second) << "transaction " << k << " acknowledged twice";
      }
      auto crashed = ReadLogFacts(db);
      ASSERT_TRUE(crashed.ok()) << crashed.status();
      ++kills;
      if (!crashed->pending.empty()) {
        ++left_pending;
        for (const log::Hash& h : crashed->pending) left_committed_pending += h == crashed->watermark.hash;
      }
      Recovered recovered;
      ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, known, &recovered));
      if (::testing::Test::HasFailure()) return;
      known = recovered.txlog;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
    if (::testing::Test::HasFailure()) return;
  }
  std::printf("[ %s ] %d kills: %d left an event pending, %d of them committed in SQLite\n", mode.name, kills,
              left_pending, left_committed_pending);
}

// Two writers share the database; one (sometimes both) is killed while the
// other goes on, so the survivor's next commit, not a reopen, is the first
// to find what the dead one left (its pending event, its stale LMDB reader
// slot, a lock it held). Each writer numbers its transactions in a range
// of its own.
TEST_P(KilledWriterTest, ConcurrentWritersLoseNoAcknowledgedCommitWhenOneIsKilled) {
  const Mode& mode = GetParam();
  const test_support::Seeds seeds = Seeds(10, 500);
  for (uint64_t seed : seeds) {
    SeedTrace trace(seeds, seed, absl::StrCat("mode ", mode.name));
    TempDir dir;
    const std::string db = dir.Db();
    ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
    std::mt19937_64 rng(seed);
    const std::vector<int64_t> bases = {kIdRange, 2 * kIdRange};
    std::set<int64_t> known;
    const int rounds = 1 + static_cast<int>(seed % 2);
    for (int round = 0; round < rounds; ++round) {
      SCOPED_TRACE(testing::Message() << "round " << round);
      std::vector<WriterOptions> options(2);
      for (size_t w = 0; w < 2; ++w) {
        options[w].seed = seed * 100 + static_cast<uint64_t>(round * 2 + w);
        options[w].mode = &mode;
        options[w].id_base = bases[w];
      }
      ChooseKill(rng, 20, &options[0]);
      const bool both_killed = rng() % 2 == 0;
      if (both_killed) {
        ChooseKill(rng, 30, &options[1]);
      } else {
        options[1].limit = std::uniform_int_distribution<int>(5, 30)(rng);
      }
      auto runs = RunWriters(db, options);
      ASSERT_TRUE(runs.ok()) << runs.status();
      const WriterResult& killed = (*runs)[0];
      const WriterResult& other = (*runs)[1];
      ASSERT_TRUE(killed.KilledBySigkill()) << killed.Describe();
      if (both_killed) {
        ASSERT_TRUE(other.KilledBySigkill()) << other.Describe();
      } else {
        ASSERT_TRUE(other.ExitedCleanly()) << other.Describe();
      }
      for (const WriterResult* run : {&killed, &other}) {
        for (int64_t k : run->acks) {
          ASSERT_TRUE(known.insert(k).second) << "transaction " << k << " acknowledged twice";
        }
      }
      std::set<int64_t> in_flight;
      for (int64_t base : bases) {
        auto it = known.lower_bound(base + kIdRange);
        in_flight.insert(it == known.begin() || *std::prev(it) <= base ? base + 1 : *std::prev(it) + 1);
      }
      Recovered recovered;
      ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, known, in_flight, &recovered));
      if (HasFailure()) return;
      known = recovered.txlog;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectWritesAgain(db, mode));
    if (HasFailure()) return;
  }
}

// The control: the same workload, never killed, matches its log. When this
// fails too, the fault is in capture, not in crash recovery.
TEST_P(KilledWriterTest, UninterruptedWriterMatchesItsLog) {
  const Mode& mode = GetParam();
  const test_support::Seeds seeds = Seeds(4, 1000);
  for (uint64_t seed : seeds) {
    SeedTrace trace(seeds, seed, absl::StrCat("mode ", mode.name));
    TempDir dir;
    const std::string db = dir.Db();
    WriterOptions options;
    options.seed = seed;
    options.mode = &mode;
    options.limit = 40;
    auto run = RunWriter(db, options);
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_TRUE(run->ExitedCleanly()) << run->Describe();
    std::set<int64_t> acked(run->acks.begin(), run->acks.end());
    ASSERT_EQ(acked.size(), 40u) << run->Describe();
    Recovered recovered;
    ASSERT_NO_FATAL_FAILURE(ExpectRecovered(db, mode, acked, &recovered));
    EXPECT_EQ(recovered.txlog, acked) << "statements: " << run->stderr_path;
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, KilledWriterTest, ::testing::ValuesIn(Modes()), ModeName);

}  // namespace
}  // namespace crlog::crash
