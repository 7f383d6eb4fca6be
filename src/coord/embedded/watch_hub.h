// Internal to EmbeddedStore: watch delivery. One dispatcher thread calls the
// watchers' callbacks, never under the store's mutex, each watcher's events
// in revision order.
//
// Exactly once: the store registers a watcher (with its replay from the log)
// and publishes each change under its own mutex, so a watcher's queue is the
// log from its start revision on, without gap or repeat. Each watcher has a
// queue; the dispatcher takes turns between watchers with pending updates.
//
// Lifetime: shared by the store and its WatchHandles, so a handle may outlive
// the store. Destroying a handle cancels its watcher and waits until its
// callback is not running (unless called from that very callback); after
// Close() the dispatcher has delivered everything and exited.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "coord/store.h"

namespace forest::coord::embedded_internal {

class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  struct Spec {
    std::string key;
    std::string range_end;
    Revision start_revision = 1;  // published events before it are skipped
    bool prev_kv = false;
  };

  static std::shared_ptr<WatchHub> Start();
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Registers a watcher: `replay` (already filtered to its range) is
  // delivered first, then published events; with `end`, that update follows
  // the replay and ends the watch.
  std::unique_ptr<WatchHandle> Add(const Spec& spec, std::vector<WatchEvent> replay,
                                   std::optional<WatchUpdate> end,
                                   std::function<void(WatchUpdate)> callback);
  // Queues one change's events (one revision, in order) for the watchers.
  void Publish(const std::vector<WatchEvent>& events);
  // Ends every watch with `status` after what is queued, waits for the
  // dispatcher to deliver it all, and stops it. REQUIRES: not on the
  // dispatcher thread; nothing is added or published afterwards.
  void Close(const absl::Status& status);

 private:
  struct Watcher;
  class Handle;

  WatchHub() = default;
  void Run();
  void Cancel(const std::shared_ptr<Watcher>& watcher);
  void Enqueue(const std::shared_ptr<Watcher>& watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  std::condition_variable work_cv_;  // the dispatcher waits for work
  std::condition_variable idle_cv_;  // cancellers wait for a callback to return
  std::vector<std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Watcher>> ready_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread dispatcher_;
  std::thread::id dispatcher_id_;
};

}  // namespace forest::coord::embedded_internal
