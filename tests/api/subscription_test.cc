// Replica::Subscribe: every commit that publishes events reaches the
// callback, after the commit, on crlog's notifier thread, in order; Reset
// stops it.
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "crlog/replica.h"
#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"

namespace crlog::api_test {
namespace {

// Notices as they arrive, and a way to wait for the n-th without sleeping.
class Inbox {
 public:
  void Add(const CommitNotice& notice) {
    std::lock_guard<std::mutex> lock(mu_);
    notices_.push_back(notice);
    threads_.push_back(std::this_thread::get_id());
    cv_.notify_all();
  }
  // The first `n` notices; fails the test after a minute without them.
  std::vector<CommitNotice> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::minutes(1), [&] { return notices_.size() >= n; }))
        << "only " << notices_.size() << " of " << n << " notices arrived";
    return notices_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return notices_.size();
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CommitNotice> notices_;
  std::vector<std::thread::id> threads_;
};

class SubscriptionTest : public ApiTest {
 protected:
  std::unique_ptr<Replica> OpenWithTable(const std::string& name) {
    auto replica = Replica::Open(File(name));
    EXPECT_TRUE(replica.ok()) << replica.status();
    if (!replica.ok()) return nullptr;
    EXPECT_TRUE((*replica)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)").ok());
    EXPECT_TRUE((*replica)->Replicate("t").ok());
    return *std::move(replica);
  }
};

TEST_F(SubscriptionTest, LocalCommitsArriveInOrderOffTheWritersThread) {
  auto a = OpenWithTable("a.db");
  ASSERT_TRUE(a);
  Inbox inbox;
  Subscription sub = a->Subscribe([&](const CommitNotice& n) { inbox.Add(n); });
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (2, 'two')").ok());
  auto notices = inbox.WaitFor(2);
  ASSERT_EQ(notices.size(), 2u);
  auto heads = a->Heads();
  ASSERT_TRUE(heads.ok());
  ASSERT_EQ(notices[1].events.size(), 1u);
  EXPECT_EQ(notices[1].events[0], (*heads)[0]);
  auto first = a->log().Get(notices[0].events.at(0));
  ASSERT_TRUE(first.ok());
  auto second = a->log().Get(notices[1].events[0]);
  ASSERT_TRUE(second.ok());
  EXPECT_LT(first->position, second->position);
  for (std::thread::id id : inbox.threads()) EXPECT_NE(id, std::this_thread::get_id());
}

TEST_F(SubscriptionTest, MergedCommitsAndOtherConnectionsCommitsArriveToo) {
  auto a = OpenWithTable("a.db");
  auto b = OpenWithTable("b.db");
  ASSERT_TRUE(a && b);
  Inbox inbox;
  Subscription sub = b->Subscribe([&](const CommitNotice& n) { inbox.Add(n); });
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  auto bundle = a->Export();
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(b->Apply(*bundle).ok());
  auto notices = inbox.WaitFor(1);
  ASSERT_GE(notices.size(), 1u);
  auto a_heads = a->Heads();
  ASSERT_TRUE(a_heads.ok());
  bool has_merged = false;
  for (const Hash& h : notices[0].events) has_merged |= h == (*a_heads)[0];
  EXPECT_TRUE(has_merged);

  // A write on another connection of this process to b.db.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(File("b.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_enable_load_extension(db, 1), SQLITE_OK);
  ASSERT_EQ(sqlite3_load_extension(db, CRLOG_EXTENSION, nullptr, nullptr), SQLITE_OK);
  ExecOrFail(db, "INSERT INTO t VALUES (2, 'two')");
  notices = inbox.WaitFor(2);
  ASSERT_GE(notices.size(), 2u);
  auto b_heads = b->Heads();
  ASSERT_TRUE(b_heads.ok());
  EXPECT_EQ(notices[1].events.back(), b_heads->back());
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
}

TEST_F(SubscriptionTest, ACallbackMayReadTheDatabaseAndSeesTheCommit) {
  auto a = OpenWithTable("a.db");
  ASSERT_TRUE(a);
  std::mutex mu;
  std::condition_variable cv;
  std::string seen;
  Subscription sub = a->Subscribe([&](const CommitNotice&) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(File("a.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::string v = QueryText(db, "SELECT v FROM t WHERE id = 1");
    sqlite3_close(db);
    std::lock_guard<std::mutex> lock(mu);
    seen = v;
    cv.notify_all();
  });
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::minutes(1), [&] { return !seen.empty(); }));
  EXPECT_EQ(seen, "one");
}

TEST_F(SubscriptionTest, AfterResetNoCallbackRuns) {
  auto a = OpenWithTable("a.db");
  ASSERT_TRUE(a);
  Inbox kept, dropped;
  // Subscribers hear each notice in the order they subscribed.
  Subscription drop = a->Subscribe([&](const CommitNotice& n) { dropped.Add(n); });
  Subscription keep = a->Subscribe([&](const CommitNotice& n) { kept.Add(n); });
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  kept.WaitFor(1);
  dropped.WaitFor(1);
  drop.Reset();
  EXPECT_FALSE(drop.active());
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (2, 'two')").ok());
  // Each notice goes to the subscribers in turn, the dropped one first:
  // once the kept one has the second, the dropped one would have had it.
  kept.WaitFor(2);
  EXPECT_EQ(dropped.size(), 1u);
}

TEST_F(SubscriptionTest, ASubscriptionOutlivesTheReplicaItCameFrom) {
  Inbox inbox;
  Subscription sub;
  {
    auto a = OpenWithTable("a.db");
    ASSERT_TRUE(a);
    sub = a->Subscribe([&](const CommitNotice& n) { inbox.Add(n); });
  }
  auto again = Replica::Open(File("a.db"));
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE((*again)->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  EXPECT_EQ(inbox.WaitFor(1).size(), 1u);
}

TEST_F(SubscriptionTest, ACallbackMayEndItsOwnSubscriptionWhenItHoldsTheLastReference) {
  auto a = OpenWithTable("a.db");
  ASSERT_TRUE(a);
  std::mutex mu;
  std::condition_variable cv;
  bool replica_closed = false, ended = false;
  Subscription sub;
  sub = a->Subscribe([&](const CommitNotice&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return replica_closed; });
    // Every Replica and connection is closed: this drops the engine, on the
    // notifier thread, from inside its own callback.
    sub.Reset();
    ended = true;
    cv.notify_all();
  });
  ASSERT_TRUE(a->Execute("INSERT INTO t VALUES (1, 'one')").ok());
  a.reset();
  std::unique_lock<std::mutex> lock(mu);
  replica_closed = true;
  cv.notify_all();
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::minutes(1), [&] { return ended; }));
  EXPECT_FALSE(sub.active());
}

}  // namespace
}  // namespace crlog::api_test
