// The leader's firing logic on the embedded store with a fake clock:
// exactly-once across leader changes, misfire policies, windows, config
// changes, fencing.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "scheduler/leader_testing.h"

namespace forest::scheduler {
namespace {

using testing::At;
using testing::LeaderHarness;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<std::string> Text(const std::vector<Time>& times) {
  std::vector<std::string> out;
  for (Time t : times) out.push_back(FormatIso8601(t));
  return out;
}

// Scheduled times dispatched per job, from the assignments written.
std::map<std::string, std::vector<Time>> FiredTimes(LeaderHarness& h) {
  h.WaitForHistory();
  std::map<std::string, std::vector<Time>> out;
  for (const auto& d : h.Dispatches()) {
    if (d.assignment.trigger != model::Trigger::kCron) continue;
    out[d.assignment.job_id].push_back(*d.assignment.scheduled_time);
  }
  return out;
}

std::vector<Time> Expected(const std::string& cron, Time after, Time until) {
  const auto schedule = cron::Schedule::Parse(cron, {}).value();
  std::vector<Time> out;
  for (auto t = schedule.Next(after); t && *t <= until; t = schedule.Next(*t)) out.push_back(*t);
  return out;
}

TEST(LeaderTest, FiresEachScheduledTimeOnceWithTheOriginalsFields) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "*/5 * * * * ?");
  job.params = "p=1";
  job.timeout_seconds = 30;
  h.PutJob(job);
  h.Elect(a);
  const Time start = h.clock().Now();
  h.Run(a, seconds(20));
  const auto fired = FiredTimes(h);
  EXPECT_EQ(Text(fired.at("j1")), Text(Expected("*/5 * * * * ?", start, h.clock().Now())));
  const auto dispatches = h.Dispatches();
  ASSERT_FALSE(dispatches.empty());
  const model::Assignment& first = dispatches[0].assignment;
  EXPECT_EQ(dispatches[0].key, "/forest/client/snapshot/g/w1/20260101000005000-j1");
  EXPECT_EQ(first.id, "20260101000005000-j1");
  EXPECT_EQ(first.ip, "w1");
  EXPECT_EQ(first.params, "p=1");
  EXPECT_EQ(first.target, "echo");
  EXPECT_EQ(first.attempt, 1);
  EXPECT_EQ(first.timeout_seconds, 30);
  EXPECT_EQ(first.trigger, model::Trigger::kCron);
  // The cursor says how far the schedule is handled.
  const auto cursor = h.Keys(model::keys::Cursor("j1"));
  ASSERT_EQ(cursor.size(), 1u);
  EXPECT_NE(cursor[0].value.find("2026-01-01T00:00:20.000Z"), std::string::npos) << cursor[0].value;
}

// The heart of the guarantee: leaders come and go (some without noticing
// they were replaced, some with gaps when nobody leads), and every
// scheduled time is dispatched exactly once.
TEST(LeaderTest, ExactlyOnceAcrossManyLeaderChanges) {
  LeaderHarness h;
  std::vector<LeaderHarness::Node*> nodes = {&h.AddNode("a"), &h.AddNode("b"), &h.AddNode("c")};
  h.AddWorker("g", "w1");
  h.AddWorker("g", "w2");
  const std::vector<std::pair<std::string, std::string>> jobs = {
      {"every-second", "* * * * * ?"},
      {"every-3", "*/3 * * * * ?"},
      {"every-7", "0/7 * * * * ?"},
      {"minute", "0 * * * * ?"}};
  for (const auto& [id, cron] : jobs) h.PutJob(LeaderHarness::MakeJob(id, cron));
  h.Elect(*nodes[0]);
  for (auto* n : nodes) h.Step(*n);
  const Time start = h.clock().Now();

  std::mt19937 rng(20261124);
  int changes = 0;
  for (int round = 0; round < 400; ++round) {
    h.clock().Advance(milliseconds(std::uniform_int_distribution<int>(50, 1800)(rng)));
    const int event = std::uniform_int_distribution<int>(0, 9)(rng);
    if (event == 0) {
      // Another node wins; the old leader is not told and keeps trying.
      h.Elect(*nodes[std::uniform_int_distribution<int>(0, 2)(rng)]);
      ++changes;
    } else if (event == 1) {
      // Nobody leads for a while (under the misfire threshold).
      for (auto* n : nodes) n->leader->Demoted();
      h.clock().Advance(seconds(std::uniform_int_distribution<int>(1, 20)(rng)));
      h.Elect(*nodes[std::uniform_int_distribution<int>(0, 2)(rng)]);
      ++changes;
    }
    for (auto* n : nodes) h.Step(*n);
  }
  for (int i = 0; i < 3; ++i) {
    for (auto* n : nodes) h.Step(*n);
  }
  EXPECT_GT(changes, 40);
  int leaders = 0;
  for (auto* n : nodes) leaders += n->leader->leading() ? 1 : 0;
  EXPECT_EQ(leaders, 1);

  const auto fired = FiredTimes(h);
  // Up to the last cursor: the leader may be mid-way through the last second.
  for (const auto& [id, cron] : jobs) {
    const auto cursor = h.Keys(model::keys::Cursor(id));
    ASSERT_EQ(cursor.size(), 1u);
    const Time until = At(nlohmann::json::parse(cursor[0].value)["scheduledTime"].get<std::string>());
    const std::vector<Time> expected = Expected(cron, start, until);
    ASSERT_TRUE(fired.contains(id)) << id;
    EXPECT_EQ(Text(fired.at(id)), Text(expected)) << id << ": fired " << fired.at(id).size() << ", expected "
                                      << expected.size();
    EXPECT_GT(expected.size(), 0u);
  }
  // Ex-leaders tried and were refused.
  int64_t fenced = 0;
  for (auto* n : nodes) fenced += n->leader->stats().fenced_out;
  EXPECT_GT(fenced, 0);
}

TEST(LeaderTest, AStoppedLeaderWritesNothing) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  auto& b = h.AddNode("b");
  h.AddWorker("g", "w1");
  h.PutJob(LeaderHarness::MakeJob("j1", "* * * * * ?"));
  h.Elect(a);
  h.Run(a, seconds(3));
  h.Elect(b);  // a is not told (it is paused, partitioned...)
  h.Sync(b);
  const coord::Revision before = h.StoreRevision();
  h.clock().Advance(seconds(5));
  // a has due fires but no longer holds the key: its transaction is refused.
  a.leader->Apply({});
  a.leader->Tick();
  EXPECT_EQ(h.StoreRevision(), before);
  EXPECT_EQ(a.leader->stats().fenced_out, 1);
  EXPECT_FALSE(a.leader->leading());
  a.leader->Tick();  // and it stops trying
  EXPECT_EQ(a.leader->stats().fenced_out, 1);
  EXPECT_EQ(h.StoreRevision(), before);
}

TEST(LeaderTest, FollowerTakesOverFromTheCursorWithLateFires) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  auto& b = h.AddNode("b");
  h.AddWorker("g", "w1");
  h.PutJob(LeaderHarness::MakeJob("j1", "* * * * * ?"));
  h.Elect(a);
  const Time start = h.clock().Now();
  h.Run(a, seconds(10));
  a.leader->Demoted();
  h.clock().Advance(seconds(30));  // nobody leads: under the 60 s threshold
  h.Elect(b);
  h.Step(b);
  EXPECT_EQ(Text(FiredTimes(h).at("j1")), Text(Expected("* * * * * ?", start, h.clock().Now())));
  // Late, but fired.
  EXPECT_EQ(b.leader->stats().skipped_misfire, 0);
}

class MisfireTest : public ::testing::TestWithParam<model::Misfire> {};

// Keeps what the leader told (the alarms' view of misfires).
class RecordingObserver final : public LeaderObserver {
 public:
  void OnMisfire(const MisfireEvent& event) override { events.push_back(event); }
  std::vector<MisfireEvent> events;
};

TEST_P(MisfireTest, LongOutageFollowsThePolicy) {
  LeaderHarness h;
  RecordingObserver observer;
  LeaderOptions options;
  options.fire_all_cap = 100;
  options.observer = &observer;
  auto& a = h.AddNode("a", options);
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  job.misfire = GetParam();
  h.PutJob(job);
  h.Elect(a);
  h.Run(a, seconds(5));
  const Time last = h.clock().Now();
  a.leader->Demoted();
  h.clock().Advance(std::chrono::minutes(10));  // all nodes down
  const Time now = h.clock().Now();
  h.Elect(a);
  // A catch-up bigger than one transaction goes on at the next tick, at once.
  const Time next = h.Step(a);
  if (GetParam() == model::Misfire::kFireAll) {
    EXPECT_LE(next, now);
  }
  h.Step(a);
  std::vector<Time> fired;
  const auto all = FiredTimes(h);
  for (Time t : all.at("j1")) {
    if (t > last) fired.push_back(t);
  }
  // The last minute (late by less than the 60 s threshold) always fires.
  const std::vector<Time> recent = Expected("* * * * * ?", now - seconds(60), now);
  std::vector<Time> expected;
  const std::vector<Time> missed = Expected("* * * * * ?", last, now - seconds(60));
  switch (GetParam()) {
    case model::Misfire::kSkip:
      break;
    case model::Misfire::kFireOnce:
      expected.push_back(missed.front());
      break;
    case model::Misfire::kFireAll:
      expected.assign(missed.end() - 100, missed.end());
      break;
  }
  expected.insert(expected.end(), recent.begin(), recent.end());
  EXPECT_EQ(Text(fired), Text(expected));
  // The observer heard of the missed times once their cursor was written.
  ASSERT_FALSE(observer.events.empty());
  const MisfireEvent& told = observer.events.front();
  EXPECT_EQ(told.job_id, "j1");
  EXPECT_EQ(told.group, job.group);
  EXPECT_EQ(told.policy, GetParam());
  EXPECT_EQ(told.first_missed, missed.front());
  if (GetParam() != model::Misfire::kFireAll) {
    ASSERT_EQ(observer.events.size(), 1u);
    EXPECT_EQ(told.missed, static_cast<int64_t>(missed.size()));
    EXPECT_EQ(told.last_missed, missed.back());
    EXPECT_EQ(told.fired, GetParam() == model::Misfire::kSkip ? 0 : 1);
  }
  // And it carries on as usual.
  h.Run(a, seconds(2));
  EXPECT_EQ(FiredTimes(h).at("j1").back(), h.clock().Now());
}

INSTANTIATE_TEST_SUITE_P(Policies, MisfireTest,
                         ::testing::Values(model::Misfire::kSkip, model::Misfire::kFireOnce,
                                           model::Misfire::kFireAll),
                         [](const auto& param) { return std::string(model::Name(param.param)); });

TEST(LeaderTest, RespectsStartAndEnd) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  job.start_at = At("2026-01-01T00:00:05Z");
  job.end_at = At("2026-01-01T00:00:08Z");
  h.PutJob(job);
  h.Elect(a);
  h.Run(a, seconds(15));
  EXPECT_EQ(FiredTimes(h).at("j1"),
            (std::vector<Time>{At("2026-01-01T00:00:05Z"), At("2026-01-01T00:00:06Z"),
                               At("2026-01-01T00:00:07Z")}));
  EXPECT_EQ(a.leader->planned(), 0u);  // the window closed
}

TEST(LeaderTest, ConfigChangesTakeEffectWithoutRestart) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  h.PutJob(job);
  h.Elect(a);
  h.Run(a, seconds(3));
  EXPECT_EQ(FiredTimes(h).at("j1").size(), 3u);

  // Pause: nothing fires.
  job.status = model::JobStatus::kStopped;
  job.version++;
  h.PutJob(job);
  h.Run(a, seconds(5));
  EXPECT_EQ(FiredTimes(h).at("j1").size(), 3u);
  EXPECT_FALSE(a.leader->NextFire("j1"));

  // Resume: from now on, without replaying the paused seconds.
  job.status = model::JobStatus::kEnabled;
  job.version++;
  h.PutJob(job);
  const Time resumed = h.clock().Now();
  h.Run(a, seconds(2));
  auto fired = FiredTimes(h).at("j1");
  ASSERT_EQ(fired.size(), 5u);
  EXPECT_GT(fired[3], resumed);

  // Edit the schedule: every 5 s from now.
  job.cron = "*/5 * * * * ?";
  job.version++;
  h.PutJob(job);
  h.Run(a, seconds(10));
  fired = FiredTimes(h).at("j1");
  for (size_t i = 5; i < fired.size(); ++i) {
    EXPECT_EQ(std::chrono::duration_cast<seconds>(fired[i].time_since_epoch()).count() % 5, 0);
  }
  EXPECT_EQ(fired.size(), 7u);

  // Delete: no more fires, the cursor goes.
  h.Delete(model::keys::Conf("j1"));
  h.Run(a, seconds(10));
  EXPECT_EQ(FiredTimes(h).at("j1").size(), 7u);
  EXPECT_TRUE(h.Keys(model::keys::Cursor("j1")).empty());
}

TEST(LeaderTest, InvalidDocumentsAreReportedNotFired) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  h.AddWorker("g", "w1");
  h.store().Put({model::keys::Conf("bad"), "{not json"}).value();
  model::Job job = LeaderHarness::MakeJob("bad2", "* * * * * ?");
  h.store().Put({model::keys::Conf("bad2"), job.ToJson().replace(job.ToJson().find("* * * * * ?"), 11, "61 * * * * ?")}).value();
  h.PutJob(LeaderHarness::MakeJob("good", "* * * * * ?"));
  h.Elect(a);
  h.Run(a, seconds(3));
  const auto fired = FiredTimes(h);
  EXPECT_FALSE(fired.contains("bad"));
  EXPECT_FALSE(fired.contains("bad2"));
  EXPECT_EQ(fired.at("good").size(), 3u);
  EXPECT_GE(a.leader->stats().invalid_docs, 2);
}

}  // namespace
}  // namespace forest::scheduler

namespace forest::scheduler {
namespace {

// Regression (review): a leader whose clock is behind the last one's must not
// move an edited job's cursor back and fire a handled time again.
TEST(LeaderTest, AnEditUnderALaggingClockDoesNotRefire) {
  LeaderHarness h;
  auto& a = h.AddNode("a");
  auto& b = h.AddNode("b");
  h.AddWorker("g", "w1");
  model::Job job = LeaderHarness::MakeJob("j1", "* * * * * ?");
  h.PutJob(job);
  h.Elect(a);
  h.Step(a);
  h.Run(a, seconds(10), seconds(1));
  job.version++;
  job.name = "renamed";
  h.PutJob(job);
  h.clock().Set(h.clock().Now() - seconds(5));  // b's clock is behind
  h.Elect(b);
  h.Run(b, seconds(8), seconds(1));
  std::map<Time, int> per_time;
  for (const auto& d : h.Dispatches()) ++per_time[*d.assignment.scheduled_time];
  for (const auto& [t, n] : per_time) EXPECT_EQ(n, 1) << FormatIso8601(t);
}

}  // namespace
}  // namespace forest::scheduler
