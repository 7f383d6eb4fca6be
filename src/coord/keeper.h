// Internal to coord/: the part of a LeaseKeeper both backends share.
//
// A renewer thread calls `renew` every ttl/3 (measured on the Clock, polled
// every `poll` of real time); a monitor thread declares the lease lost when
// the deadline (last acknowledged renewal's send time + ttl - safety margin)
// passes, even while `renew` is blocked on a dead connection. `on_lost` runs
// once, on one of the keeper's threads, when the lease is lost for any
// reason; it must not destroy the keeper. Once lost, always lost. Times are
// the clock's monotonic readings.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "coord/store.h"

namespace forest::coord {

class KeeperCore final : public LeaseKeeper {
 public:
  // One keep-alive round trip within `budget` (a third of the TTL, at most
  // half the time left before the deadline, so a stuck endpoint leaves time
  // to try another): the TTL the server granted, kNotFound when the lease is
  // gone (final), any other error to retry. It is interrupted by `cancel`
  // when the keeper is destroyed.
  using RenewFn = std::function<absl::StatusOr<std::chrono::seconds>(Millis budget)>;

  // Renews once before returning, so the deadline starts from a server's
  // acknowledgement; kNotFound (or the renewal's error) when that fails.
  static absl::StatusOr<std::unique_ptr<KeeperCore>> Start(
      LeaseId id, KeepAliveOptions options, Clock& clock, RenewFn renew,
      std::function<void()> cancel = nullptr,
      std::chrono::milliseconds poll = std::chrono::milliseconds(20));
  ~KeeperCore() override;

  LeaseId id() const override { return id_; }
  Time deadline() const override;
  bool lost() const override;

 private:
  KeeperCore(LeaseId id, KeepAliveOptions options, Clock& clock, RenewFn renew,
             std::function<void()> cancel, std::chrono::milliseconds poll);
  void RenewLoop();
  void MonitorLoop();
  void MarkLost();
  // Waits `poll` of real time or until stopping; false when stopping.
  bool Sleep();

  const LeaseId id_;
  const KeepAliveOptions options_;
  Clock& clock_;
  const RenewFn renew_;
  const std::function<void()> cancel_;
  const std::chrono::milliseconds poll_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Time last_ack_ ABSL_GUARDED_BY(mu_);  // send time of the last acknowledged renewal
  std::chrono::seconds ttl_ ABSL_GUARDED_BY(mu_);
  mutable std::atomic<bool> lost_{false};
  std::once_flag lost_once_;
  std::thread renewer_;
  std::thread monitor_;
};

}  // namespace forest::coord
