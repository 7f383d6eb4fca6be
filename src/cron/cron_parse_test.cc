// Parsing: what each dialect accepts, and the error for every bad input.
#include <gtest/gtest.h>

#include "cron/cron.h"
#include "cron/cron_test_util.h"

namespace forest::cron {
namespace {

constexpr Dialect F = Dialect::kForest;
constexpr Dialect Q = Dialect::kQuartz;

absl::StatusOr<Schedule> Parse(std::string_view expr, Dialect d) {
  return Schedule::Parse(expr, {d, TimeZone::Utc()});
}

struct Accepted {
  const char* expr;
  Dialect dialect;
};

class CronAcceptsTest : public ::testing::TestWithParam<Accepted> {};

TEST_P(CronAcceptsTest, Parses) {
  const auto s = Parse(GetParam().expr, GetParam().dialect);
  EXPECT_TRUE(s.ok()) << GetParam().expr << ": " << s.status();
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, CronAcceptsTest,
    ::testing::Values(
        Accepted{"* * * * *", F}, Accepted{"0 * * * * *", F}, Accepted{"0 0 0 1 1 * 2030", F},
        Accepted{"0/30 * * * * ?", F},  // the original UI's example
        Accepted{"? ? ? ? ? ?", F},     // robfig accepts '?' in any field
        Accepted{"  */5\t* * * *  ", F}, Accepted{"0 0 * * MON-FRI", F},
        Accepted{"0 0 * * mon,Wed,FRI", F}, Accepted{"0 0 1 jan-MAR *", F},
        Accepted{"0 0 * * 0-7", F}, Accepted{"0 0 L * *", F}, Accepted{"0 0 L-5 * *", F},
        Accepted{"0 0 LW * *", F}, Accepted{"0 0 15W * *", F}, Accepted{"0 0 * * 5#3", F},
        Accepted{"0 0 * * FRI#3", F}, Accepted{"0 0 * * 5L", F}, Accepted{"0 0 * * FRIL", F},
        Accepted{"0 0 1,15,L * *", F}, Accepted{"0 */90 * * * *", F},  // large steps: robfig allows
        Accepted{"0 0 22-2 * * *", F}, Accepted{"@yearly", F}, Accepted{"@every 1s", F},
        Accepted{"@every 2h45m30.5s", F}, Accepted{"@every 1000000us", F},
        Accepted{"CRON_TZ=Europe/London 0 9 * * *", F}, Accepted{"TZ=UTC @daily", F},
        Accepted{"0 0/30 9-17 ? * MON-FRI", Q}, Accepted{"0 0 12 L * ?", Q},
        Accepted{"0 0 12 ? * 6L", Q}, Accepted{"0 0 12 ? * 2#1", Q}, Accepted{"0 0 12 15W * ?", Q},
        Accepted{"0 0 12 LW * ?", Q}, Accepted{"0 0 12 L-3W * ?", Q}, Accepted{"0 0 12 L-3 * ?", Q},
        Accepted{"0 0 12 ? * L", Q}, Accepted{"0 0 12 * * ?", Q}, Accepted{"0 0 12 ? * *", Q},
        Accepted{"0 0 12 1 1 ? 2030-2040", Q}, Accepted{"0 */59 * ? * *", Q},
        Accepted{"CRON_TZ=Asia/Shanghai 0 0 9 ? * MON", Q}),
    testing::ExprName());

struct Rejected {
  const char* expr;
  Dialect dialect;
  const char* message;  // the whole error message
};

class CronRejectsTest : public ::testing::TestWithParam<Rejected> {};

TEST_P(CronRejectsTest, NamesTheFieldAndTheProblem) {
  const auto s = Parse(GetParam().expr, GetParam().dialect);
  ASSERT_FALSE(s.ok()) << GetParam().expr;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.status().message()), GetParam().message) << GetParam().expr;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, CronRejectsTest,
    ::testing::Values(
        Rejected{"", F, "empty cron expression"}, Rejected{"   ", F, "empty cron expression"},
        Rejected{"* * * *", F,
                 "expected 5 fields (minute hour day-of-month month day-of-week), 6 with seconds "
                 "first, or 7 with a trailing year; got 4"},
        Rejected{"* * * * * * * *", F,
                 "expected 5 fields (minute hour day-of-month month day-of-week), 6 with seconds "
                 "first, or 7 with a trailing year; got 8"},
        Rejected{"0 25 * * *", F, "field 2 (hour): 25 is out of range 0-23"},
        Rejected{"0 0 25 * * *", F, "field 3 (hour): 25 is out of range 0-23"},
        Rejected{"60 * * * * *", F, "field 1 (second): 60 is out of range 0-59"},
        Rejected{"* * 0 * *", F, "field 3 (day-of-month): 0 is out of range 1-31"},
        Rejected{"* * 32 * *", F, "field 3 (day-of-month): 32 is out of range 1-31"},
        Rejected{"* * * 13 *", F, "field 4 (month): 13 is out of range 1-12"},
        Rejected{"* * * FOO *", F, "field 4 (month): 'FOO' is not a month (1-12 or JAN-DEC)"},
        Rejected{"* * * * 8", F, "field 5 (day-of-week): 8 is out of range 0-7"},
        Rejected{"* * * * XYZ", F,
                 "field 5 (day-of-week): 'XYZ' is not a weekday (0-7 or SUN-SAT)"},
        Rejected{"*/0 * * * *", F, "field 1 (minute): step 0 is out of range 1-1073741824"},
        Rejected{"1,,2 * * * *", F, "field 1 (minute): empty list item"},
        Rejected{"1, * * * *", F, "field 1 (minute): empty list item"},
        Rejected{"*/ * * * *", F, "field 1 (minute): missing step after '/'"},
        Rejected{"/5 * * * *", F, "field 1 (minute): missing start before '/'"},
        Rejected{"1/2/3 * * * *", F, "field 1 (minute): more than one '/'"},
        Rejected{"a * * * *", F, "field 1 (minute): 'a' is not a number"},
        Rejected{"1-x * * * *", F, "field 1 (minute): 'x' is not a number"},
        Rejected{"-5 * * * *", F, "field 1 (minute): missing value"},
        Rejected{"99999999999 * * * *", F, "field 1 (minute): 99999999999 is out of range 0-59"},
        Rejected{"0 0 L-31 * *", F,
                 "field 3 (day-of-month): offset from the last day 31 is out of range 0-30"},
        Rejected{"0 0 L-31W * *", F,
                 "field 3 (day-of-month): offset from the last day 31 is out of range 0-30"},
        Rejected{"0 0 LW,L-2W * *", F, "field 3 (day-of-month): only one LW or L-nW per field"},
        Rejected{"0 0 32W * *", F, "field 3 (day-of-month): day 32 is out of range 1-31"},
        Rejected{"0 0 L/2 * *", F, "field 3 (day-of-month): 'L' is not a number"},
        Rejected{"0 0 * * 5#6", F, "field 5 (day-of-week): week number 6 is out of range 1-5"},
        Rejected{"0 0 * * 5#", F, "field 5 (day-of-week): '' is not a number"},
        Rejected{"0 0 * * L", F,
                 "field 5 (day-of-week): 'L' needs a weekday, e.g. 5L for the last Friday of "
                 "the month"},
        Rejected{"0 0 0 1 1 * 1969", F, "field 7 (year): 1969 is out of range 1970-2199"},
        Rejected{"0 0 0 1 1 * 2200", F, "field 7 (year): 2200 is out of range 1970-2199"},
        Rejected{"@fortnightly", F,
                 "unknown descriptor '@fortnightly' (expected @yearly, @annually, @monthly, "
                 "@weekly, @daily, @midnight, @hourly or @every <duration>)"},
        Rejected{"@every", F, "@every: missing duration (e.g. @every 1h30m)"},
        Rejected{"@every1h", F, "@every: expected a space after @every"},
        Rejected{"@every 500ms", F, "@every: 500ms is below the minimum of 1s"},
        Rejected{"@every 0s", F, "@every: 0s is below the minimum of 1s"},
        Rejected{"@every -1h", F, "@every: '-1h' is not a duration (e.g. 90s, 1h30m, 1500ms)"},
        Rejected{"@every 1x", F,
                 "@every: '1x' is not a duration: unknown unit 'x' (expected ns, us, ms, s, m or "
                 "h)"},
        Rejected{"@every 10", F,
                 "@every: '10' is not a duration: unknown unit '' (expected ns, us, ms, s, m or "
                 "h)"},
        Rejected{"@every 1.0005s", F, "@every: 1.0005s is not a whole number of milliseconds"},
        Rejected{"@every 1..5s", F, "@every: '1..5s' is not a duration (e.g. 90s, 1h30m, 1500ms)"},
        Rejected{"@every 999999999h", F, "@every: '999999999h' is too long"},
        Rejected{"CRON_TZ=Mars/Base * * * * *", F,
                 "CRON_TZ: unknown time zone 'Mars/Base' (expected an IANA name such as "
                 "Europe/London)"},
        Rejected{"CRON_TZ=UTC", F, "missing expression after the time zone prefix"},
        Rejected{"* * * * *", Q,
                 "expected 6 or 7 fields (second minute hour day-of-month month day-of-week "
                 "[year]), got 5"},
        Rejected{"0 0 0 * * *", Q,
                 "one of day-of-month and day-of-week must be '?' (quartz: setting both is not "
                 "supported)"},
        Rejected{"0 0 0 ? * ?", Q,
                 "'?' may stand in only one of day-of-month and day-of-week (quartz)"},
        Rejected{"0 ? 0 * * ?", Q,
                 "field 2 (minute): '?' is only allowed in the day-of-month and day-of-week "
                 "fields"},
        Rejected{"0 0 0 ? * 0", Q, "field 6 (day-of-week): 0 is out of range 1-7"},
        Rejected{"0 0 0 ? * 8", Q, "field 6 (day-of-week): 8 is out of range 1-7"},
        Rejected{"0 0 0 L,1 * ?", Q,
                 "field 4 (day-of-month): 'L' cannot be combined with other values (quartz)"},
        Rejected{"0 0 0 ? * 2#1,3#2", Q,
                 "field 6 (day-of-week): '2#1' cannot be combined with other values (quartz)"},
        Rejected{"0 */60 * ? * *", Q, "field 2 (minute): step 60 is out of range 1-59"},
        Rejected{"0 0 */24 ? * *", Q, "field 3 (hour): step 24 is out of range 1-23"},
        Rejected{"@daily", Q, "'@daily': descriptors are not part of the quartz dialect"}),
    testing::ExprName());

TEST(CronParseTest, DialectNames) {
  EXPECT_EQ(ParseDialect("forest").value(), Dialect::kForest);
  EXPECT_EQ(ParseDialect("quartz").value(), Dialect::kQuartz);
  EXPECT_EQ(ParseDialect("vixie").status().message(),
            "unknown cron dialect 'vixie' (expected forest or quartz)");
  EXPECT_EQ(DialectName(Dialect::kQuartz), "quartz");
}

TEST(CronParseTest, ZonePrefixOverridesTheDefaultZone) {
  const auto s =
      Schedule::Parse("CRON_TZ=Asia/Tokyo 0 9 * * *", {F, TimeZone::Load("Europe/London").value()});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->zone().name(), "Asia/Tokyo");
  EXPECT_EQ(Schedule::Parse("0 9 * * *", {F, TimeZone::Load("Europe/London").value()})
                .value()
                .zone()
                .name(),
            "Europe/London");
}

TEST(CronParseTest, DayFieldStarRule) {
  // Unrestricted when the text starts with '*' or is '?': then both must match.
  EXPECT_TRUE(Parse("0 0 * * MON", F)->days_match_both());
  EXPECT_TRUE(Parse("0 0 */2 * MON", F)->days_match_both());
  EXPECT_TRUE(Parse("0 0 1 * ?", F)->days_match_both());
  EXPECT_FALSE(Parse("0 0 1 * MON", F)->days_match_both());
  EXPECT_FALSE(Parse("0 0 1-31 * 0-7", F)->days_match_both());
}

}  // namespace
}  // namespace forest::cron
