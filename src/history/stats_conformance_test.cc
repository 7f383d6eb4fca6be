// Statistics and the overview on every backend
// (history_conformance.h), on one known data set.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "history/history_conformance.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace forest::history {
namespace {

using model::RunStatus;
using std::chrono::hours;
using std::chrono::milliseconds;

// A run of `job` in `group`, started at `start`, scheduled `lag` earlier
// (no scheduled time when lag is negative: a manual run).
Execution Run(const std::string& id, const std::string& job, const std::string& group, Time start,
              long long lag_ms, RunStatus status, std::optional<int64_t> duration_ms) {
  Execution e = MakeExecution(id, job, 0);
  e.record.run.group = group;
  e.record.run.name = "name of " + job;
  e.record.started_at = start;
  e.record.start_time = FormatLocal(start, TimeZone::Utc()).substr(0, 19);
  if (lag_ms >= 0) e.record.run.scheduled_time = start - milliseconds(lag_ms);
  e.record.status = status;
  e.record.duration_ms = duration_ms;
  return e;
}

// The data set: job a (group g1) on 1 March, job c (g1) at 20:00 UTC on
// 1 March (2 March in Shanghai), job b (g2) on 2 March, and one run of a
// before the range.
std::vector<Execution> DataSet() {
  const Time day2 = kT0 + hours(24);
  return {
      Run("a0", "a", "g1", kT0 - hours(24), 5, RunStatus::kSuccess, 9999),
      Run("a1", "a", "g1", kT0, 10, RunStatus::kSuccess, 100),
      Run("a2", "a", "g1", kT0 + hours(1), 30, RunStatus::kSuccess, 200),
      Run("a3", "a", "g1", kT0 + hours(2), 50, RunStatus::kError, 300),
      Run("a4", "a", "g1", kT0 + hours(3), 70, RunStatus::kRunning, std::nullopt),
      Run("c1", "c", "g1", At("2026-03-01T20:00:00Z"), 0, RunStatus::kSuccess, 40),
      Run("b1", "b", "g2", day2, 5, RunStatus::kUnknown, std::nullopt),
      Run("b2", "b", "g2", day2 + hours(1), -1, RunStatus::kSuccess, 50),
  };
}

StatsRow Row(std::string key, int64_t total, int64_t running, int64_t success, int64_t error,
             int64_t unknown) {
  StatsRow r;
  r.key = std::move(key);
  r.total = total;
  r.running = running;
  r.success = success;
  r.error = error;
  r.unknown = unknown;
  if (success + error + unknown > 0) {
    r.success_rate = double(success) / double(success + error + unknown);
  }
  return r;
}

void Durations(StatsRow& r, int64_t p50, int64_t p95, int64_t max) {
  r.duration_p50_ms = p50;
  r.duration_p95_ms = p95;
  r.duration_max_ms = max;
}

void Lags(StatsRow& r, int64_t p50, int64_t p95) {
  r.lag_p50_ms = p50;
  r.lag_p95_ms = p95;
}

class StatsTest : public HistoryConformanceTest {
 protected:
  void SetUp() override {
    HistoryConformanceTest::SetUp();
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->Upsert(DataSet()).ok());
  }

  std::vector<StatsRow> Stats(StatsQuery q) {
    q.from = kT0;
    q.to = kT0 + hours(72);
    auto rows = store_->Statistics(q);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<StatsRow>{};
  }

  std::unique_ptr<HistoryStore> store_;
};

StatsRow JobA() {
  StatsRow a = Row("a", 4, 1, 2, 1, 0);
  a.job_name = "name of a";
  a.group = "g1";
  Durations(a, 200, 300, 300);  // nearest rank of 100, 200, 300
  Lags(a, 30, 70);              // of 10, 30, 50, 70
  return a;
}

TEST_P(StatsTest, PerJob) {
  StatsRow b = Row("b", 2, 0, 1, 0, 1);
  b.job_name = "name of b";
  b.group = "g2";
  Durations(b, 50, 50, 50);
  Lags(b, 5, 5);  // b2 was run by hand: no lag
  StatsRow c = Row("c", 1, 0, 1, 0, 0);
  c.job_name = "name of c";
  c.group = "g1";
  Durations(c, 40, 40, 40);
  Lags(c, 0, 0);
  EXPECT_EQ(Stats({.by = StatsBy::kJob}), (std::vector<StatsRow>{JobA(), b, c}));
  EXPECT_EQ(Stats({.by = StatsBy::kJob, .job_id = "a"}), (std::vector<StatsRow>{JobA()}));
  EXPECT_EQ(Stats({.by = StatsBy::kJob, .group = "g2"}), (std::vector<StatsRow>{b}));
}

TEST_P(StatsTest, PerGroup) {
  StatsRow g1 = Row("g1", 5, 1, 3, 1, 0);
  g1.group = "g1";
  Durations(g1, 100, 300, 300);  // of 40, 100, 200, 300
  Lags(g1, 30, 70);              // of 0, 10, 30, 50, 70
  StatsRow g2 = Row("g2", 2, 0, 1, 0, 1);
  g2.group = "g2";
  Durations(g2, 50, 50, 50);
  Lags(g2, 5, 5);
  EXPECT_EQ(Stats({.by = StatsBy::kGroup}), (std::vector<StatsRow>{g1, g2}));
}

TEST_P(StatsTest, PerDayInAZone) {
  StatsRow utc1 = Row("2026-03-01", 5, 1, 3, 1, 0);
  Durations(utc1, 100, 300, 300);
  Lags(utc1, 30, 70);
  StatsRow utc2 = Row("2026-03-02", 2, 0, 1, 0, 1);
  Durations(utc2, 50, 50, 50);
  Lags(utc2, 5, 5);
  EXPECT_EQ(Stats({.by = StatsBy::kDay}), (std::vector<StatsRow>{utc1, utc2}));

  // In Shanghai (UTC+8) c1 ran on 2 March.
  StatsRow sh1 = JobA();
  sh1.key = "2026-03-01";
  sh1.job_name.clear();
  sh1.group.clear();
  StatsRow sh2 = Row("2026-03-02", 3, 0, 2, 0, 1);
  Durations(sh2, 40, 50, 50);
  Lags(sh2, 0, 5);
  EXPECT_EQ(Stats({.by = StatsBy::kDay, .zone = TimeZone::Load("Asia/Shanghai").value()}),
            (std::vector<StatsRow>{sh1, sh2}));
}

TEST_P(StatsTest, EmptyRangeHasNoRows) {
  auto rows = store_->Statistics({.from = kT0 + hours(1000), .to = kT0 + hours(1001)});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->empty());
}

TEST_P(StatsTest, RejectsBadRanges) {
  for (const StatsQuery& q :
       {StatsQuery{.from = kT0, .to = kT0}, StatsQuery{.from = kT0, .to = kT0 - hours(1)},
        StatsQuery{.from = kT0, .to = kT0 + kMaxStatsRange + hours(1)}}) {
    auto rows = store_->Statistics(q);
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument) << rows.status();
  }
}

TEST_P(StatsTest, Overview) {
  // The 24 h before the end of b2's hour: a3, a4, c1, b1, b2.
  auto o = store_->Summary(kT0 + hours(26));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->runs_24h, 5);
  EXPECT_EQ(o->success_24h, 2);
  EXPECT_EQ(o->failures_24h, 2);
  EXPECT_EQ(o->running_now, 1);
  ASSERT_TRUE(o->success_rate_24h.has_value());
  EXPECT_DOUBLE_EQ(*o->success_rate_24h, 0.5);

  auto quiet = store_->Summary(kT0 + hours(1000));
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_EQ(quiet->runs_24h, 0);
  EXPECT_EQ(quiet->running_now, 1);  // a4 still runs
  EXPECT_FALSE(quiet->success_rate_24h.has_value());
}

// A database at schema version 2 (no started_at, scheduled_at): version 3
// fills them in from scheduled_time and created_at.
TEST_P(StatsTest, VersionThreeBackfillsTheTimesOfVersionTwoRows) {
  store_.reset();
  ASSERT_TRUE(internal::ExecuteSql(
                  url_, {"UPDATE job_execute_snapshot SET started_at = NULL, scheduled_at = NULL",
                         "DELETE FROM forest_schema_migrations WHERE version = 3"})
                  .ok());
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"),
            std::to_string(internal::kSchemaVersion));
  EXPECT_EQ(Stats({.by = StatsBy::kJob, .job_id = "a"}), (std::vector<StatsRow>{JobA()}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StatsTest, ::testing::ValuesIn(TestBackends()),
                         [](const ::testing::TestParamInfo<TestBackend>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace forest::history
