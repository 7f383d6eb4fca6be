// The one seam for time. Only SystemClock reads the real clock; the scheduler,
// leases and timeouts take a `Clock&` so tests can drive a FakeClock.
//
// Two readings: Now() is the wall clock (schedules, records, what users see);
// Monotonic() never goes backwards and is what lease deadlines and timeouts
// are measured on, so an NTP step or an operator changing the time cannot
// keep an ex-leader believing it still leads. Monotonic() values mean
// nothing on their own; only differences between them do.
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
  virtual Time Monotonic() const = 0;
  // Blocks until Now() >= deadline.
  virtual void SleepUntil(Time deadline) = 0;
};

class SystemClock final : public Clock {
 public:
  Time Now() const override;
  Time Monotonic() const override;
  void SleepUntil(Time deadline) override;
  // A process-wide instance.
  static SystemClock& Get();
};

// A clock that moves only when told to. Advance moves both readings; Set
// steps the wall clock only (as NTP or an operator would), leaving the
// monotonic reading alone. SleepUntil blocks until another thread moves the
// wall clock past the deadline.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Time start) : now_(start), monotonic_(start) {}
  Time Now() const override;
  Time Monotonic() const override;
  void SleepUntil(Time deadline) override;
  void Set(Time t);
  void Advance(Millis d);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Time now_ ABSL_GUARDED_BY(mu_);
  Time monotonic_ ABSL_GUARDED_BY(mu_);
};

}  // namespace forest
