// Commit notices, delivered on the feed's own thread (engine/replica/commit_feed.h).
#include "engine/replica/commit_feed.h"

namespace crlog::engine {

CommitFeed::~CommitFeed() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (!thread_.joinable()) return;
  // The last reference to the replica may be dropped by a callback, on the
  // notifier thread itself, which cannot join itself; it stops on its own.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

uint64_t CommitFeed::Subscribe(Callback callback) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const uint64_t id = state_->next_id++;
  state_->subscribers[id] = std::make_shared<Callback>(std::move(callback));
  state_->has_subscribers.store(true, std::memory_order_release);
  if (!thread_.joinable()) thread_ = std::thread(&CommitFeed::Run, state_);
  return id;
}

void CommitFeed::Unsubscribe(uint64_t id) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->subscribers.erase(id);
  state_->has_subscribers.store(!state_->subscribers.empty(), std::memory_order_release);
  if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) return;
  state_->cv.wait(lock, [&] { return state_->running != id; });
}

void CommitFeed::Published(absl::Span<const log::Hash> events) {
  if (events.empty() || !state_->has_subscribers.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->queue.emplace_back(events.begin(), events.end());
  }
  state_->cv.notify_all();
}

void CommitFeed::Run(std::shared_ptr<State> state) {
  std::unique_lock<std::mutex> lock(state->mu);
  while (true) {
    state->cv.wait(lock, [&] { return state->stop || !state->queue.empty(); });
    if (state->stop) return;
    std::vector<log::Hash> events = std::move(state->queue.front());
    state->queue.pop_front();
    // In subscription order; a subscriber removed meanwhile is skipped.
    std::vector<std::pair<uint64_t, std::shared_ptr<Callback>>> targets(state->subscribers.begin(),
                                                                        state->subscribers.end());
    for (auto& [id, callback] : targets) {
      if (!state->subscribers.contains(id)) continue;
      state->running = id;
      lock.unlock();
      (*callback)(events);
      lock.lock();
      state->running = 0;
      state->cv.notify_all();
      if (state->stop) return;
    }
  }
}

}  // namespace crlog::engine
