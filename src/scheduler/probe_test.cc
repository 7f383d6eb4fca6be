// The leader's metrics move as it works: fires by trigger, fire lag,
// batches, misfires, no-worker errors, failover, lost runs, the view.
#include "scheduler/probe.h"

#include <gtest/gtest.h>

#include "metrics/testing/exposition.h"
#include "scheduler/leader_testing.h"
#include "scheduler/run_request.h"

namespace forest::scheduler {
namespace {

using metrics::testing::Exposition;
using metrics::testing::ParseExposition;
using std::chrono::seconds;
using testing::LeaderHarness;
namespace keys = model::keys;

Exposition Scrape(const metrics::Registry& registry) {
  auto parsed = ParseExposition(registry.Render());
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : Exposition{};
}

TEST(SchedulerProbeTest, CountsCronFiresLagAndBatches) {
  metrics::Registry registry;
  Probe probe(&registry);
  LeaderHarness h;
  LeaderOptions options;
  options.probe = &probe;
  auto& a = h.Lead(LeaderHarness::MakeJob("j1", "*/5 * * * * ?"), {"w1"}, options);
  h.Run(a, seconds(20));
  const Exposition e = Scrape(registry);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "cron"}}), 4);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "manual"}}), 0);
  EXPECT_EQ(e.Value("forest_scheduler_assignments_total"), 4);
  EXPECT_EQ(e.Value("forest_scheduler_fire_lag_seconds_count"), 4);
  // The harness ticks every 250 ms of its fake clock: no fire is later than that.
  EXPECT_EQ(e.Value("forest_scheduler_fire_lag_seconds_bucket", {{"le", "0.25"}}), 4);
  EXPECT_GE(e.Value("forest_scheduler_dispatch_batch_size_count"), 4);
  EXPECT_GE(e.Value("forest_scheduler_dispatch_duration_seconds_count"), 4);
  EXPECT_GE(e.Value("forest_scheduler_transactions_total", {{"outcome", "committed"}}), 4);
  EXPECT_EQ(e.Value("forest_scheduler_transactions_total", {{"outcome", "error"}}), 0);
  EXPECT_EQ(e.Value("forest_scheduler_misfires_total"), 0);
}

TEST(SchedulerProbeTest, CountsMisfiresAndRunsWithoutAWorker) {
  metrics::Registry registry;
  Probe probe(&registry);
  LeaderHarness h;
  LeaderOptions options;
  options.probe = &probe;
  auto& a = h.AddNode("a", options);
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  job.misfire = model::Misfire::kSkip;
  h.PutJob(job);
  h.Elect(a);
  h.Step(a);
  a.leader->Demoted();
  h.clock().Advance(std::chrono::minutes(2));  // nobody leads
  h.Elect(a);
  h.Step(a);
  h.Step(a);
  const Exposition e = Scrape(registry);
  // 120 s missed: the 60 older than the threshold are dropped, the last 60
  // fire, into a group without workers.
  EXPECT_EQ(e.Value("forest_scheduler_misfires_total"), 60);
  EXPECT_EQ(e.Value("forest_scheduler_no_worker_total"), 60);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "cron"}}), 60);
  EXPECT_EQ(e.Value("forest_scheduler_assignments_total"), 0);
}

TEST(SchedulerProbeTest, CountsRunRequestsFailoverAndLostRuns) {
  metrics::Registry registry;
  Probe probe(&registry);
  LeaderHarness h;
  LeaderOptions options;
  options.probe = &probe;
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 0 1 1 ?");  // yearly: quiet
  auto& a = h.Lead(job, {"w1"}, options);
  RunRequest request;
  request.job_id = "j1";
  request.trigger = model::Trigger::kApi;
  ASSERT_TRUE(RequestRun(h.store(), h.clock(), request).ok());
  request.trigger = model::Trigger::kManual;
  h.clock().Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(RequestRun(h.store(), h.clock(), request).ok());
  h.Step(a);
  h.Step(a);
  auto pending = h.Keys(keys::SnapshotPrefix("g", "w1"));
  ASSERT_EQ(pending.size(), 2u);
  // w1 claims one, then w2 joins and w1 dies: the other moves, the claimed
  // one is lost.
  {
    const auto parsed = keys::Parse(pending[0].key).value();
    model::ExecutionRecord record;
    record.run = model::Assignment::FromJson(pending[0].value).value();
    record.status = model::RunStatus::kRunning;
    coord::TxnRequest claim;
    claim.success.push_back(coord::DeleteRequest{pending[0].key, "", false});
    claim.success.push_back(
        coord::PutRequest{keys::Execute(parsed.a, parsed.b, parsed.c), record.ToJson(), 0, false});
    ASSERT_TRUE(h.store().Txn(claim).value().succeeded);
  }
  h.Step(a);
  EXPECT_EQ(a.leader->running(), 1);
  h.AddWorker("g", "w2");
  h.RemoveWorker("g", "w1");
  h.Step(a);
  h.Step(a);
  const Exposition e = Scrape(registry);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "api"}}), 1);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "manual"}}), 1);
  EXPECT_EQ(e.Value("forest_scheduler_fires_total", {{"trigger", "failover"}}), 1);
  EXPECT_EQ(e.Value("forest_scheduler_runs_lost_total"), 1);
  EXPECT_EQ(a.leader->running(), 0);
  EXPECT_EQ(a.leader->workers(), (std::vector<std::pair<std::string, int>>{{"g", 1}}));
}

TEST(SchedulerProbeTest, LeadershipAndTheViewOnlyWhileLeading) {
  metrics::Registry registry;
  Probe probe(&registry);
  Exposition e = Scrape(registry);
  EXPECT_EQ(e.Value("forest_scheduler_leader"), 0);
  EXPECT_FALSE(e.Value("forest_executions_running").has_value());
  probe.Leading(false);
  probe.Leading(true);
  probe.View(3, {{"a", 2}, {"b", 1}}, 7);
  e = Scrape(registry);
  EXPECT_EQ(e.Value("forest_scheduler_leader"), 1);
  EXPECT_EQ(e.Value("forest_scheduler_leadership_changes_total"), 1);
  EXPECT_EQ(e.Value("forest_executions_running"), 3);
  EXPECT_EQ(e.Value("forest_scheduler_planned_jobs"), 7);
  EXPECT_EQ(e.Value("forest_workers", {{"group", "a"}}), 2);
  EXPECT_EQ(e.Value("forest_workers", {{"group", "b"}}), 1);
  probe.Leading(true);
  probe.View(0, {{"b", 3}}, 7);
  e = Scrape(registry);
  EXPECT_FALSE(e.Value("forest_workers", {{"group", "a"}}).has_value());
  EXPECT_EQ(e.Value("forest_workers", {{"group", "b"}}), 3);
  probe.Leading(false);
  probe.ClearView();
  e = Scrape(registry);
  EXPECT_EQ(e.Value("forest_scheduler_leader"), 0);
  EXPECT_EQ(e.Value("forest_scheduler_leadership_changes_total"), 2);
  EXPECT_FALSE(e.Value("forest_executions_running").has_value());
  EXPECT_FALSE(e.Value("forest_workers", {{"group", "b"}}).has_value());
  // The families stay, typed, without series.
  EXPECT_EQ(e.families.at("forest_workers").type, "gauge");
}

}  // namespace
}  // namespace forest::scheduler
