// crlog::Log: reading a replica's log on its own, standalone logs, and
// waiting for another process's commits without polling.
#include "crlog/log.h"

#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/time/time.h"
#include "crlog/replica.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"

namespace crlog::api_test {
namespace {

using ::testing::HasSubstr;

class LogApiTest : public ApiTest {
 protected:
  // A database with one replicated table and one committed insert, closed.
  void MakeDatabase(const std::string& name) {
    auto replica = Replica::Open(File(name));
    ASSERT_TRUE(replica.ok()) << replica.status();
    ASSERT_TRUE((*replica)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)").ok());
    ASSERT_TRUE((*replica)->Replicate("t").ok());
    ASSERT_TRUE((*replica)->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  }
};

// The CLI finds the database of a log directory the user names, and refuses
// to write inside one, by this name rule alone.
TEST(LogPathTest, DatabasePathOfInvertsLogPathFor) {
  EXPECT_EQ(DatabasePathOf(LogPathFor("/data/app.db")), "/data/app.db");
  EXPECT_EQ(DatabasePathOf("/data/app.db-crlog/"), "/data/app.db");
  EXPECT_EQ(DatabasePathOf("/data/app.db"), std::nullopt);
  EXPECT_EQ(DatabasePathOf("-crlog"), std::nullopt);
}

TEST_F(LogApiTest, ADatabasePathOpensItsLogReadOnlyAndVerifies) {
  ASSERT_NO_FATAL_FAILURE(MakeDatabase("a.db"));
  auto log = Log::OpenReadOnly(File("a.db"));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->path(), LogPathFor(File("a.db")));
  auto report = (*log)->Verify();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->events, 1u);
  uint64_t seen = 0;
  ASSERT_TRUE((*log)->ForEach([&](const StoredEvent& e) {
    EXPECT_EQ(e.position, ++seen);
    return true;
  }).ok());
  auto last = (*log)->LastPosition();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, seen);
  auto appended = (*log)->Append({});
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LogApiTest, AMissingLogIsNotFoundAndNothingIsCreated) {
  auto log = Log::OpenReadOnly(File("nothing.db"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("nothing.db"));
  EXPECT_FALSE(std::filesystem::exists(File("nothing.db-crlog")));
}

TEST_F(LogApiTest, AStandaloneLogTakesAReplicasEventsAndRefusesADatabasesLog) {
  ASSERT_NO_FATAL_FAILURE(MakeDatabase("a.db"));
  auto source = Log::OpenReadOnly(File("a.db"));
  ASSERT_TRUE(source.ok());
  auto events = (*source)->EventsSince({});
  ASSERT_TRUE(events.ok());
  std::vector<std::string> bytes;
  for (const StoredEvent& e : *events) bytes.push_back(e.bytes);

  auto relay = Log::OpenStandalone(File("relay"));
  ASSERT_TRUE(relay.ok()) << relay.status();
  auto ids = (*relay)->Append(bytes);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->size(), bytes.size());
  EXPECT_EQ(*(*relay)->Heads(), *(*source)->Heads());
  // A garbled event is refused and leaves the relay as it was.
  std::string garbled = bytes.back();
  garbled[garbled.size() / 2] ^= 0x5a;
  auto refused = (*relay)->Append({garbled});
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ((*(*relay)->Stats()).events, bytes.size());

  auto database_log = Log::OpenStandalone(LogPathFor(File("a.db")));
  ASSERT_FALSE(database_log.ok());
  EXPECT_EQ(database_log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(database_log.status().message()), HasSubstr("log of a database"));
}

TEST_F(LogApiTest, WaitingWithNothingNewTimesOut) {
  ASSERT_NO_FATAL_FAILURE(MakeDatabase("a.db"));
  auto log = Log::OpenReadOnly(File("a.db"));
  ASSERT_TRUE(log.ok());
  auto last = (*log)->LastPosition();
  ASSERT_TRUE(last.ok());
  auto woke = (*log)->WaitForEventsAfter(*last, absl::Milliseconds(50));
  ASSERT_TRUE(woke.ok()) << woke.status();
  EXPECT_FALSE(*woke);
  // An event already past the position returns at once.
  woke = (*log)->WaitForEventsAfter(0, absl::Hours(1));
  ASSERT_TRUE(woke.ok());
  EXPECT_TRUE(*woke);
}

TEST_F(LogApiTest, AWaiterWakesWhenAnotherProcessCommits) {
  ASSERT_NO_FATAL_FAILURE(MakeDatabase("a.db"));
  auto log = Log::OpenReadOnly(File("a.db"));
  ASSERT_TRUE(log.ok());
  auto last = (*log)->LastPosition();
  ASSERT_TRUE(last.ok());
  // Waits up to a minute: a wake-up is a commit, not a timer.
  auto waiter = std::async(std::launch::async, [&] { return (*log)->WaitForEventsAfter(*last, absl::Minutes(1)); });
  // Another process writes: the sqlite3 shell with the extension loaded.
  const std::string command = "sqlite3 '" + File("a.db") + "' '.load " + CRLOG_EXTENSION +
                              "' \"INSERT INTO t VALUES (2, 'two')\"";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto woke = waiter.get();
  ASSERT_TRUE(woke.ok()) << woke.status();
  EXPECT_TRUE(*woke);
  auto now = (*log)->LastPosition();
  ASSERT_TRUE(now.ok());
  EXPECT_GT(*now, *last);
}

}  // namespace
}  // namespace crlog::api_test
