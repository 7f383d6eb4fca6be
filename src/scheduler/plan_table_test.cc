#include "scheduler/plan_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace forest::scheduler {
namespace {

Time At(std::string_view iso) { return ParseIso8601(iso, TimeZone::Utc()).value(); }
cron::Schedule Cron(std::string_view expr) { return cron::Schedule::Parse(expr).value(); }

std::vector<std::string> Take(PlanTable& table, std::string_view now, size_t max = 1000) {
  std::vector<Fire> fires;
  table.TakeDue(At(now), max, fires);
  std::vector<std::string> out;
  for (const Fire& f : fires) out.push_back(f.job_id + "@" + FormatIso8601(f.scheduled));
  return out;
}

using Strings = std::vector<std::string>;

TEST(PlanTableTest, TakesDueFiresEarliestFirstAndAdvancesEachJob) {
  PlanTable table;
  const Time start = At("2026-01-01T00:00:00Z");
  ASSERT_TRUE(table.Upsert("a", Cron("*/2 * * * * *"), start));  // every 2 s
  ASSERT_TRUE(table.Upsert("b", Cron("*/3 * * * * *"), start));  // every 3 s
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.NextDue(), At("2026-01-01T00:00:02Z"));
  EXPECT_TRUE(Take(table, "2026-01-01T00:00:01Z").empty());
  EXPECT_EQ(Take(table, "2026-01-01T00:00:06Z"),
            (Strings{"a@2026-01-01T00:00:02Z", "b@2026-01-01T00:00:03Z", "a@2026-01-01T00:00:04Z",
                     "a@2026-01-01T00:00:06Z", "b@2026-01-01T00:00:06Z"}));
  EXPECT_EQ(table.Next("a"), At("2026-01-01T00:00:08Z"));
  EXPECT_EQ(table.Next("b"), At("2026-01-01T00:00:09Z"));
}

TEST(PlanTableTest, TakeDueHonoursItsLimit) {
  PlanTable table;
  const Time start = At("2026-01-01T00:00:00Z");
  for (int i = 0; i < 10; ++i) table.Upsert("j" + std::to_string(i), Cron("* * * * * *"), start);
  std::vector<Fire> fires;
  EXPECT_EQ(table.TakeDue(At("2026-01-01T00:00:01Z"), 4, fires), 4u);
  EXPECT_EQ(table.TakeDue(At("2026-01-01T00:00:01Z"), 100, fires), 6u);
  EXPECT_EQ(fires.size(), 10u);
  EXPECT_EQ(table.NextDue(), At("2026-01-01T00:00:02Z"));
}

TEST(PlanTableTest, UpsertReplacesAPlanAndRemoveForgetsIt) {
  PlanTable table;
  const Time start = At("2026-01-01T00:00:00Z");
  table.Upsert("a", Cron("0 0 * * * *"), start);  // hourly
  table.Upsert("b", Cron("0 30 * * * *"), start);
  EXPECT_EQ(table.NextDue(), At("2026-01-01T00:30:00Z"));
  table.Upsert("a", Cron("0 */10 * * * *"), start);  // edited: every ten minutes
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.NextDue(), At("2026-01-01T00:10:00Z"));
  EXPECT_TRUE(table.Remove("a"));
  EXPECT_FALSE(table.Remove("a"));
  EXPECT_EQ(table.NextDue(), At("2026-01-01T00:30:00Z"));
  EXPECT_EQ(table.Next("a"), std::nullopt);
}

TEST(PlanTableTest, RespectsTheStartAndEndWindow) {
  PlanTable table;
  const Time start = At("2026-01-01T00:00:00Z");
  table.Upsert("w", Cron("0 0 * * * *"), start, At("2026-01-01T05:00:00Z"),
               At("2026-01-01T07:00:00Z"));
  EXPECT_EQ(table.NextDue(), At("2026-01-01T05:00:00Z"));  // start_at itself may fire
  EXPECT_EQ(Take(table, "2026-01-02T00:00:00Z"),
            (Strings{"w@2026-01-01T05:00:00Z", "w@2026-01-01T06:00:00Z"}));  // end_at excluded
  EXPECT_EQ(table.size(), 0u);
  // A window that is already over plans nothing.
  EXPECT_FALSE(
      table.Upsert("late", Cron("* * * * * *"), start, std::nullopt, At("2025-12-31T00:00:00Z")));
  EXPECT_EQ(table.size(), 0u);
}

TEST(PlanTableTest, SchedulesThatEndLeaveTheTable) {
  PlanTable table;
  const Time start = At("2026-01-01T00:00:00Z");
  EXPECT_FALSE(table.Upsert("never", Cron("0 0 0 30 2 *"), start));
  EXPECT_TRUE(table.Upsert("twice", Cron("0 0 0 1 1 * 2027-2028"), start));
  EXPECT_EQ(Take(table, "2030-01-01T00:00:00Z"),
            (Strings{"twice@2027-01-01T00:00:00Z", "twice@2028-01-01T00:00:00Z"}));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.NextDue(), std::nullopt);
  // Its slot is reused.
  EXPECT_TRUE(table.Upsert("again", Cron("@hourly"), start));
  EXPECT_EQ(table.size(), 1u);
}

// Against a simple model: random upserts, removes and takes; every fire the
// table hands out is the model's next one, in time order.
TEST(PlanTableTest, AgreesWithAModelUnderRandomOperations) {
  std::mt19937 rng(7);
  const std::vector<std::string> exprs = {"*/7 * * * * *", "*/13 * * * * *", "0 * * * * *",
                                          "*/2 * * * * *", "@every 11s",     "30 */2 * * * *"};
  PlanTable table;
  std::map<std::string, std::pair<cron::Schedule, Time>> model;  // id -> (schedule, next)
  Time now = At("2026-01-01T00:00:00Z");
  for (int step = 0; step < 3000; ++step) {
    const int op = int(rng() % 10);
    const std::string id = "j" + std::to_string(rng() % 50);
    if (op < 3) {
      const cron::Schedule s = Cron(exprs[rng() % exprs.size()]);
      ASSERT_TRUE(table.Upsert(id, s, now));
      model.insert_or_assign(id, std::make_pair(s, *s.Next(now)));
    } else if (op < 4) {
      EXPECT_EQ(table.Remove(id), model.erase(id) == 1);
    } else {
      now += Millis(1000 * (rng() % 20));
      std::vector<Fire> fires;
      table.TakeDue(now, 100000, fires);
      Time last = Time::min();
      for (const Fire& f : fires) {
        ASSERT_GE(f.scheduled, last);
        last = f.scheduled;
        auto& [schedule, next] = model.at(f.job_id);
        ASSERT_EQ(f.scheduled, next) << f.job_id;
        next = *schedule.Next(next);
      }
      for (const auto& [job, plan] : model) ASSERT_GT(plan.second, now) << job;
    }
    ASSERT_EQ(table.size(), model.size());
    for (const auto& [job, plan] : model) ASSERT_EQ(table.Next(job), plan.second);
  }
}

}  // namespace
}  // namespace forest::scheduler
