// The one seam for time. Only SystemClock reads the real clock; the scheduler,
// leases and timeouts take a `Clock&` so tests can drive a FakeClock.
#pragma once

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "common/time.h"

namespace forest {

// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  // Blocks until Now() >= deadline.
  virtual void SleepUntil(Time deadline) = 0;
};

class SystemClock final : public Clock {
 public:
  Time Now() const override;
  void SleepUntil(Time deadline) override;
  // A process-wide instance.
  static SystemClock& Get();
};

// A clock that moves only when told to. SleepUntil blocks until another thread
// advances the clock past the deadline.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Time start) : now_(start) {}
  Time Now() const override;
  void SleepUntil(Time deadline) override;
  void Set(Time t);
  void Advance(Millis d);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace forest
