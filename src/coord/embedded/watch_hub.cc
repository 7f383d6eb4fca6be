#include "coord/embedded/watch_hub.h"

#include <algorithm>

#include "coord/embedded/mvcc.h"

namespace forest::coord::embedded_internal {
namespace {

// Events per update, rounded up to a whole revision.
constexpr size_t kBatch = 1000;

}  // namespace

struct WatchHub::Watcher {
  Spec spec;
  std::function<void(WatchUpdate)> callback;
  // Guarded by the hub's mu_.
  std::deque<WatchEvent> pending;
  std::optional<WatchUpdate> end;  // delivered once `pending` is empty
  bool queued = false;             // in ready_
  bool running = false;            // the callback is running
  bool finished = false;           // canceled or ended: never called again
};

class WatchHub::Handle final : public WatchHandle {
 public:
  Handle(std::shared_ptr<WatchHub> hub, std::shared_ptr<Watcher> watcher)
      : hub_(std::move(hub)), watcher_(std::move(watcher)) {}
  ~Handle() override { hub_->Cancel(watcher_); }

 private:
  const std::shared_ptr<WatchHub> hub_;
  const std::shared_ptr<Watcher> watcher_;
};

std::shared_ptr<WatchHub> WatchHub::Start() {
  std::shared_ptr<WatchHub> hub(new WatchHub());
  hub->dispatcher_ = std::thread([h = hub.get()] { h->Run(); });
  hub->dispatcher_id_ = hub->dispatcher_.get_id();
  return hub;
}

WatchHub::~WatchHub() {
  // Close() normally joined it; the store always closes its hub.
  if (dispatcher_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    dispatcher_.join();
  }
}

std::unique_ptr<WatchHandle> WatchHub::Add(const Spec& spec, std::vector<WatchEvent> replay,
                                           std::optional<WatchUpdate> end,
                                           std::function<void(WatchUpdate)> callback) {
  auto watcher = std::make_shared<Watcher>();
  watcher->spec = spec;
  watcher->callback = std::move(callback);
  for (WatchEvent& event : replay) {
    if (!spec.prev_kv) event.prev_kv.reset();
    watcher->pending.push_back(std::move(event));
  }
  const bool ends = end.has_value();
  watcher->end = std::move(end);
  {
    std::lock_guard lock(mu_);
    if (!ends) watchers_.push_back(watcher);
    if (!watcher->pending.empty() || ends) Enqueue(watcher);
  }
  return std::make_unique<Handle>(shared_from_this(), watcher);
}

void WatchHub::Enqueue(const std::shared_ptr<Watcher>& watcher) {
  // A running watcher is requeued by the dispatcher when its callback returns.
  if (watcher->queued || watcher->running) return;
  watcher->queued = true;
  ready_.push_back(watcher);
  work_cv_.notify_one();
}

void WatchHub::Publish(const std::vector<WatchEvent>& events) {
  std::lock_guard lock(mu_);
  for (const std::shared_ptr<Watcher>& watcher : watchers_) {
    const Spec& spec = watcher->spec;
    bool any = false;
    for (const WatchEvent& event : events) {
      if (event.kv.mod_revision < spec.start_revision ||
          !KeyInRange(event.kv.key, spec.key, spec.range_end)) {
        continue;
      }
      watcher->pending.push_back(event);
      if (!spec.prev_kv) watcher->pending.back().prev_kv.reset();
      any = true;
    }
    if (any) Enqueue(watcher);
  }
}

void WatchHub::Close(const absl::Status& status) {
  {
    std::lock_guard lock(mu_);
    for (const std::shared_ptr<Watcher>& watcher : watchers_) {
      if (watcher->finished) continue;
      WatchUpdate end;
      end.ended = true;
      end.status = status;
      watcher->end = std::move(end);
      Enqueue(watcher);
    }
    watchers_.clear();
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

void WatchHub::Cancel(const std::shared_ptr<Watcher>& watcher) {
  std::unique_lock lock(mu_);
  watcher->finished = true;
  watcher->pending.clear();
  watcher->end.reset();
  std::erase(watchers_, watcher);
  // From inside its own callback (which store.h forbids) waiting would deadlock.
  if (std::this_thread::get_id() == dispatcher_id_) return;
  idle_cv_.wait(lock, [&] { return !watcher->running; });
}

void WatchHub::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return !ready_.empty() || stopping_; });
    if (ready_.empty()) return;  // stopping, and everything delivered
    const std::shared_ptr<Watcher> watcher = std::move(ready_.front());
    ready_.pop_front();
    watcher->queued = false;
    if (watcher->finished) continue;

    WatchUpdate update;
    while (!watcher->pending.empty()) {
      if (update.events.size() >= kBatch &&
          watcher->pending.front().kv.mod_revision != update.events.back().kv.mod_revision) {
        break;
      }
      update.events.push_back(std::move(watcher->pending.front()));
      watcher->pending.pop_front();
    }
    if (update.events.empty()) {
      if (!watcher->end) continue;
      update = std::move(*watcher->end);
      watcher->end.reset();
      watcher->finished = true;
    }

    watcher->running = true;
    lock.unlock();
    watcher->callback(std::move(update));
    lock.lock();
    watcher->running = false;
    idle_cv_.notify_all();
    if (!watcher->finished && (!watcher->pending.empty() || watcher->end)) Enqueue(watcher);
  }
}

}  // namespace forest::coord::embedded_internal
