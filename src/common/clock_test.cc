#include "common/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace forest {
namespace {

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock(Time(Millis(1000)));
  EXPECT_EQ(clock.Now(), Time(Millis(1000)));
  clock.Advance(Millis(250));
  EXPECT_EQ(clock.Now(), Time(Millis(1250)));
  clock.Set(Time(Millis(5)));
  EXPECT_EQ(clock.Now(), Time(Millis(5)));
}

TEST(FakeClockTest, SleepUntilWakesWhenAdvancedPastTheDeadline) {
  FakeClock clock(Time(Millis(0)));
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.SleepUntil(Time(Millis(100)));
    woke = true;
  });
  clock.Advance(Millis(99));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(woke);
  clock.Advance(Millis(1));
  sleeper.join();
  EXPECT_TRUE(woke);
}

TEST(SystemClockTest, IsNearTheRealTime) {
  const auto before = std::chrono::system_clock::now();
  const Time now = SystemClock::Get().Now();
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(now + Millis(1), before);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace forest
