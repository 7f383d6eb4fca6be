#include "coord/keeper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "coord/testing/watch_recorder.h"

namespace forest::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::WaitUntil;

const Time kStart{Millis(1767225600000)};

// Advances the fake clock in small steps, giving the keeper's threads (which
// poll every few milliseconds of real time) a chance to act at each step.
void AdvanceSlowly(FakeClock& clock, milliseconds total, milliseconds step = milliseconds(100)) {
  for (milliseconds done{0}; done < total; done += step) {
    clock.Advance(step);
    std::this_thread::sleep_for(milliseconds(5));
  }
}

KeepAliveOptions Options(std::atomic<int>* lost_calls) {
  KeepAliveOptions o;
  o.safety_margin = milliseconds(500);
  o.on_lost = [lost_calls] { ++*lost_calls; };
  return o;
}

TEST(KeeperTest, RenewsEveryThirdOfTheTtlAndMovesTheDeadline) {
  FakeClock clock(kStart);
  std::atomic<int> renewals{0}, lost{0};
  auto keeper = KeeperCore::Start(
                    7, Options(&lost), clock,
                    [&](Millis) -> absl::StatusOr<seconds> {
                      ++renewals;
                      return seconds(3);
                    },
                    nullptr, milliseconds(1))
                    .value();
  EXPECT_EQ(renewals, 1);  // once before Start returns
  EXPECT_EQ(keeper->id(), 7);
  EXPECT_EQ(keeper->deadline(), kStart + milliseconds(2500));
  // 10 s of fake time in 100 ms steps: a renewal every 1 s.
  AdvanceSlowly(clock, milliseconds(10000));
  EXPECT_TRUE(WaitUntil([&] { return renewals >= 10; })) << renewals;
  EXPECT_LE(renewals, 12);
  EXPECT_FALSE(keeper->lost());
  EXPECT_EQ(lost, 0);
  EXPECT_GE(keeper->deadline(), clock.Now() + milliseconds(1400));
}

TEST(KeeperTest, LeaseGoneOnTheServerIsLostOnce) {
  FakeClock clock(kStart);
  std::atomic<int> lost{0};
  std::atomic<bool> gone{false};
  auto keeper = KeeperCore::Start(
                    7, Options(&lost), clock,
                    [&](Millis) -> absl::StatusOr<seconds> {
                      if (gone) return absl::NotFoundError("lease not found");
                      return seconds(3);
                    },
                    nullptr, milliseconds(1))
                    .value();
  gone = true;
  AdvanceSlowly(clock, milliseconds(1100));
  EXPECT_TRUE(WaitUntil([&] { return lost == 1; }));
  EXPECT_TRUE(keeper->lost());
  AdvanceSlowly(clock, milliseconds(5000));
  EXPECT_EQ(lost, 1);
}

// A keeper whose renewals succeed until `Block()`, then hang (a dead
// connection) until the keeper cancels them.
struct BlockingKeeper {
  explicit BlockingKeeper(FakeClock& clock) {
    std::shared_future<void> unblocked = unblock.get_future().share();
    keeper = KeeperCore::Start(
                 7, Options(&lost), clock,
                 [this, unblocked](Millis) -> absl::StatusOr<seconds> {
                   if (block) {
                     unblocked.wait();
                     return absl::CancelledError("cancelled");
                   }
                   return seconds(3);
                 },
                 [this] { unblock.set_value(); }, milliseconds(1))
                 .value();
  }
  void Block() { block = true; }

  std::atomic<int> lost{0};
  std::atomic<bool> block{false};
  std::promise<void> unblock;
  std::unique_ptr<KeeperCore> keeper;  // last: destroyed (and joined) first
};

TEST(KeeperTest, BlockedRenewalsLoseTheLeaseAtTheDeadlineNotLater) {
  FakeClock clock(kStart);
  BlockingKeeper k(clock);
  k.Block();
  // Deadline: 2.5 s after the last acknowledgement (at kStart).
  clock.Advance(milliseconds(2400));
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_FALSE(k.keeper->lost());
  EXPECT_EQ(k.lost, 0);
  clock.Advance(milliseconds(100));
  EXPECT_TRUE(k.keeper->lost());  // at once, from the clock
  EXPECT_TRUE(WaitUntil([&] { return k.lost == 1; }));
  k.keeper.reset();  // the cancel function unblocks the renewal; no hang
}

// Regression: deadlines ran on the wall clock, so stepping it back (NTP, an
// operator) kept a partitioned leader "alive" past its real deadline.
TEST(KeeperTest, DeadlineIgnoresWallClockSteps) {
  FakeClock clock(kStart);
  BlockingKeeper k(clock);
  k.Block();
  clock.Set(kStart - seconds(3600));  // the wall clock jumps an hour back
  clock.Advance(milliseconds(2600));  // but 2.6 s really pass
  EXPECT_TRUE(k.keeper->lost());
  EXPECT_TRUE(WaitUntil([&] { return k.lost == 1; }));
}

TEST(KeeperTest, LostStaysLostEvenIfALateAcknowledgementArrives) {
  FakeClock clock(kStart);
  std::atomic<int> lost{0};
  auto keeper = KeeperCore::Start(
                    7, Options(&lost), clock,
                    [](Millis) -> absl::StatusOr<seconds> { return seconds(3); }, nullptr,
                    milliseconds(1000))  // slow polls: the renewer lags behind
                    .value();
  clock.Advance(milliseconds(2600));  // past the deadline before any renewal
  EXPECT_TRUE(keeper->lost());
  std::this_thread::sleep_for(milliseconds(1100));  // a renewal may succeed now
  EXPECT_TRUE(keeper->lost());
}

TEST(KeeperTest, MarginMustBeShorterThanTheTtl) {
  FakeClock clock(kStart);
  KeepAliveOptions options;
  options.safety_margin = milliseconds(3000);
  const auto keeper = KeeperCore::Start(
      7, options, clock, [](Millis) -> absl::StatusOr<seconds> { return seconds(3); });
  ASSERT_FALSE(keeper.ok());
  EXPECT_EQ(keeper.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeeperTest, TransientErrorsAreRetriedUntilTheDeadline) {
  FakeClock clock(kStart);
  std::atomic<int> lost{0}, calls{0};
  std::atomic<bool> failing{false};
  auto keeper = KeeperCore::Start(
                    7, Options(&lost), clock,
                    [&](Millis) -> absl::StatusOr<seconds> {
                      ++calls;
                      if (failing) return absl::UnavailableError("connection refused");
                      return seconds(3);
                    },
                    nullptr, milliseconds(1))
                    .value();
  failing = true;
  AdvanceSlowly(clock, milliseconds(2000));
  EXPECT_GT(calls, 3);  // kept trying
  EXPECT_EQ(lost, 0);
  failing = false;  // the connection comes back before the deadline
  AdvanceSlowly(clock, milliseconds(300));
  EXPECT_TRUE(WaitUntil([&] { return keeper->deadline() > kStart + milliseconds(4000); }));
  EXPECT_FALSE(keeper->lost());
}

TEST(KeeperTest, StartFailsWhenTheFirstRenewalFails) {
  FakeClock clock(kStart);
  std::atomic<int> lost{0};
  const auto keeper = KeeperCore::Start(
      7, Options(&lost), clock,
      [](Millis) -> absl::StatusOr<seconds> { return absl::NotFoundError("lease not found"); });
  ASSERT_FALSE(keeper.ok());
  EXPECT_EQ(keeper.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(lost, 0);
}

}  // namespace
}  // namespace forest::coord
