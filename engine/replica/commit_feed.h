// CommitFeed: tells subscribers which events a commit published, on a
// thread of its own, so that no subscriber ever runs inside SQLite's commit
// or delays one (crlog/replica.h, Replica::Subscribe, states the contract).
//
// Thread rules: every method is thread-safe. The notifier thread starts with
// the first subscription and stops when the feed is destroyed.
#ifndef CRLOG_ENGINE_REPLICA_COMMIT_FEED_H_
#define CRLOG_ENGINE_REPLICA_COMMIT_FEED_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/types/span.h"
#include "log/hash.h"

namespace crlog::engine {

class CommitFeed {
 public:
  using Callback = std::function<void(const std::vector<log::Hash>& events)>;

  CommitFeed() = default;
  ~CommitFeed();
  CommitFeed(const CommitFeed&) = delete;
  CommitFeed& operator=(const CommitFeed&) = delete;

  // Returns the subscription's id, for Unsubscribe.
  uint64_t Subscribe(Callback callback);
  // After it returns the callback is not running and will not run again,
  // unless called from the callback itself (then later calls only stop).
  void Unsubscribe(uint64_t id);
  // Called once a commit's events are visible in the log. Costs one atomic
  // load when nobody subscribes; never waits for a callback.
  void Published(absl::Span<const log::Hash> events);

 private:
  // What the notifier thread shares with the feed. The thread owns a
  // reference, so a callback that drops the last reference to the replica
  // (and so destroys the feed, on the notifier thread) leaves it valid.
  struct State {
    std::atomic<bool> has_subscribers{false};
    std::mutex mu;
    std::condition_variable cv;
    std::map<uint64_t, std::shared_ptr<Callback>> subscribers;  // guarded by mu
    std::deque<std::vector<log::Hash>> queue;                   // guarded by mu
    uint64_t next_id = 1;                                       // guarded by mu
    uint64_t running = 0;  // id of the callback running now; guarded by mu
    bool stop = false;     // guarded by mu
  };
  static void Run(std::shared_ptr<State> state);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::thread thread_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_COMMIT_FEED_H_
