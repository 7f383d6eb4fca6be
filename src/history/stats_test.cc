// The statistics arithmetic, without a database (history/stats.h).
#include "history/stats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "common/time_zone.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace forest::history::internal {
namespace {

using std::chrono::hours;

Time At(std::string_view iso) { return ParseIso8601(iso, TimeZone::Utc()).value(); }
long long Ms(std::string_view iso) { return At(iso).time_since_epoch().count(); }

TEST(PercentileTest, IsNearestRank) {
  std::vector<long long> none;
  EXPECT_EQ(Percentile(none, 0.5), std::nullopt);
  std::vector<long long> one{7};
  EXPECT_EQ(Percentile(one, 0.5), 7);
  EXPECT_EQ(Percentile(one, 0.95), 7);
  std::vector<long long> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // 1..100, reversed
  EXPECT_EQ(Percentile(v, 0.50), 50);
  EXPECT_EQ(Percentile(v, 0.95), 95);
  EXPECT_EQ(Percentile(v, 0.99), 99);
  EXPECT_EQ(Percentile(v, 1.0), 100);
  std::vector<long long> two{10, 20};
  EXPECT_EQ(Percentile(two, 0.5), 10);
  EXPECT_EQ(Percentile(two, 0.51), 20);
}

TEST(StatsAccumulatorTest, CountsEveryStatusAndTheOriginalsErrorCode) {
  StatsAccumulator stats({.by = StatsBy::kJob});
  const long long t = Ms("2026-03-01T00:00:00Z");
  for (int status : {1, 2, 2, -1, 4, 3, 0}) {
    stats.Add({.job_id = "j", .status = status, .created_at = t});
  }
  const auto rows = stats.Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].total, 7);
  EXPECT_EQ(rows[0].running, 1);
  EXPECT_EQ(rows[0].success, 2);
  EXPECT_EQ(rows[0].error, 2);    // -1 and the original's 4
  EXPECT_EQ(rows[0].unknown, 2);  // 3 and anything else
  EXPECT_DOUBLE_EQ(rows[0].success_rate.value(), 2.0 / 6.0);
  EXPECT_EQ(rows[0].duration_p50_ms, std::nullopt);
  EXPECT_EQ(rows[0].lag_p50_ms, std::nullopt);
}

TEST(StatsAccumulatorTest, NamesAJobAfterItsNewestExecution) {
  StatsAccumulator stats({.by = StatsBy::kJob});
  stats.Add(
      {.job_id = "j", .job_name = "new", .group = "g2", .created_at = Ms("2026-03-02T00:00:00Z")});
  stats.Add(
      {.job_id = "j", .job_name = "old", .group = "g1", .created_at = Ms("2026-03-01T00:00:00Z")});
  const auto rows = stats.Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].job_name, "new");
  EXPECT_EQ(rows[0].group, "g2");
  EXPECT_EQ(rows[0].success_rate, std::nullopt);  // nothing finished
}

TEST(StatsAccumulatorTest, RunningRowsHaveNoDurationAndLagIsNeverNegative) {
  StatsAccumulator stats({.by = StatsBy::kGroup});
  const long long t = Ms("2026-03-01T00:00:00Z");
  stats.Add({.group = "g", .status = 1, .created_at = t, .duration_ms = 5000});
  stats.Add({.group = "g",
             .status = 2,
             .created_at = t,
             .duration_ms = 20,
             .started_at = t - 3,
             .scheduled_at = t});  // a clock a little behind
  const auto rows = stats.Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].duration_max_ms, 20);
  EXPECT_EQ(rows[0].lag_p95_ms, 0);
}

TEST(StatsAccumulatorTest, DaysAreCalendarDaysOfTheZone) {
  const TimeZone new_york = TimeZone::Load("America/New_York").value();
  StatsAccumulator stats({.by = StatsBy::kDay, .zone = new_york});
  // 04:59Z on 8 March is 23:59 on the 7th in New York (EST); 05:00Z is the 8th.
  stats.Add({.status = 2, .created_at = Ms("2026-03-08T04:59:59Z")});
  stats.Add({.status = 2, .created_at = Ms("2026-03-08T05:00:00Z")});
  // After the switch to EDT the day starts at 04:00Z.
  stats.Add({.status = 2, .created_at = Ms("2026-03-09T04:00:00Z")});
  const auto rows = stats.Finish();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key, "2026-03-07");
  EXPECT_EQ(rows[1].key, "2026-03-08");
  EXPECT_EQ(rows[2].key, "2026-03-09");
}

TEST(ValidateStatsQueryTest, SaysWhatIsWrong) {
  const Time t = At("2026-03-01T00:00:00Z");
  EXPECT_TRUE(ValidateStatsQuery({.from = t, .to = t + hours(1)}).ok());
  const absl::Status empty = ValidateStatsQuery({.from = t, .to = t});
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(empty.message()).find("after"), std::string::npos) << empty;
  const absl::Status lng = ValidateStatsQuery({.from = t, .to = t + kMaxStatsRange + hours(1)});
  EXPECT_EQ(lng.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(lng.message()).find("400 days"), std::string::npos) << lng;
}

}  // namespace
}  // namespace forest::history::internal
