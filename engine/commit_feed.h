// CommitFeed: tells subscribers which events a commit published, on a
// thread of its own, so that no subscriber ever runs inside SQLite's commit
// or delays one (crlog/replica.h, Replica::Subscribe, states the contract).
//
// Thread rules: every method is thread-safe. The notifier thread starts with
// the first subscription and stops when the feed is destroyed.
#ifndef CRLOG_ENGINE_COMMIT_FEED_H_
#define CRLOG_ENGINE_COMMIT_FEED_H_

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
  void Run();

  std::atomic<bool> has_subscribers_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<Callback>> subscribers_;  // guarded by mu_
  std::deque<std::vector<log::Hash>> queue_;                   // guarded by mu_
  uint64_t next_id_ = 1;                                       // guarded by mu_
  uint64_t running_ = 0;  // id of the callback running now; guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_COMMIT_FEED_H_
