// crlog verify on a database that a writer is committing to (issue 11, item
// 14). Verify reads one snapshot of the database, and a log read after that
// snapshot began, so it passes whatever the writer is doing. It used to raise
// false alarms in most runs ("the database is older than its log", rows that
// differ), and in rollback-journal mode it failed with "database is locked".
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/history/verify_database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/crash/harness.h"

namespace crlog::crash {
namespace {

class LiveVerifyTest : public ::testing::TestWithParam<Mode> {};

TEST_P(LiveVerifyTest, VerifyPassesWhileAWriterCommits) {
  const Mode& mode = GetParam();
  TempDir dir;
  const std::string db = dir.Db();
  ASSERT_NO_FATAL_FAILURE(PrepareDatabase(db, mode));
  WriterOptions options;
  options.seed = 11;
  options.mode = &mode;
  options.limit = 300;
  options.id_base = kIdRange;  // a concurrent writer: it waits (busy timeout) while verify reads

  std::atomic<bool> done{false};
  absl::StatusOr<WriterResult> run;
  std::thread writer([&] {
    run = RunWriter(db, options);
    done.store(true);
  });
  int verified = 0;
  std::vector<std::string> faults;
  do {
    auto report = engine::VerifyDatabase(db);
    if (report.ok()) {
      ++verified;
    } else {
      faults.push_back(report.status().ToString());
    }
  } while (!done.load());
  writer.join();

  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->ExitedCleanly()) << run->Describe();
  EXPECT_THAT(faults, ::testing::IsEmpty()) << verified << " runs of verify passed beside them";
  auto after = engine::VerifyDatabase(db);
  EXPECT_TRUE(after.ok()) << after.status();
}

INSTANTIATE_TEST_SUITE_P(Modes, LiveVerifyTest, ::testing::ValuesIn(Modes()), ModeName);

}  // namespace
}  // namespace crlog::crash
