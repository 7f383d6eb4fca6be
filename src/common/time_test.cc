#include "common/time.h"

#include <gtest/gtest.h>

#include "common/time_zone.h"

namespace forest {
namespace {

Time Utc(std::string_view s) { return ParseIso8601(s, TimeZone::Utc()).value(); }

TEST(TimeTest, FormatsWholeSecondsWithoutFraction) {
  EXPECT_EQ(FormatIso8601(Time(Millis(1767225630000))), "2026-01-01T00:00:30Z");
  EXPECT_EQ(FormatIso8601(Time(Millis(1767225630250))), "2026-01-01T00:00:30.250Z");
  EXPECT_EQ(FormatRfc3339Millis(Time(Millis(1767225630000))), "2026-01-01T00:00:30.000Z");
}

TEST(TimeTest, FormatsBeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339Millis(Time(Millis(-1))), "1969-12-31T23:59:59.999Z");
}

TEST(TimeTest, ParsesTheAcceptedForms) {
  const Time t = Time(Millis(1767225630000));
  EXPECT_EQ(Utc("2026-01-01T00:00:30Z"), t);
  EXPECT_EQ(Utc("2026-01-01t00:00:30z"), t);
  EXPECT_EQ(Utc("2026-01-01T08:00:30+08:00"), t);
  EXPECT_EQ(Utc("2026-01-01T08:00:30+0800"), t);
  EXPECT_EQ(Utc("2025-12-31T19:00:30-05:00"), t);
  EXPECT_EQ(Utc("2026-01-01 00:00:30"), t);
  EXPECT_EQ(Utc("2026-01-01T00:00:30.5Z"), t + Millis(500));
  EXPECT_EQ(Utc("2026-01-01T00:00:30.123456Z"), t + Millis(123));
  EXPECT_EQ(Utc("2026-01-01T00:00"), t - Millis(30000));
  EXPECT_EQ(Utc("2026-01-01"), t - Millis(30000));
}

TEST(TimeTest, NaiveTimesAreWallTimesInTheGivenZone) {
  const TimeZone shanghai = TimeZone::Load("Asia/Shanghai").value();
  EXPECT_EQ(ParseIso8601("2026-01-01T08:00:30", shanghai).value(), Utc("2026-01-01T00:00:30Z"));
  const TimeZone ny = TimeZone::Load("America/New_York").value();
  // 02:30 does not exist on 2026-03-08: the first instant after the gap.
  EXPECT_EQ(ParseIso8601("2026-03-08T02:30:00", ny).value(), Utc("2026-03-08T07:00:00Z"));
  // 01:30 happens twice on 2026-11-01: the first occurrence (EDT).
  EXPECT_EQ(ParseIso8601("2026-11-01T01:30:00", ny).value(), Utc("2026-11-01T05:30:00Z"));
}

TEST(TimeTest, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-01-01X00:00",
                          "2026-01-01T24:00:00Z", "2026-01-01T00:60Z", "2026-01-01T00:00:30.Z",
                          "2026-01-01T00:00:30+25:00", "2026-01-01T00:00:30Zjunk", "yesterday"}) {
    const auto t = ParseIso8601(bad, TimeZone::Utc());
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(TimeZoneTest, LoadsIanaNamesAndRejectsUnknownOnes) {
  EXPECT_TRUE(TimeZone::Load("UTC").value().is_utc());
  EXPECT_EQ(TimeZone::Load("Europe/London").value().name(), "Europe/London");
  const auto bad = TimeZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(TimeZoneTest, FormatsLocalTimeWithOffset) {
  const TimeZone lh = TimeZone::Load("Australia/Lord_Howe").value();
  EXPECT_EQ(FormatLocal(Utc("2026-01-01T00:00:00Z"), lh), "2026-01-01 11:00:00+11:00");
  EXPECT_EQ(FormatLocal(Utc("2026-07-01T00:00:00Z"), lh), "2026-07-01 10:30:00+10:30");
}

}  // namespace
}  // namespace forest
