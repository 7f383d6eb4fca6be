// What happens to runs: routing, no live worker, failover, lost and
// timed-out runs, retries with backoff, forbid/replace, manual runs.
#include <gtest/gtest.h>

#include <map>

#include "scheduler/leader_testing.h"
#include "scheduler/run_request.h"

namespace forest::scheduler {
namespace {

using testing::At;
using testing::LeaderHarness;
using std::chrono::seconds;
namespace keys = model::keys;

std::map<std::string, int> PerWorker(LeaderHarness& h) {
  h.WaitForHistory();
  std::map<std::string, int> out;
  for (const auto& d : h.Dispatches()) ++out[d.assignment.ip];
  return out;
}

// A record a worker of ours would write when it claims and finishes.
void FinishRun(LeaderHarness& h, const coord::KeyValue& assignment, model::RunStatus status,
               bool claim_only = false) {
  const auto parsed = keys::Parse(assignment.key).value();
  model::ExecutionRecord record;
  record.run = model::Assignment::FromJson(assignment.value).value();
  record.status = claim_only ? model::RunStatus::kRunning : status;
  record.started_at = h.clock().Now();
  record.start_time = model::FormatLegacyTime(h.clock().Now(), TimeZone::Local());
  coord::TxnRequest claim;
  claim.compare.push_back(coord::Compare::CreateRevision(
      assignment.key, coord::Compare::Result::kEqual, assignment.create_revision));
  coord::DeleteRequest del;
  del.key = assignment.key;
  claim.success.push_back(del);
  claim.success.push_back(coord::PutRequest{
      keys::Execute(parsed.a, parsed.b, parsed.c), record.ToJson(), 0, false});
  ASSERT_TRUE(h.store().Txn(claim).value().succeeded);
}

struct RoutingCase {
  model::Routing routing;
  std::map<std::string, int> expected;  // assignments per worker after 30 fires
};

class RoutingTest : public ::testing::TestWithParam<RoutingCase> {};

TEST_P(RoutingTest, Distribution) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  for (const char* w : {"w1", "w2", "w3"}) h.AddWorker("g", w);
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  job.routing = GetParam().routing;
  h.PutJob(job);
  h.Elect(a);
  h.Step(a);
  h.Run(a, seconds(30), seconds(1));
  const auto per_worker = PerWorker(h);
  if (GetParam().routing == model::Routing::kRandom) {
    int total = 0;
    for (const auto& [w, n] : per_worker) {
      EXPECT_GE(n, 3) << w;  // 30 fires over 3 workers: each gets some
      total += n;
    }
    EXPECT_EQ(total, 30);
    EXPECT_EQ(per_worker.size(), 3u);
  } else if (GetParam().routing == model::Routing::kConsistentHash) {
    ASSERT_EQ(per_worker.size(), 1u);  // one stable owner
    EXPECT_EQ(per_worker.begin()->second, 30);
  } else {
    EXPECT_EQ(per_worker, GetParam().expected);
  }
  if (GetParam().routing == model::Routing::kShard) {
    std::map<int, int> shards;
    for (const auto& d : h.Dispatches()) {
      EXPECT_EQ(d.assignment.shard_total, 3);
      ++shards[d.assignment.shard_index];
    }
    EXPECT_EQ(shards, (std::map<int, int>{{0, 30}, {1, 30}, {2, 30}}));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, RoutingTest,
    ::testing::Values(
        RoutingCase{model::Routing::kRandom, {}},
        RoutingCase{model::Routing::kRoundRobin, {{"w1", 10}, {"w2", 10}, {"w3", 10}}},
        // Nothing claims, so each worker's queue grows and the next fire goes
        // to the shortest: an even spread.
        RoutingCase{model::Routing::kLeastBusy, {{"w1", 10}, {"w2", 10}, {"w3", 10}}},
        RoutingCase{model::Routing::kConsistentHash, {}},
        RoutingCase{model::Routing::kBroadcast, {{"w1", 30}, {"w2", 30}, {"w3", 30}}},
        RoutingCase{model::Routing::kShard, {{"w1", 30}, {"w2", 30}, {"w3", 30}}}),
    [](const auto& param) { return std::string(model::Name(param.param.routing)); });

TEST(LeaderRunsTest, NoLiveWorkerIsRecordedAsAnErrorAndRetried) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 * * * ?");
  job.retry = {2, 10, 1.0};
  h.PutJob(job);
  h.Elect(a);
  h.Step(a);
  h.clock().Set(At("2026-01-01T00:59:59Z"));
  h.Run(a, seconds(2));
  auto records = h.Keys(std::string(keys::kExecutePrefix) + "g/~/");
  ASSERT_EQ(records.size(), 1u);
  auto record = model::ExecutionRecord::FromJson(records[0].value).value();
  EXPECT_EQ(record.status, model::RunStatus::kError);
  EXPECT_EQ(record.result, "no live worker in group 'g'");
  EXPECT_EQ(record.run.id, "20260101010000000-j1");
  // The retry is decided now and due after the backoff.
  ASSERT_EQ(h.Keys(keys::kRetryPrefix).size(), 1u);
  h.AddWorker("g", "w1");
  h.Run(a, seconds(5));
  EXPECT_TRUE(h.Dispatches().empty());
  h.Run(a, seconds(6));
  const auto dispatches = h.Dispatches();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].assignment.trigger, model::Trigger::kRetry);
  EXPECT_EQ(dispatches[0].assignment.attempt, 2);
  EXPECT_EQ(dispatches[0].assignment.id, "20260101010000000c2.0-j1");
  EXPECT_EQ(*dispatches[0].assignment.scheduled_time, At("2026-01-01T01:00:00Z"));
}

TEST(LeaderRunsTest, RetriesWithBackoffOnAnotherWorkerUntilAttemptsRunOut) {
  LeaderHarness h;
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 * * * ?");
  job.retry = {3, 4, 2.0};  // retries after 4 s, then 8 s
  auto& a = h.Lead(job, {"w1", "w2"});
  h.clock().Set(At("2026-01-01T00:59:59.500Z"));
  h.Run(a, seconds(1));
  std::vector<std::string> workers;
  std::vector<Time> dispatched_at;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto pending = h.Keys(keys::kSnapshotPrefix);
    ASSERT_EQ(pending.size(), 1u) << "attempt " << attempt;
    const auto assignment = model::Assignment::FromJson(pending[0].value).value();
    EXPECT_EQ(assignment.attempt, attempt);
    workers.push_back(assignment.ip);
    dispatched_at.push_back(h.clock().Now());
    FinishRun(h, pending[0], model::RunStatus::kError);
    // Wait out the backoff in small steps.
    for (int i = 0; i < 40 && h.Keys(keys::kSnapshotPrefix).empty(); ++i) {
      h.Run(a, std::chrono::milliseconds(250), std::chrono::milliseconds(250));
    }
  }
  EXPECT_TRUE(h.Keys(keys::kSnapshotPrefix).empty());  // no fourth attempt
  EXPECT_NE(workers[1], workers[0]);                    // elsewhere, preferably
  EXPECT_NE(workers[2], workers[1]);
  const auto gap = [&](int i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(dispatched_at[i + 1] -
                                                                 dispatched_at[i]);
  };
  EXPECT_GE(gap(0), seconds(4));
  EXPECT_LT(gap(0), seconds(5));
  EXPECT_GE(gap(1), seconds(8));
  EXPECT_LT(gap(1), seconds(9));
  EXPECT_EQ(a.leader->stats().retries, 2);
}

TEST(LeaderRunsTest, FailoverMovesUnclaimedWorkAndMarksRunningWorkUnknown) {
  LeaderHarness h;
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  job.retry = {2, 0, 1.0};
  auto& a = h.Lead(job, {"w1"});
  h.Run(a, seconds(3), seconds(1));
  auto pending = h.Keys(keys::SnapshotPrefix("g", "w1"));
  ASSERT_EQ(pending.size(), 3u);
  FinishRun(h, pending[0], model::RunStatus::kRunning, /*claim_only=*/true);
  // w2 joins, w1 dies.
  h.AddWorker("g", "w2");
  h.RemoveWorker("g", "w1");
  h.Step(a);
  h.Step(a);
  // The two unclaimed ones moved, same ids, trigger failover.
  const auto moved = h.Keys(keys::SnapshotPrefix("g", "w2"));
  ASSERT_GE(moved.size(), 2u);
  int failover = 0;
  for (const auto& kv : moved) {
    const auto assignment = model::Assignment::FromJson(kv.value).value();
    if (assignment.trigger == model::Trigger::kFailover) {
      ++failover;
      EXPECT_EQ(assignment.ip, "w2");
    }
  }
  EXPECT_EQ(failover, 2);
  EXPECT_TRUE(h.Keys(keys::SnapshotPrefix("g", "w1")).empty());
  // The claimed one is unknown now, and retried (attempt 2) on w2.
  const auto records = h.Keys(std::string(keys::kExecutePrefix) + "g/w1/");
  ASSERT_EQ(records.size(), 1u);
  const auto record = model::ExecutionRecord::FromJson(records[0].value).value();
  EXPECT_EQ(record.status, model::RunStatus::kUnknown);
  EXPECT_NE(record.result.find("w1"), std::string::npos);
  h.Step(a);
  h.WaitForHistory();
  int retries = 0;
  for (const auto& d : h.Dispatches()) {
    if (d.assignment.trigger == model::Trigger::kRetry) {
      ++retries;
      EXPECT_EQ(d.assignment.ip, "w2");
      EXPECT_EQ(d.assignment.attempt, 2);
    }
  }
  EXPECT_EQ(retries, 1);
  EXPECT_EQ(a.leader->stats().moved, 2);
  EXPECT_EQ(a.leader->stats().lost_runs, 1);
}

TEST(LeaderRunsTest, OrphansWaitForAWorkerToJoin) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  h.AddWorker("g", "w1");
  h.PutJob(LeaderHarness::MakeJob("j1", "0 0 * * * ?"));
  h.Elect(a);
  h.Step(a);
  h.clock().Set(At("2026-01-01T00:59:59.500Z"));
  h.Run(a, seconds(1));
  h.RemoveWorker("g", "w1");
  h.Run(a, seconds(2));
  EXPECT_EQ(h.Keys(keys::SnapshotPrefix("g", "w1")).size(), 1u);  // nowhere to go
  h.AddWorker("g", "w9");
  h.Step(a);
  h.Step(a);
  EXPECT_TRUE(h.Keys(keys::SnapshotPrefix("g", "w1")).empty());
  EXPECT_EQ(h.Keys(keys::SnapshotPrefix("g", "w9")).size(), 1u);
}

TEST(LeaderRunsTest, TimedOutRunIsMarkedAndKilled) {
  LeaderHarness h;
  LeaderOptions options;
  options.timeout_grace = seconds(2);
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 * * * ?");
  job.timeout_seconds = 5;
  auto& a = h.Lead(job, {"w1"}, options);
  h.clock().Set(At("2026-01-01T00:59:59.500Z"));
  h.Run(a, seconds(1));
  auto pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  FinishRun(h, pending[0], model::RunStatus::kRunning, /*claim_only=*/true);
  h.Run(a, seconds(6));  // within timeout + grace
  auto record =
      model::ExecutionRecord::FromJson(h.Keys(keys::kExecutePrefix)[0].value).value();
  EXPECT_EQ(record.status, model::RunStatus::kRunning);
  h.Run(a, seconds(2));
  record = model::ExecutionRecord::FromJson(h.Keys(keys::kExecutePrefix)[0].value).value();
  EXPECT_EQ(record.status, model::RunStatus::kError);
  EXPECT_NE(record.result.find("timed out"), std::string::npos) << record.result;
  EXPECT_EQ(h.Keys(keys::kKillPrefix).size(), 1u);
  EXPECT_EQ(a.leader->stats().timed_out, 1);
}

TEST(LeaderRunsTest, ForbidSkipsWhileThePreviousRunIsRunning) {
  LeaderHarness h;
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  job.concurrency = model::Concurrency::kForbid;
  auto& a = h.Lead(job, {"w1"});
  h.Run(a, seconds(1), seconds(1));
  auto pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  FinishRun(h, pending[0], model::RunStatus::kRunning, /*claim_only=*/true);
  h.Run(a, seconds(5), seconds(1));
  EXPECT_TRUE(h.Keys(keys::kSnapshotPrefix).empty());
  EXPECT_EQ(a.leader->stats().skipped_forbid, 5);
  // Once it finishes, the next fire goes out.
  auto running = h.Keys(keys::kExecutePrefix);
  auto record = model::ExecutionRecord::FromJson(running[0].value).value();
  record.status = model::RunStatus::kSuccess;
  h.store().Put({running[0].key, record.ToJson()}).value();
  h.Run(a, seconds(1), seconds(1));
  EXPECT_EQ(h.Keys(keys::kSnapshotPrefix).size(), 1u);
}

TEST(LeaderRunsTest, ReplaceStopsThePreviousRunThenStarts) {
  LeaderHarness h;
  model::Job job = LeaderHarness::MakeJob("j1", "*/2 * * * * ?");
  job.concurrency = model::Concurrency::kReplace;
  auto& a = h.Lead(job, {"w1"});
  h.Run(a, seconds(2), seconds(1));
  auto pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  FinishRun(h, pending[0], model::RunStatus::kRunning, /*claim_only=*/true);
  h.Run(a, seconds(2), seconds(1));
  // The running one is asked to stop; the new one is out.
  const auto kills = h.Keys(keys::kKillPrefix);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_NE(kills[0].key.find(model::Assignment::FromJson(pending[0].value).value().id),
            std::string::npos);
  pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  // An unclaimed previous assignment is withdrawn instead.
  h.Run(a, seconds(2), seconds(1));
  const auto now_pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(now_pending.size(), 1u);
  EXPECT_NE(now_pending[0].key, pending[0].key);
}

TEST(LeaderRunsTest, ManualRunWithParametersIsServedOnce) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  auto& b = h.AddNode("b");
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 0 1 1 ?");  // yearly: stays quiet
  job.params = "default";
  h.PutJob(job);
  h.Elect(a);
  h.Step(a);
  RunRequest request;
  request.job_id = "j1";
  request.params = "override";
  request.requested_by = "alice";
  const std::string id = RequestRun(h.store(), h.clock(), request).value();
  // Requested while one leader leads, served by the next.
  h.Elect(b);
  h.Step(b);
  h.Step(a);
  h.Step(b);
  const auto dispatches = h.Dispatches();
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_EQ(dispatches[0].assignment.id, id);
  EXPECT_EQ(dispatches[0].assignment.trigger, model::Trigger::kManual);
  EXPECT_EQ(dispatches[0].assignment.params, "override");
  EXPECT_TRUE(h.Keys(keys::kRunPrefix).empty());
  EXPECT_EQ(b.leader->stats().manual_runs, 1);
}

}  // namespace
}  // namespace forest::scheduler

namespace forest::scheduler {
namespace {

// Regression (review): a re-election re-reads every failed record; the retry
// it already dispatched must not be decided again, and the intent goes only
// once the failed record has been collected.
TEST(LeaderRunsTest, ARetryIsDecidedOnceAcrossLeaderChanges) {
  LeaderHarness h;
  LeaderOptions options;
  options.retry_gc_interval = seconds(5);
  auto& a = h.AddNode("a", options);
  auto& b = h.AddNode("b", options);
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 * * * ?");
  job.retry = {3, 0, 1.0};
  h.PutJob(job);
  h.Elect(a);
  h.Step(a);
  h.clock().Set(At("2026-01-01T00:59:59.500Z"));
  h.Run(a, seconds(1));
  auto pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  FinishRun(h, pending[0], model::RunStatus::kError);
  h.Run(a, seconds(1));
  ASSERT_EQ(h.Keys(keys::kSnapshotPrefix).size(), 1u);  // attempt 2 is out
  for (int i = 0; i < 3; ++i) {
    h.Elect(i % 2 == 0 ? b : a);
    h.Run(i % 2 == 0 ? b : a, seconds(10), seconds(1));
  }
  int second_attempts = 0;
  for (const auto& d : h.Dispatches()) second_attempts += d.assignment.attempt == 2 ? 1 : 0;
  EXPECT_EQ(second_attempts, 1);
  EXPECT_EQ(h.Keys(keys::kRetryPrefix).size(), 1u);
  // The collector takes the failed record: the intent goes at the next check.
  for (const auto& kv : h.Keys(keys::kExecutePrefix)) h.Delete(kv.key);
  h.Run(b, seconds(6), seconds(1));
  EXPECT_TRUE(h.Keys(keys::kRetryPrefix).empty());
}

// Regression (review): the original's clients write their running record
// before the assignment goes; such an assignment is claimed, not an orphan.
TEST(LeaderRunsTest, FailoverLeavesAssignmentsWithARecordAlone) {
  LeaderHarness h;
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 * * * ?");
  job.routing = model::Routing::kConsistentHash;
  auto& a = h.Lead(job, {"w1", "w2"});
  h.clock().Set(At("2026-01-01T00:59:59.500Z"));
  h.Run(a, seconds(1));
  const auto pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  const auto parsed = keys::Parse(pending[0].key).value();
  model::ExecutionRecord record;
  record.run = model::Assignment::FromJson(pending[0].value).value();
  h.store().Put({keys::Execute(parsed.a, parsed.b, parsed.c), record.ToJson(), 0, false}).value();
  h.RemoveWorker("g", std::string(parsed.b));
  h.Step(a);
  h.Step(a);
  EXPECT_EQ(a.leader->stats().moved, 0);
  EXPECT_EQ(h.Keys(keys::kSnapshotPrefix).size(), 1u);
  EXPECT_EQ(a.leader->stats().lost_runs, 1);  // and the run is unknown
}

}  // namespace
}  // namespace forest::scheduler

namespace forest::scheduler {
namespace {

// A live worker that leaves an assignment unclaimed (it is full) loses it
// to a less busy worker of the group.
TEST(LeaderRunsTest, WorkLeftUnclaimedByABusyWorkerMovesToAnIdleOne) {
  LeaderHarness h;
  LeaderOptions options;
  options.unclaimed_move_after = seconds(5);
  model::Job job = LeaderHarness::MakeJob("j1", "0 0 * * * ?");
  job.routing = model::Routing::kConsistentHash;
  auto& a = h.Lead(job, {"w1", "w2"}, options);
  h.clock().Set(At("2026-01-01T00:59:59.500Z"));
  h.Run(a, seconds(1));
  auto pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  const std::string busy = std::string(keys::Parse(pending[0].key)->b);
  FinishRun(h, pending[0], model::RunStatus::kRunning, /*claim_only=*/true);
  // The next fire goes to the same (busy) worker and waits there.
  h.clock().Set(At("2026-01-01T01:59:59.500Z"));
  h.Run(a, seconds(1));
  pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(keys::Parse(pending[0].key)->b, busy);
  h.Run(a, seconds(3));
  EXPECT_EQ(keys::Parse(h.Keys(keys::kSnapshotPrefix).at(0).key)->b, busy);  // not yet
  h.Run(a, seconds(3));
  pending = h.Keys(keys::kSnapshotPrefix);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_NE(keys::Parse(pending[0].key)->b, busy);
  EXPECT_EQ(model::Assignment::FromJson(pending[0].value)->trigger, model::Trigger::kFailover);
  EXPECT_EQ(a.leader->stats().moved, 1);
}

}  // namespace
}  // namespace forest::scheduler
