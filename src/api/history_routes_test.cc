// REST v1 of the history (executions, kill, statistics) through the router,
// on the embedded store and a real SQLite history with known rows.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/api.h"
#include "coord/embedded/embedded_store.h"
#include "history/history.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::api {
namespace {

using model::RunStatus;
using nlohmann::json;
using Query = std::multimap<std::string, std::string>;
namespace keys = model::keys;

Time At(const char* text) { return ParseIso8601(text, TimeZone::Utc()).value(); }

struct Row {
  const char* id;
  const char* job;
  const char* name;
  const char* group;
  const char* worker;
  RunStatus status;
  model::Trigger trigger;
  const char* started;
  std::optional<int64_t> duration_ms;
  std::optional<int64_t> lag_ms;  // start minus scheduled time; none for manual runs
};

// Now is 2026-03-08T12:00:00Z. Newest first: e3 e2 e1 e6 e4 e5 old.
const std::vector<Row> kRows = {
    {"e1", "a", "alpha", "g1", "w1", RunStatus::kSuccess, model::Trigger::kCron,
     "2026-03-08T10:00:00Z", 100, 10},
    {"e2", "a", "alpha", "g1", "w1", RunStatus::kError, model::Trigger::kRetry,
     "2026-03-08T11:00:00Z", 300, 30},
    {"e3", "b", "beta", "g2", "w2", RunStatus::kRunning, model::Trigger::kManual,
     "2026-03-08T11:30:00Z", std::nullopt, std::nullopt},
    {"e4", "b", "beta", "g2", "w2", RunStatus::kSuccess, model::Trigger::kApi,
     "2026-03-07T20:00:00Z", 50, std::nullopt},
    {"e5", "a", "alpha", "g1", "w1", RunStatus::kUnknown, model::Trigger::kCron,
     "2026-03-07T09:00:00Z", std::nullopt, std::nullopt},
    {"e6", "c", "gamma", "g2", "w3", RunStatus::kRunning, model::Trigger::kCron,
     "2026-03-08T09:00:00Z", std::nullopt, std::nullopt},
    {"old", "a", "alpha", "g1", "w1", RunStatus::kSuccess, model::Trigger::kCron,
     "2026-02-20T00:00:00Z", 9999, 0},
};

history::Execution MakeExecution(const Row& row) {
  history::Execution e;
  model::ExecutionRecord& r = e.record;
  r.run.id = row.id;
  r.run.job_id = row.job;
  r.run.name = row.name;
  r.run.group = row.group;
  r.run.ip = row.worker;
  r.run.cron = "0 * * * * ?";
  r.run.target = "echo hi";
  r.run.trigger = row.trigger;
  r.run.attempt = row.trigger == model::Trigger::kRetry ? 2 : 1;
  r.started_at = At(row.started);
  if (row.lag_ms) r.run.scheduled_time = *r.started_at - Millis(*row.lag_ms);
  r.start_time = FormatLocal(*r.started_at, TimeZone::Utc()).substr(0, 19);
  r.status = row.status;
  r.duration_ms = row.duration_ms;
  r.output = std::string("hello ") + row.id;
  r.result = model::IsFinal(row.status) ? "done" : "";
  e.worker = row.worker;
  e.leader_node = "node-a";
  return e;
}

class HistoryRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = coord::EmbeddedStore::Open({}).value();
    static int counter = 0;
    path_ = ::testing::TempDir() + "forest_api_history_" + std::to_string(getpid()) + "_" +
            std::to_string(++counter) + ".db";
    RemoveDb();
    auto history = history::Open(history::ParseDbUrl("sqlite://" + path_).value(), clock_);
    ASSERT_TRUE(history.ok()) << history.status();
    history_ = *std::move(history);
    std::vector<history::Execution> batch;
    for (const Row& row : kRows) batch.push_back(MakeExecution(row));
    ASSERT_TRUE(history_->Upsert(batch).ok());

    ApiDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.history = history_.get();
    AddRoutes(router_, deps);
    // A caller named alice with the role the test sets; routes beyond it are refused.
    router_.SetAuthorizer([this](Request& request, Access access) {
      if (access > role_) return absl::PermissionDeniedError("not allowed");
      request.caller = Caller{"alice", role_, false};
      return absl::OkStatus();
    });
  }
  void TearDown() override {
    history_.reset();
    RemoveDb();
  }
  void RemoveDb() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                Query query = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = std::move(query);
    return router_.Dispatch(r);
  }
  json Get(const std::string& path, Query query = {}) {
    const Response r = Call("GET", path, "", std::move(query));
    EXPECT_EQ(r.status, 200) << path << " -> " << r.body;
    return json::parse(r.body);
  }
  std::vector<std::string> Ids(Query query) {
    std::vector<std::string> ids;
    const json page = Get("/api/v1/executions", std::move(query));
    for (const json& item : page["items"]) {
      ids.push_back(item["id"]);
    }
    return ids;
  }
  void ExpectBadRequests(const std::string& path,
                         const std::vector<std::pair<Query, std::string>>& cases) {
    for (const auto& [query, field] : cases) {
      const Response r = Call("GET", path, "", query);
      EXPECT_EQ(r.status, 400) << path << " " << field << " -> " << r.body;
      const json body = json::parse(r.body);
      EXPECT_EQ(body["error"]["field"], field) << r.body;
      EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    }
  }
  void PutRecord(const std::string& group, const std::string& worker, const std::string& id,
                 RunStatus status) {
    model::ExecutionRecord r;
    r.run.id = id;
    r.run.job_id = "j";
    r.run.group = group;
    r.run.ip = worker;
    r.status = status;
    coord::PutRequest put;
    put.key = keys::Execute(group, worker, id);
    put.value = r.ToJson();
    ASSERT_TRUE(store_->Put(put).ok());
  }
  std::optional<std::string> Value(const std::string& key) {
    const auto r = store_->Range(coord::RangeRequest::Single(key)).value();
    if (r.kvs.empty()) return std::nullopt;
    return r.kvs[0].value;
  }
  // The reason the worker records for a kill key's value (worker.cc, OnKills).
  static std::string WorkerReason(const std::string& value) {
    const json j = json::parse(value, nullptr, false);
    if (j.is_object() && j.contains("reason") && j["reason"].is_string()) {
      return "killed: " + j["reason"].get<std::string>();
    }
    return "killed";
  }
  static json Find(const json& items, const std::string& key) {
    for (const json& item : items) {
      if (item["key"] == key) return item;
    }
    return json();
  }

  FakeClock clock_{At("2026-03-08T12:00:00Z")};
  std::unique_ptr<coord::Store> store_;
  std::string path_;
  std::unique_ptr<history::HistoryStore> history_;
  Access role_ = Access::kAdmin;
  Router router_;
};

TEST_F(HistoryRoutesTest, ListsNewestFirstWithoutOutput) {
  const json page = Get("/api/v1/executions");
  EXPECT_EQ(page["total"], 7);
  EXPECT_EQ(page["totalPages"], 1);
  EXPECT_EQ(page["page"], 1);
  EXPECT_EQ(page["pageSize"], 20);
  ASSERT_EQ(page["items"].size(), 7u);
  EXPECT_EQ(Ids({}), (std::vector<std::string>{"e3", "e2", "e1", "e6", "e4", "e5", "old"}));
  const json& e2 = page["items"][1];
  EXPECT_FALSE(e2.contains("output"));
  EXPECT_EQ(e2["jobId"], "a");
  EXPECT_EQ(e2["name"], "alpha");
  EXPECT_EQ(e2["status"], -1);
  EXPECT_EQ(e2["trigger"], "retry");
  EXPECT_EQ(e2["attempt"], 2);
  EXPECT_EQ(e2["durationMs"], 300);
  EXPECT_EQ(e2["worker"], "w1");
  EXPECT_EQ(e2["leaderNode"], "node-a");
}

TEST_F(HistoryRoutesTest, FiltersAndPages) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Ids({{"id", "e4"}}), V{"e4"});
  EXPECT_EQ(Ids({{"jobId", "a"}}), (V{"e2", "e1", "e5", "old"}));
  EXPECT_EQ(Ids({{"name", "beta"}}), (V{"e3", "e4"}));
  EXPECT_EQ(Ids({{"group", "g2"}}), (V{"e3", "e6", "e4"}));
  EXPECT_EQ(Ids({{"worker", "w2"}}), (V{"e3", "e4"}));
  EXPECT_EQ(Ids({{"status", "-1"}}), V{"e2"});
  EXPECT_EQ(Ids({{"status", "error"}}), V{"e2"});
  EXPECT_EQ(Ids({{"status", "1"}}), (V{"e3", "e6"}));
  EXPECT_EQ(Ids({{"status", "running"}}), (V{"e3", "e6"}));
  EXPECT_EQ(Ids({{"status", "unknown"}}), V{"e5"});
  EXPECT_EQ(Ids({{"status", "2"}, {"jobId", "a"}}), (V{"e1", "old"}));
  EXPECT_EQ(Ids({{"trigger", "retry"}}), V{"e2"});
  EXPECT_EQ(Ids({{"trigger", "api"}}), V{"e4"});
  EXPECT_EQ(Ids({{"from", "2026-03-08T00:00:00Z"}}), (V{"e3", "e2", "e1", "e6"}));
  EXPECT_EQ(Ids({{"to", "2026-03-08T00:00:00Z"}}), (V{"e4", "e5", "old"}));
  EXPECT_EQ(Ids({{"from", "2026-03-08T10:00:00+00:00"}, {"to", "2026-03-08T11:00:00Z"}}), V{"e1"});

  const json page = Get("/api/v1/executions", {{"pageSize", "3"}, {"page", "3"}});
  EXPECT_EQ(page["total"], 7);
  EXPECT_EQ(page["totalPages"], 3);
  EXPECT_EQ(page["page"], 3);
  EXPECT_EQ(page["pageSize"], 3);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["id"], "old");
  EXPECT_TRUE(Get("/api/v1/executions", {{"page", "9"}})["items"].empty());
}

TEST_F(HistoryRoutesTest, BadFiltersNameTheField) {
  ExpectBadRequests("/api/v1/executions",
                    {{{{"status", "7"}}, "status"},
                     {{{"status", "done"}}, "status"},
                     {{{"trigger", "bogus"}}, "trigger"},
                     {{{"from", "yesterday"}}, "from"},
                     {{{"to", "2026-13-01"}}, "to"},
                     {{{"from", "2026-03-09T00:00:00Z"}, {"to", "2026-03-08T00:00:00Z"}}, "to"},
                     {{{"page", "0"}}, "page"},
                     {{{"pageSize", "0"}}, "pageSize"},
                     {{{"pageSize", "1001"}}, "pageSize"},
                     {{{"pageSize", "x"}}, "pageSize"}});
}

TEST_F(HistoryRoutesTest, GetReturnsTheOutput) {
  const json e1 = Get("/api/v1/executions/e1");
  EXPECT_EQ(e1["id"], "e1");
  EXPECT_EQ(e1["output"], "hello e1");
  EXPECT_EQ(e1["status"], 2);
  EXPECT_EQ(e1["result"], "done");
  EXPECT_EQ(e1["scheduledTime"], "2026-03-08T09:59:59.990Z");
  EXPECT_EQ(e1["startedAt"], "2026-03-08T10:00:00.000Z");
  EXPECT_EQ(e1["worker"], "w1");
  const Response missing = Call("GET", "/api/v1/executions/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "not_found");
}

TEST_F(HistoryRoutesTest, KillWritesTheKeyTheWorkerWatches) {
  PutRecord("g1", "w1", "k1", RunStatus::kRunning);
  const Response r = Call("POST", "/api/v1/executions/k1/kill");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json::parse(r.body), json({{"id", "k1"}, {"group", "g1"}, {"worker", "w1"}}));
  const auto value = Value(keys::Kill("g1", "w1", "k1"));
  ASSERT_TRUE(value.has_value());
  const json j = json::parse(*value);
  EXPECT_EQ(j["reason"], "killed through the API by alice");
  EXPECT_EQ(j["by"], "alice");
  EXPECT_EQ(j["at"], "2026-03-08T12:00:00.000Z");
  EXPECT_EQ(WorkerReason(*value), "killed: killed through the API by alice");
  // The record itself is the worker's to rewrite.
  EXPECT_EQ(model::ExecutionRecord::FromJson(*Value(keys::Execute("g1", "w1", "k1")))->status,
            RunStatus::kRunning);

  // With the caller's reason.
  PutRecord("g2", "w2", "k2", RunStatus::kRunning);
  ASSERT_EQ(Call("POST", "/api/v1/executions/k2/kill", R"({"reason":"stuck on I/O"})").status, 202);
  EXPECT_EQ(WorkerReason(Value(keys::Kill("g2", "w2", "k2")).value()), "killed: stuck on I/O");
}

TEST_F(HistoryRoutesTest, KillRefusesWhatIsNotRunning) {
  // Finished, not collected yet.
  PutRecord("g1", "w1", "k1", RunStatus::kSuccess);
  Response r = Call("POST", "/api/v1/executions/k1/kill");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("not running"), std::string::npos) << r.body;
  EXPECT_FALSE(Value(keys::Kill("g1", "w1", "k1")).has_value());
  // Collected: only the history knows it.
  r = Call("POST", "/api/v1/executions/e1/kill");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("not running"), std::string::npos) << r.body;
  // Nowhere.
  r = Call("POST", "/api/v1/executions/nope/kill");
  EXPECT_EQ(r.status, 404) << r.body;

  PutRecord("g1", "w1", "k3", RunStatus::kRunning);
  r = Call("POST", "/api/v1/executions/k3/kill", "{");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Call("POST", "/api/v1/executions/k3/kill", R"({"reason":5})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["field"], "reason");
  EXPECT_FALSE(Value(keys::Kill("g1", "w1", "k3")).has_value());
}

TEST_F(HistoryRoutesTest, KillNeedsAnOperatorAndReadsAViewer) {
  PutRecord("g1", "w1", "k1", RunStatus::kRunning);
  role_ = Access::kViewer;
  EXPECT_EQ(Call("POST", "/api/v1/executions/k1/kill").status, 403);
  EXPECT_FALSE(Value(keys::Kill("g1", "w1", "k1")).has_value());
  EXPECT_EQ(Call("GET", "/api/v1/executions").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/stats").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/stats/overview").status, 200);
  role_ = Access::kOperator;
  EXPECT_EQ(Call("POST", "/api/v1/executions/k1/kill").status, 202);
}

TEST_F(HistoryRoutesTest, StatsByJobOverTheLastSevenDays) {
  const json stats = Get("/api/v1/stats");
  EXPECT_EQ(stats["by"], "job");
  EXPECT_EQ(stats["to"], "2026-03-08T12:00:00.000Z");
  EXPECT_EQ(stats["from"], "2026-03-01T12:00:00.000Z");
  EXPECT_EQ(stats["zone"], "UTC");
  ASSERT_EQ(stats["items"].size(), 3u) << stats;
  // "old" is outside the default range.
  EXPECT_EQ(stats["items"][0], json::parse(R"({
      "key": "a", "jobName": "alpha", "group": "g1",
      "total": 3, "running": 0, "success": 1, "error": 1, "unknown": 1,
      "successRate": 0.3333333333333333,
      "durationP50Ms": 100, "durationP95Ms": 300, "durationMaxMs": 300,
      "lagP50Ms": 10, "lagP95Ms": 30})"));
  const json& b = stats["items"][1];
  EXPECT_EQ(b["key"], "b");
  EXPECT_EQ(b["total"], 2);
  EXPECT_EQ(b["running"], 1);
  EXPECT_EQ(b["successRate"], 1.0);
  EXPECT_EQ(b["durationMaxMs"], 50);
  EXPECT_TRUE(b["lagP50Ms"].is_null());
  // Nothing finished: no rate, no percentiles; null, not absent.
  const json& c = stats["items"][2];
  EXPECT_EQ(c["key"], "c");
  for (const char* field :
       {"successRate", "durationP50Ms", "durationP95Ms", "durationMaxMs", "lagP50Ms", "lagP95Ms"}) {
    ASSERT_TRUE(c.contains(field)) << field;
    EXPECT_TRUE(c[field].is_null()) << field;
  }

  EXPECT_EQ(Find(Get("/api/v1/stats", {{"from", "2026-02-01T00:00:00Z"}})["items"], "a")["total"],
            4);
  json one = Get("/api/v1/stats", {{"jobId", "b"}});
  ASSERT_EQ(one["items"].size(), 1u);
  EXPECT_EQ(one["items"][0]["key"], "b");
  one = Get("/api/v1/stats", {{"group", "g1"}});
  ASSERT_EQ(one["items"].size(), 1u);
  EXPECT_EQ(one["items"][0]["key"], "a");
}

TEST_F(HistoryRoutesTest, StatsByGroupAndByDayInAZone) {
  const json groups = Get("/api/v1/stats", {{"by", "group"}});
  EXPECT_EQ(Find(groups["items"], "g1")["total"], 3);
  EXPECT_EQ(Find(groups["items"], "g2")["total"], 3);
  EXPECT_EQ(Find(groups["items"], "g2")["running"], 2);

  json days = Get("/api/v1/stats", {{"by", "day"}});
  EXPECT_EQ(Find(days["items"], "2026-03-07")["total"], 2);
  EXPECT_EQ(Find(days["items"], "2026-03-08")["total"], 4);
  // In Shanghai (UTC+8) e4 (20:00 UTC on the 7th) falls on the 8th.
  days = Get("/api/v1/stats", {{"by", "day"}, {"zone", "Asia/Shanghai"}});
  EXPECT_EQ(days["zone"], "Asia/Shanghai");
  EXPECT_EQ(Find(days["items"], "2026-03-07")["total"], 1);
  EXPECT_EQ(Find(days["items"], "2026-03-08")["total"], 5);
  // A bare date is midnight in the zone: 16:00 UTC on the 7th.
  const json since =
      Get("/api/v1/stats", {{"by", "group"}, {"zone", "Asia/Shanghai"}, {"from", "2026-03-08"}});
  EXPECT_EQ(since["from"], "2026-03-07T16:00:00.000Z");
  EXPECT_EQ(Find(since["items"], "g1")["total"], 2);
  EXPECT_EQ(Find(since["items"], "g2")["total"], 3);
}

TEST_F(HistoryRoutesTest, BadStatsQueriesNameTheField) {
  ExpectBadRequests("/api/v1/stats", {{{{"by", "week"}}, "by"},
                                      {{{"zone", "Nowhere/Land"}}, "zone"},
                                      {{{"from", "soon"}}, "from"},
                                      {{{"to", "later"}}, "to"},
                                      {{{"from", "2026-03-09"}, {"to", "2026-03-08"}}, "to"},
                                      {{{"from", "2026-03-08"}, {"to", "2026-03-08"}}, "to"},
                                      {{{"from", "2025-01-01"}, {"to", "2026-03-08"}}, "from"}});
}

TEST_F(HistoryRoutesTest, OverviewOfTheLastDay) {
  EXPECT_EQ(Get("/api/v1/stats/overview"), json::parse(R"({
      "at": "2026-03-08T12:00:00.000Z",
      "runs24h": 5, "success24h": 2, "failures24h": 1, "runningNow": 2,
      "successRate24h": 0.6666666666666666})"));
}

TEST(HistoryRoutesWithoutHistoryTest, ReadsAre503AndKillStillWorks) {
  auto store = coord::EmbeddedStore::Open({}).value();
  FakeClock clock(At("2026-03-08T12:00:00Z"));
  ApiDeps deps;
  deps.store = store.get();
  deps.clock = &clock;
  Router router;
  AddRoutes(router, deps);
  for (const char* path :
       {"/api/v1/executions", "/api/v1/executions/e1", "/api/v1/stats", "/api/v1/stats/overview"}) {
    Request r;
    r.method = "GET";
    r.path = path;
    const Response response = router.Dispatch(r);
    EXPECT_EQ(response.status, 503) << path;
    EXPECT_EQ(json::parse(response.body)["error"]["code"], "unavailable") << path;
  }
  model::ExecutionRecord record;
  record.run.id = "k1";
  record.run.group = "g1";
  record.run.ip = "w1";
  coord::PutRequest put;
  put.key = keys::Execute("g1", "w1", "k1");
  put.value = record.ToJson();
  ASSERT_TRUE(store->Put(put).ok());
  Request kill;
  kill.method = "POST";
  kill.path = "/api/v1/executions/k1/kill";
  EXPECT_EQ(router.Dispatch(kill).status, 202);
  kill.path = "/api/v1/executions/k2/kill";
  EXPECT_EQ(router.Dispatch(kill).status, 404);
}

}  // namespace
}  // namespace forest::api
