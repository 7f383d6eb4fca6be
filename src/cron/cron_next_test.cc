// Next-fire times for every syntax element, in UTC. Daylight saving is in
// cron_dst_test.cc. Expected dates were checked against Python's datetime.
#include <gtest/gtest.h>

#include <chrono>

#include "cron/cron.h"
#include "cron/cron_test_util.h"

namespace forest::cron {
namespace {

using testing::At;
using testing::NextFires;
using Fires = std::vector<std::string>;

struct NextCase {
  const char* expr;
  Dialect dialect;
  const char* from;
  Fires want;
};

class CronNextTest : public ::testing::TestWithParam<NextCase> {};

TEST_P(CronNextTest, MatchesTheCalendar) {
  const NextCase& c = GetParam();
  EXPECT_EQ(NextFires(c.expr, c.from, int(c.want.size()) + 0, c.dialect), c.want)
      << c.expr << " from " << c.from;
}

constexpr Dialect F = Dialect::kForest;
constexpr Dialect Q = Dialect::kQuartz;
constexpr const char* kNewYear = "2026-01-01T00:00:00Z";  // a Thursday

INSTANTIATE_TEST_SUITE_P(
    Syntax, CronNextTest,
    ::testing::Values(
        // Five fields: minute-level, second 0.
        NextCase{"*/5 * * * *",
                 F,
                 kNewYear,
                 {"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z"}},
        // Six fields, seconds first, as the original: 0/30 = 0 and 30.
        NextCase{"0/30 * * * * ?", F, kNewYear, {"2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"}},
        // Strictly after a fire time, and sub-second starts round up.
        NextCase{"* * * * * *",
                 F,
                 "2026-01-01T00:00:00.500Z",
                 {"2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"}},
        NextCase{"5/20 * * * *",
                 F,
                 kNewYear,
                 {"2026-01-01T00:05:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:45:00Z",
                  "2026-01-01T01:05:00Z"}},
        NextCase{"0 10-20/5 * * * *",
                 F,
                 kNewYear,
                 {"2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z", "2026-01-01T00:20:00Z",
                  "2026-01-01T01:10:00Z"}},
        // A range that wraps past midnight.
        NextCase{"0 22-2 * * *",
                 F,
                 kNewYear,
                 {"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T22:00:00Z",
                  "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z"}},
        // Weekday names, any case, and a wrapping weekday range (Fri-Mon).
        NextCase{"0 0 * * fri-MON",
                 F,
                 kNewYear,
                 {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                  "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z"}},
        // 0 and 7 are both Sunday.
        NextCase{"0 0 * * 7", F, kNewYear, {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
        NextCase{"0 0 * * 0", F, kNewYear, {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
        NextCase{"0 0 1 JAN,jul *", F, kNewYear, {"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
        // Both day fields restricted: either may match.
        NextCase{"0 0 1,15 * MON",
                 F,
                 "2025-12-31T12:00:00Z",
                 {"2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z",
                  "2026-01-15T00:00:00Z", "2026-01-19T00:00:00Z"}},
        // Day-of-month starts with '*': unrestricted, so both must match (odd Mondays).
        NextCase{"0 0 */2 * MON",
                 F,
                 kNewYear,
                 {"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"}},
        NextCase{"0 0 0 31 * *",
                 F,
                 kNewYear,
                 {"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}},
        NextCase{"0 0 0 29 2 *", F, kNewYear, {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
        // L, L-n, W, LW.
        NextCase{"0 0 12 L * ?",
                 Q,
                 kNewYear,
                 {"2026-01-31T12:00:00Z", "2026-02-28T12:00:00Z", "2026-03-31T12:00:00Z"}},
        NextCase{"0 0 0 L-2 * *",
                 F,
                 kNewYear,
                 {"2026-01-29T00:00:00Z", "2026-02-26T00:00:00Z", "2026-03-29T00:00:00Z"}},
        NextCase{"0 0 0 15W * *",
                 F,
                 kNewYear,  // Feb 15 and Mar 15 are Sundays
                 {"2026-01-15T00:00:00Z", "2026-02-16T00:00:00Z", "2026-03-16T00:00:00Z",
                  "2026-04-15T00:00:00Z"}},
        NextCase{"0 0 0 1W * *",
                 F,
                 "2026-07-15T00:00:00Z",  // Aug 1 is a Saturday: Monday 3rd
                 {"2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"}},
        NextCase{"0 0 0 31W * *",
                 F,
                 "2026-05-01T00:00:00Z",  // May 31 is a Sunday: Friday 29th
                 {"2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z"}},
        NextCase{"0 0 0 LW * *",
                 F,
                 kNewYear,  // Jan 31 and Feb 28 are Saturdays
                 {"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z"}},
        // L-nW: the weekday nearest the n-th day before the last (Mar 28 is a Saturday).
        NextCase{"0 0 0 L-3W * *",
                 F,
                 kNewYear,
                 {"2026-01-28T00:00:00Z", "2026-02-25T00:00:00Z", "2026-03-27T00:00:00Z"}},
        NextCase{"0 0 0 L-3W * ?",
                 Q,
                 kNewYear,
                 {"2026-01-28T00:00:00Z", "2026-02-25T00:00:00Z", "2026-03-27T00:00:00Z"}},
        // Regression: a stepped weekday range wrapping past Sunday counted
        // Sunday twice (as 7 and as 0). 2026-01-04 is a Sunday.
        NextCase{"0 0 * * 6-1/2",
                 F,
                 "2026-01-04T00:00:00Z",
                 {"2026-01-05T00:00:00Z", "2026-01-10T00:00:00Z", "2026-01-12T00:00:00Z"}},
        NextCase{"0 0 * * THU-SUN/2",
                 F,
                 "2026-01-04T00:00:00Z",
                 {"2026-01-08T00:00:00Z", "2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z"}},
        NextCase{"0 0 * * Mon-Sun/7",
                 F,
                 "2026-01-04T00:00:00Z",
                 {"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"}},
        NextCase{"0 0 * * 7-1",
                 F,
                 "2026-01-04T00:00:00Z",
                 {"2026-01-05T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-12T00:00:00Z"}},
        // k-th weekday and last weekday; quartz numbers weekdays 1-7 from Sunday.
        NextCase{"0 0 0 * * 4#3", F, kNewYear, {"2026-01-15T00:00:00Z", "2026-02-19T00:00:00Z"}},
        NextCase{"0 0 0 ? * 5#3", Q, kNewYear, {"2026-01-15T00:00:00Z", "2026-02-19T00:00:00Z"}},
        NextCase{"0 0 0 ? * THU#3", Q, kNewYear, {"2026-01-15T00:00:00Z", "2026-02-19T00:00:00Z"}},
        NextCase{"0 0 0 * * 5L", F, kNewYear, {"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"}},
        NextCase{"0 0 0 ? * 6L", Q, kNewYear, {"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"}},
        NextCase{"0 0 0 ? * L", Q, kNewYear, {"2026-01-03T00:00:00Z", "2026-01-10T00:00:00Z"}},
        NextCase{"0 0 0 ? * 1", Q, kNewYear, {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
        NextCase{"0 0 9 ? * MON-FRI",
                 Q,
                 kNewYear,
                 {"2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"}},
        // Lists mixing plain days and specials (forest only).
        NextCase{"0 0 0 1,L * *",
                 F,
                 kNewYear,
                 {"2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z"}},
        NextCase{"0 0 0 * * MON#1,FRI#3",
                 F,
                 kNewYear,
                 {"2026-01-05T00:00:00Z", "2026-01-16T00:00:00Z", "2026-02-02T00:00:00Z"}},
        // Monday 29 February: the rarest day there is (2044, then 2072).
        NextCase{"0 0 0 ? 2 2#5", Q, kNewYear, {"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"}},
        // Year field: fires stop when the years run out.
        NextCase{
            "0 0 0 1 1 * 2027-2028", F, kNewYear, {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
        NextCase{"0 0 0 1 1 ? 2030", Q, kNewYear, {"2030-01-01T00:00:00Z"}},
        NextCase{"0 0 0 1 1 * 2030/50",
                 F,
                 kNewYear,
                 {"2030-01-01T00:00:00Z", "2080-01-01T00:00:00Z", "2130-01-01T00:00:00Z",
                  "2180-01-01T00:00:00Z"}},
        // Descriptors.
        NextCase{"@hourly", F, kNewYear, {"2026-01-01T01:00:00Z"}},
        NextCase{"@daily", F, kNewYear, {"2026-01-02T00:00:00Z"}},
        NextCase{"@midnight", F, kNewYear, {"2026-01-02T00:00:00Z"}},
        NextCase{"@weekly", F, kNewYear, {"2026-01-04T00:00:00Z"}},
        NextCase{"@monthly", F, kNewYear, {"2026-02-01T00:00:00Z"}},
        NextCase{"@yearly", F, kNewYear, {"2027-01-01T00:00:00Z"}},
        NextCase{"@ANNUALLY", F, kNewYear, {"2027-01-01T00:00:00Z"}},
        // @every: multiples of the interval since the epoch, to the millisecond.
        NextCase{"@every 90s", F, kNewYear, {"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z"}},
        NextCase{
            "@every 1500ms", F, kNewYear, {"2026-01-01T00:00:01.500Z", "2026-01-01T00:00:03Z"}},
        NextCase{"@every 1h30m", F, "2026-01-01T00:10:00Z", {"2026-01-01T01:30:00Z"}},
        NextCase{"@every 1.5h", F, "2026-01-01T00:10:00Z", {"2026-01-01T01:30:00Z"}},
        // Before the epoch too.
        NextCase{"0 0 0 1 1 *", F, "1969-06-01T00:00:00Z", {"1970-01-01T00:00:00Z"}},
        NextCase{"@every 1h", F, "1969-12-31T22:30:00Z", {"1969-12-31T23:00:00Z"}},
        // A zone prefix overrides the default zone.
        NextCase{"CRON_TZ=Asia/Shanghai 0 9 * * *",
                 F,
                 kNewYear,
                 {"2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z"}},
        NextCase{"TZ=Asia/Shanghai 0 0 9 ? * *",
                 Q,
                 kNewYear,
                 {"2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z"}}),
    testing::ExprName());

TEST(CronNeverTest, NeverFiringExpressionsReturnNothingAtOnce) {
  for (const char* expr :
       {"0 0 0 30 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 L-30 2 *", "0 0 0 30 2 * 2030-2199"}) {
    const Schedule s = Schedule::Parse(expr).value();
    EXPECT_FALSE(s.can_fire()) << expr;
    EXPECT_EQ(s.Next(At(kNewYear)), std::nullopt) << expr;
  }
  const Schedule quartz =
      Schedule::Parse("0 0 0 ? 2 2#5 2045-2071", {Dialect::kQuartz, TimeZone::Utc()}).value();
  EXPECT_FALSE(quartz.can_fire());
}

TEST(CronNeverTest, ScheduleEndsAfterItsLastYear) {
  const Schedule s = Schedule::Parse("0 0 0 1 1 * 2027").value();
  EXPECT_TRUE(s.can_fire());
  EXPECT_EQ(s.Next(At("2027-01-01T00:00:00Z")), std::nullopt);
  const Schedule unbounded = Schedule::Parse("0 0 0 1 1 *").value();
  EXPECT_EQ(unbounded.Next(At("2199-01-01T00:00:00Z")), std::nullopt);
}

TEST(CronNextTest, WalksAYearOfMinutesInOrderWithoutGaps) {
  // Every fire is one minute after the previous one, across month and year ends.
  const Schedule s = Schedule::Parse("* * * * *").value();
  Time t = At("2027-12-31T00:00:00Z");
  for (int i = 0; i < 3000; ++i) {
    const Time next = s.Next(t).value();
    ASSERT_EQ(next - t, std::chrono::minutes(1)) << FormatIso8601(t);
    t = next;
  }
  EXPECT_EQ(FormatIso8601(t), "2028-01-02T02:00:00Z");
}

TEST(CronNextTest, FieldsShowTheNormalizedExpression) {
  const auto fields = [](const char* expr, Dialect d = Dialect::kForest) {
    std::vector<std::string> out;
    for (auto& [name, value] : Schedule::Parse(expr, {d, TimeZone::Utc()}).value().Fields()) {
      out.push_back(name + "=" + value);
    }
    return out;
  };
  EXPECT_EQ(fields("*/5 * * * *"), (Fires{"second=0", "minute=*/5", "hour=*", "day-of-month=*",
                                          "month=*", "day-of-week=*", "year=*"}));
  EXPECT_EQ(fields("0 0/30 9-17 ? * MON-FRI", Dialect::kQuartz),
            (Fires{"second=0", "minute=0,30", "hour=9-17", "day-of-month=*", "month=*",
                   "day-of-week=1-5", "year=*"}));
  EXPECT_EQ(fields("0 0 0 1,15,L-2,LW,10W * 5#2,1L,7 2030-2032,2040"),
            (Fires{"second=0", "minute=0", "hour=0", "day-of-month=1,15,L-2,LW,10W", "month=*",
                   "day-of-week=0,5#2,1L", "year=2030-2032,2040"}));
  EXPECT_EQ(fields("0 0 0 L-3W * ?", Dialect::kQuartz)[3], "day-of-month=L-3W");
  // A restricted day field never prints as '*': that would change its meaning.
  EXPECT_EQ(fields("0 0 1-31 * 1")[3], "day-of-month=1-31");
  EXPECT_EQ(fields("0 0 1/2 * 1")[3], "day-of-month=1/2");
  EXPECT_EQ(fields("0 0 */2 * 1")[3], "day-of-month=*/2");
  EXPECT_TRUE(Schedule::Parse("@every 1h").value().Fields().empty());
}

}  // namespace
}  // namespace forest::cron
