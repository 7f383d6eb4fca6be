// Daylight saving: fire times are wall times in the schedule's zone; a wall
// time in a spring-forward gap fires once at the first instant after the gap;
// a wall time repeated by a fall-back fires once, at its first occurrence.
// Transition instants were checked against Python's zoneinfo.
#include <gtest/gtest.h>

#include "cron/cron.h"
#include "cron/cron_test_util.h"

namespace forest::cron {
namespace {

using testing::NextFires;
using Fires = std::vector<std::string>;

constexpr Dialect F = Dialect::kForest;

// America/New_York, 2026: 02:00 EST -> 03:00 EDT on March 8 (07:00Z);
// 02:00 EDT -> 01:00 EST on November 1 (06:00Z).
TEST(CronDstTest, NewYorkGapTimeFiresOnceAtTheEndOfTheGap) {
  EXPECT_EQ(NextFires("30 2 * * *", "2026-03-07T12:00:00Z", 2, F, "America/New_York"),
            (Fires{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));
}

TEST(CronDstTest, NewYorkSeveralGapTimesCollapseIntoOneFire) {
  // 02:00 and 02:30 do not exist; 03:00 is the same instant: one fire, not three.
  EXPECT_EQ(NextFires("*/30 * * * *", "2026-03-08T06:00:00Z", 3, F, "America/New_York"),
            (Fires{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}));
  EXPECT_EQ(NextFires("0 3 * * *", "2026-03-08T05:00:00Z", 1, F, "America/New_York"),
            (Fires{"2026-03-08T07:00:00Z"}));
}

TEST(CronDstTest, NewYorkRepeatedTimeFiresAtItsFirstOccurrenceOnly) {
  EXPECT_EQ(NextFires("30 1 * * *", "2026-11-01T04:00:00Z", 2, F, "America/New_York"),
            (Fires{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  // Hourly: 01:00 EDT fires, 01:00 EST (the repeat) does not, then 02:00 EST.
  EXPECT_EQ(NextFires("0 * * * *", "2026-11-01T04:30:00Z", 2, F, "America/New_York"),
            (Fires{"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z"}));
}

TEST(CronDstTest, NewYorkStartingInsideTheRepeatedHourSkipsItsRest) {
  // 06:10Z is 01:10 EST, the second pass: 01:15 already fired at 05:15Z.
  EXPECT_EQ(NextFires("*/15 * * * *", "2026-11-01T06:10:00Z", 2, F, "America/New_York"),
            (Fires{"2026-11-01T07:00:00Z", "2026-11-01T07:15:00Z"}));
}

TEST(CronDstTest, NewYorkEveryCountsAbsoluteTime) {
  EXPECT_EQ(NextFires("@every 1h", "2026-03-08T06:30:00Z", 2, F, "America/New_York"),
            (Fires{"2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}));
  EXPECT_EQ(NextFires("@every 30m", "2026-11-01T05:00:00Z", 3, F, "America/New_York"),
            (Fires{"2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z"}));
}

TEST(CronDstTest, NewYorkSecondsFieldAcrossTheGap) {
  EXPECT_EQ(NextFires("0 15 2 * * *", "2026-03-08T06:59:59Z", 1, F, "America/New_York"),
            (Fires{"2026-03-08T07:00:00Z"}));
  EXPECT_EQ(NextFires("30 59 1 * * *", "2026-03-08T06:00:00Z", 1, F, "America/New_York"),
            (Fires{"2026-03-08T06:59:30Z"}));
}

// Europe/London, 2026: 01:00 GMT -> 02:00 BST on March 29 (01:00Z);
// 02:00 BST -> 01:00 GMT on October 25 (01:00Z).
TEST(CronDstTest, LondonGapAndRepeat) {
  EXPECT_EQ(NextFires("30 1 * * *", "2026-03-28T12:00:00Z", 2, F, "Europe/London"),
            (Fires{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
  EXPECT_EQ(NextFires("30 1 * * *", "2026-10-24T12:00:00Z", 2, F, "Europe/London"),
            (Fires{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
}

// Australia/Lord_Howe shifts by 30 minutes. 2026: 02:00 +11 -> 01:30 +10:30 on
// April 5 (April 4 15:00Z); 02:00 +10:30 -> 02:30 +11 on October 4 (October 3 15:30Z).
TEST(CronDstTest, LordHoweHalfHourRepeat) {
  EXPECT_EQ(NextFires("45 1 * * *", "2026-04-04T12:00:00Z", 2, F, "Australia/Lord_Howe"),
            (Fires{"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}));
  // 01:15 comes before the repeated half hour: unique.
  EXPECT_EQ(NextFires("15 1 * * *", "2026-04-04T12:00:00Z", 1, F, "Australia/Lord_Howe"),
            (Fires{"2026-04-04T14:15:00Z"}));
}

TEST(CronDstTest, LordHoweHalfHourGap) {
  EXPECT_EQ(NextFires("15 2 * * *", "2026-10-03T12:00:00Z", 2, F, "Australia/Lord_Howe"),
            (Fires{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}));
  // Every ten minutes: 02:00, 02:10 and 02:20 do not exist; one fire at 02:30.
  EXPECT_EQ(NextFires("*/10 * * * *", "2026-10-03T15:25:00Z", 3, F, "Australia/Lord_Howe"),
            (Fires{"2026-10-03T15:30:00Z", "2026-10-03T15:40:00Z", "2026-10-03T15:50:00Z"}));
}

// Asia/Shanghai has no daylight saving today: a fixed +08:00.
TEST(CronDstTest, ShanghaiIsAFixedOffset) {
  EXPECT_EQ(NextFires("0 0 9 * * *", "2026-01-01T00:00:00Z", 2, F, "Asia/Shanghai"),
            (Fires{"2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z"}));
  EXPECT_EQ(NextFires("0 0 9 * * *", "2026-07-01T00:00:00Z", 1, F, "Asia/Shanghai"),
            (Fires{"2026-07-01T01:00:00Z"}));
  EXPECT_EQ(NextFires("0 0 0 L * ?", "2026-01-31T15:00:00Z", 2, Dialect::kQuartz, "Asia/Shanghai"),
            (Fires{"2026-02-27T16:00:00Z", "2026-03-30T16:00:00Z"}));
}

// Regression: zone files list transitions up to 2037 and give later years as
// a rule; a reader that ignored the rule put every later summer in winter time.
TEST(CronDstTest, DaylightSavingStillAppliesAfter2037) {
  EXPECT_EQ(NextFires("0 0 12 * * *", "2038-07-01T00:00:00Z", 1, F, "Europe/Berlin"),
            (Fires{"2038-07-01T10:00:00Z"}));
  EXPECT_EQ(NextFires("0 12 * * *", "2040-07-01T00:00:00Z", 1, F, "America/New_York"),
            (Fires{"2040-07-01T16:00:00Z"}));
  EXPECT_EQ(NextFires("0 12 * * *", "2150-01-01T00:00:00Z", 1, F, "America/New_York"),
            (Fires{"2150-01-01T17:00:00Z"}));
  // The spring-forward gap of 2099 still collapses into one fire at 03:00 EDT.
  EXPECT_EQ(NextFires("30 2 * * *", "2099-03-07T12:00:00Z", 2, F, "America/New_York"),
            (Fires{"2099-03-08T07:00:00Z", "2099-03-09T06:30:00Z"}));
}

TEST(CronDstTest, EveryFireOfAYearInNewYorkIsOnceAndInOrder) {
  // Walk a whole year of quarter hours: strictly increasing, and the two
  // transition days have 92 and 96 fires (one hour lost; the repeated hour
  // fires once).
  const Schedule s = Schedule::Parse("*/15 * * * *",
                                     {Dialect::kForest, TimeZone::Load("America/New_York").value()})
                         .value();
  Time t = testing::At("2026-01-01T04:59:00Z");
  int march8 = 0, nov1 = 0, total = 0;
  const TimeZone ny = s.zone();
  while (true) {
    const Time next = s.Next(t).value();
    ASSERT_GT(next, t);
    t = next;
    if (t >= testing::At("2027-01-01T05:00:00Z")) break;
    ++total;
    const std::string local = FormatLocal(t, ny);
    if (local.starts_with("2026-03-08")) ++march8;
    if (local.starts_with("2026-11-01")) ++nov1;
  }
  // 02:00-02:59 is missing, but 03:00 takes the gap's fire: 96 - 4 = 92.
  EXPECT_EQ(march8, 92);
  // 25 hours of wall clock, the repeated 01:xx fire once: 96.
  EXPECT_EQ(nov1, 96);
  EXPECT_EQ(total, 365 * 96 - 4);
}

}  // namespace
}  // namespace forest::cron
