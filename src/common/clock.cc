#include "common/clock.h"

#include <thread>

namespace forest {

Time SystemClock::Now() const {
  return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
}

Time SystemClock::Monotonic() const {
  return Time(
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch()));
}

void SystemClock::SleepUntil(Time deadline) { std::this_thread::sleep_until(deadline); }

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

Time FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

Time FakeClock::Monotonic() const {
  std::lock_guard lock(mu_);
  return monotonic_;
}

void FakeClock::SleepUntil(Time deadline) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return now_ >= deadline; });
}

void FakeClock::Set(Time t) {
  {
    std::lock_guard lock(mu_);
    now_ = t;
  }
  cv_.notify_all();
}

void FakeClock::Advance(Millis d) {
  {
    std::lock_guard lock(mu_);
    now_ += d;
    monotonic_ += d;
  }
  cv_.notify_all();
}

}  // namespace forest
