#include "dispatch/router.h"

#include <gtest/gtest.h>

#include <map>

namespace forest::dispatch {
namespace {

using model::Routing;

std::vector<LiveWorker> Workers(int n, int running = 0) {
  std::vector<LiveWorker> w;
  for (int i = 0; i < n; ++i) w.push_back({"10.0.0." + std::to_string(10 + i), running});
  return w;
}

size_t One(Router& r, Routing routing, std::string_view job, const std::vector<LiveWorker>& w,
           std::string_view avoid = {}) {
  const std::vector<Pick> picks = r.Route(routing, job, w, avoid);
  EXPECT_EQ(picks.size(), 1u);
  return picks.at(0).worker;
}

TEST(RouterTest, NoLiveWorkerNoPick) {
  Router r(1);
  for (Routing routing : {Routing::kRandom, Routing::kRoundRobin, Routing::kLeastBusy,
                          Routing::kConsistentHash, Routing::kBroadcast, Routing::kShard}) {
    EXPECT_TRUE(r.Route(routing, "job", {}).empty());
  }
}

TEST(RouterTest, RandomIsUniform) {
  Router r(42);
  const auto w = Workers(10);
  std::vector<int> counts(10);
  for (int i = 0; i < 100000; ++i) ++counts[One(r, Routing::kRandom, "job", w)];
  for (int c : counts) {
    EXPECT_GT(c, 9500);
    EXPECT_LT(c, 10500);
  }
}

TEST(RouterTest, RoundRobinCyclesPerJob) {
  Router r(1);
  const auto w = Workers(3);
  std::vector<size_t> a, b;
  for (int i = 0; i < 6; ++i) a.push_back(One(r, Routing::kRoundRobin, "a", w));
  for (int i = 0; i < 2; ++i) b.push_back(One(r, Routing::kRoundRobin, "b", w));
  EXPECT_EQ(a, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(b, (std::vector<size_t>{0, 1}));  // its own position
  r.Forget("a");
  EXPECT_EQ(One(r, Routing::kRoundRobin, "a", w), 0u);
}

TEST(RouterTest, LeastBusyPicksTheIdlestAndSpreadsTies) {
  Router r(1);
  std::vector<LiveWorker> w = {{"a", 3}, {"b", 1}, {"c", 5}, {"d", 1}};
  std::map<size_t, int> picks;
  for (int i = 0; i < 10; ++i) ++picks[One(r, Routing::kLeastBusy, "job", w)];
  EXPECT_EQ(picks, (std::map<size_t, int>{{1, 5}, {3, 5}}));
  w[3].running = 0;
  EXPECT_EQ(One(r, Routing::kLeastBusy, "job", w), 3u);
}

TEST(RouterTest, ConsistentHashIsStableAndEven) {
  Router r(1);
  const auto w = Workers(10);
  std::vector<int> counts(10);
  for (int j = 0; j < 20000; ++j) {
    const std::string job = "job-" + std::to_string(j);
    const size_t first = One(r, Routing::kConsistentHash, job, w);
    EXPECT_EQ(One(r, Routing::kConsistentHash, job, w), first);
    ++counts[first];
  }
  for (int c : counts) {
    EXPECT_GT(c, 1700);
    EXPECT_LT(c, 2300);
  }
}

TEST(RouterTest, ConsistentHashMovesOnlyWhatItMust) {
  Router r(1);
  const auto ten = Workers(10);
  const auto eleven = Workers(11);  // one joins (the last name)
  auto nine = ten;
  nine.erase(nine.begin() + 4);  // one leaves
  int moved_on_join = 0;
  for (int j = 0; j < 20000; ++j) {
    const std::string job = "job-" + std::to_string(j);
    const std::string& before = ten[One(r, Routing::kConsistentHash, job, ten)].name;
    const std::string& joined = eleven[One(r, Routing::kConsistentHash, job, eleven)].name;
    if (joined != before) {
      ++moved_on_join;
      EXPECT_EQ(joined, eleven.back().name);  // only to the newcomer
    }
    const std::string& left = nine[One(r, Routing::kConsistentHash, job, nine)].name;
    if (before != ten[4].name) {
      EXPECT_EQ(left, before);  // only the leaver's jobs move
    }
  }
  // About 1/11 of the jobs move to the newcomer.
  EXPECT_GT(moved_on_join, 20000 / 11 * 8 / 10);
  EXPECT_LT(moved_on_join, 20000 / 11 * 12 / 10);
}

TEST(RouterTest, BroadcastAndShardTakeEveryWorker) {
  Router r(1);
  const auto w = Workers(4);
  const auto all = r.Route(Routing::kBroadcast, "job", w);
  ASSERT_EQ(all.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(all[i].worker, i);
    EXPECT_EQ(all[i].shard_total, 1);
  }
  const auto shards = r.Route(Routing::kShard, "job", w);
  ASSERT_EQ(shards.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(shards[i].worker, i);
    EXPECT_EQ(shards[i].shard_index, int(i));
    EXPECT_EQ(shards[i].shard_total, 4);
  }
}

TEST(RouterTest, SingleWorkerStrategiesAvoidTheFailedWorkerWhenTheyCan) {
  Router r(7);
  const auto w = Workers(3);
  for (Routing routing :
       {Routing::kRandom, Routing::kRoundRobin, Routing::kLeastBusy, Routing::kConsistentHash}) {
    for (int i = 0; i < 50; ++i) {
      EXPECT_NE(w[One(r, routing, "job", w, w[1].name)].name, w[1].name);
    }
  }
  // The only live worker is used anyway.
  const std::vector<LiveWorker> alone = {{"solo", 0}};
  EXPECT_EQ(One(r, Routing::kRandom, "job", alone, "solo"), 0u);
}

}  // namespace
}  // namespace forest::dispatch
