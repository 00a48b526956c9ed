// Commit notices, delivered on the feed's own thread (engine/commit_feed.h).
#include "engine/commit_feed.h"

namespace crlog::engine {

CommitFeed::~CommitFeed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  // The last reference to the replica may be dropped by a callback, on the
  // notifier thread itself, which cannot join itself.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

uint64_t CommitFeed::Subscribe(Callback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  subscribers_[id] = std::make_shared<Callback>(std::move(callback));
  has_subscribers_.store(true, std::memory_order_release);
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  return id;
}

void CommitFeed::Unsubscribe(uint64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  subscribers_.erase(id);
  has_subscribers_.store(!subscribers_.empty(), std::memory_order_release);
  if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) return;
  cv_.wait(lock, [&] { return running_ != id; });
}

void CommitFeed::Published(absl::Span<const log::Hash> events) {
  if (events.empty() || !has_subscribers_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(events.begin(), events.end());
  }
  cv_.notify_all();
}

void CommitFeed::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::vector<log::Hash> events = std::move(queue_.front());
    queue_.pop_front();
    // Subscribers added while this notice waited get it too: they asked
    // after the commit, and a notice is only ever early, never missed.
    std::vector<std::pair<uint64_t, std::shared_ptr<Callback>>> targets(subscribers_.begin(), subscribers_.end());
    for (auto& [id, callback] : targets) {
      if (!subscribers_.contains(id)) continue;  // unsubscribed meanwhile
      running_ = id;
      lock.unlock();
      (*callback)(events);
      lock.lock();
      running_ = 0;
      cv_.notify_all();
      if (stop_) return;
    }
  }
}

}  // namespace crlog::engine
