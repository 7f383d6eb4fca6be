// Test support: records what a watch delivers and lets a test wait for it
// (with real-time limits), plus a polling wait for any condition.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "coord/store.h"

namespace forest::coord::testing {

// Polls `cond` every 2 ms until it holds (true) or `limit` passes (false).
inline bool WaitUntil(const std::function<bool()>& cond,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Thread-safe: the callback runs on the store's thread, the test waits on its own.
class WatchRecorder {
 public:
  using Limit = std::chrono::milliseconds;
  static constexpr Limit kDefaultLimit{15000};

  std::function<void(WatchUpdate)> Callback() {
    return [this](WatchUpdate update) {
      std::lock_guard lock(mu_);
      for (WatchEvent& e : update.events) events_.push_back(std::move(e));
      if (update.ended) {
        ++ends_;
        end_ = std::move(update);
      }
      cv_.notify_all();
    };
  }

  // At least `n` events arrived.
  bool WaitForEvents(size_t n, Limit limit = kDefaultLimit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return events_.size() >= n; });
  }
  // An event at `revision` or later arrived.
  bool WaitForRevision(Revision revision, Limit limit = kDefaultLimit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      return !events_.empty() && events_.back().kv.mod_revision >= revision;
    });
  }
  // The watch ended.
  bool WaitForEnd(Limit limit = kDefaultLimit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return ends_ > 0; });
  }

  std::vector<WatchEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  // How many updates said `ended` (a correct store sends at most one).
  int ends() {
    std::lock_guard lock(mu_);
    return ends_;
  }
  // The update that ended the watch (its status and compact_revision).
  WatchUpdate end() {
    std::lock_guard lock(mu_);
    return end_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatchEvent> events_;
  WatchUpdate end_;
  int ends_ = 0;
};

}  // namespace forest::coord::testing
