// REST v1 of the cluster (nodes, workers, plans, assignments, cron preview)
// through the router, on the embedded store with a fake clock and keys
// written as the scheduler nodes and workers write them.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/api.h"
#include "coord/election.h"
#include "coord/embedded/embedded_store.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::api {
namespace {

using nlohmann::json;
namespace keys = model::keys;

Time At(const char* text) { return ParseIso8601(text, TimeZone::Utc()).value(); }

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = coord::EmbeddedStore::Open({}).value();
    ApiDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.node_id = "n1";
    deps.http_address = ":2856";
    deps.version = "1.2.3";
    deps.started_at = At("2026-03-01T07:00:00Z");
    AddRoutes(router_, deps);
    ASSERT_EQ(Call("POST", "/api/v1/groups", R"({"name":"g1"})").status, 201);
    ASSERT_EQ(Call("POST", "/api/v1/groups", R"({"name":"g2"})").status, 201);
  }

  Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                std::multimap<std::string, std::string> query = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = std::move(query);
    return router_.Dispatch(r);
  }
  json Get(const std::string& path, std::multimap<std::string, std::string> query = {}) {
    const Response r = Call("GET", path, "", std::move(query));
    EXPECT_EQ(r.status, 200) << path << " -> " << r.body;
    return json::parse(r.body);
  }
  void Put(const std::string& key, const std::string& value) {
    coord::PutRequest put;
    put.key = key;
    put.value = value;
    ASSERT_TRUE(store_->Put(put).ok()) << key;
  }
  bool Exists(const std::string& key) {
    return !store_->Range(coord::RangeRequest::Single(key)).value().kvs.empty();
  }
  std::string CreateJob(const std::string& fields) {
    const Response r = Call("POST", "/api/v1/jobs", "{" + fields + R"(,"target":"echo"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"];
  }
  void PutAssignment(const std::string& group, const std::string& worker, const std::string& id,
                     const std::string& job_id) {
    model::Assignment a;
    a.id = id;
    a.job_id = job_id;
    a.name = "name of " + job_id;
    a.ip = worker;
    a.group = group;
    a.create_time = "2026-03-01 08:00:00";
    a.scheduled_time = At("2026-03-01T08:00:00Z");
    a.trigger = model::Trigger::kRetry;
    a.attempt = 2;
    Put(keys::Snapshot(group, worker, id), a.ToJson());
  }
  void PutRecord(const std::string& group, const std::string& worker, const std::string& id,
                 model::RunStatus status) {
    model::ExecutionRecord r;
    r.run.id = id;
    r.run.group = group;
    r.run.ip = worker;
    r.status = status;
    Put(keys::Execute(group, worker, id), r.ToJson());
  }
  // Each case: the query and the field its 400 names.
  void ExpectBadRequests(
      const std::string& method, const std::string& path,
      const std::vector<std::pair<std::multimap<std::string, std::string>, std::string>>& cases) {
    for (const auto& [query, field] : cases) {
      const Response r = Call(method, path, "", query);
      EXPECT_EQ(r.status, 400) << path << " " << field << " -> " << r.body;
      const json body = json::parse(r.body);
      EXPECT_EQ(body["error"]["field"], field) << r.body;
      EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    }
  }

  FakeClock clock_{At("2026-03-01T08:00:00Z")};
  std::unique_ptr<coord::Store> store_;
  Router router_;
};

TEST_F(ClusterTest, NodesNameTheLeaderAndDescribeThisNode) {
  Put(keys::Node("n1"), "n1");
  Put(keys::Node("n2"), "n2");
  json nodes = Get("/api/v1/nodes");
  EXPECT_TRUE(nodes["leader"].is_null());
  ASSERT_EQ(nodes["items"].size(), 2u);
  EXPECT_EQ(nodes["items"][0]["role"], "follower");
  EXPECT_EQ(nodes["items"][1]["role"], "follower");

  Put(std::string(coord::kLeaderKey), "n2");
  nodes = Get("/api/v1/nodes");
  EXPECT_EQ(nodes["leader"], "n2");
  ASSERT_EQ(nodes["items"].size(), 2u);
  const json& self = nodes["items"][0];
  EXPECT_EQ(self["id"], "n1");
  EXPECT_EQ(self["role"], "follower");
  EXPECT_EQ(self["self"], true);
  EXPECT_EQ(self["httpAddress"], ":2856");
  EXPECT_EQ(self["version"], "1.2.3");
  EXPECT_EQ(self["startedAt"], "2026-03-01T07:00:00.000Z");
  const json& other = nodes["items"][1];
  EXPECT_EQ(other["id"], "n2");
  EXPECT_EQ(other["role"], "leader");
  EXPECT_EQ(other["self"], false);
  // Nothing is made up for a node that publishes no facts.
  EXPECT_FALSE(other.contains("version"));
  EXPECT_FALSE(other.contains("httpAddress"));
}

TEST_F(ClusterTest, ALeaderWithoutANodeKeyIsStillListed) {
  Put(keys::Node("n1"), "n1");
  Put(std::string(coord::kLeaderKey), "10.0.0.9");  // an original node, say
  const json nodes = Get("/api/v1/nodes");
  ASSERT_EQ(nodes["items"].size(), 2u);  // by id
  EXPECT_EQ(nodes["items"][0]["id"], "10.0.0.9");
  EXPECT_EQ(nodes["items"][0]["role"], "leader");
  EXPECT_EQ(nodes["items"][1]["id"], "n1");
  EXPECT_EQ(nodes["items"][1]["role"], "follower");
}

TEST_F(ClusterTest, WorkersJoinClientKeysWithTheirFacts) {
  // w1: one of ours (facts as worker/worker.cc writes them), one assignment
  // pending, one run going and one finished record not yet collected.
  Put(keys::Client("g1", "w1"), "w1");
  Put(keys::WorkerFacts("g1", "w1"), json{{"name", "w1"},
                                          {"version", "0.9.0"},
                                          {"capacity", 4},
                                          {"labels", {{"zone", "a"}}},
                                          {"pid", 4242},
                                          {"host", "box1"}}
                                         .dump());
  PutAssignment("g1", "w1", "20260301080000000-j1", "j1");
  PutRecord("g1", "w1", "20260301075900000-j1", model::RunStatus::kRunning);
  PutRecord("g1", "w1", "20260301075800000-j1", model::RunStatus::kSuccess);
  // w2: a worker of the original (client key only); w3: draining (facts only).
  Put(keys::Client("g1", "w2"), "w2");
  Put(keys::WorkerFacts("g1", "w3"), json{{"name", "w3"}, {"capacity", 1}}.dump());
  // w4: in a group nobody created; and a claim key, which is no worker.
  Put(keys::Client("adhoc", "w4"), "w4");
  Put(keys::Claim("g1", "20260301080000000-j1"), "w1");

  json workers = Get("/api/v1/workers", {{"group", "g1"}});
  ASSERT_EQ(workers["items"].size(), 3u) << workers;
  const json& w1 = workers["items"][0];
  EXPECT_EQ(w1["group"], "g1");
  EXPECT_EQ(w1["name"], "w1");
  EXPECT_EQ(w1["state"], "active");
  EXPECT_EQ(w1["facts"], true);
  EXPECT_EQ(w1["version"], "0.9.0");
  EXPECT_EQ(w1["capacity"], 4);
  EXPECT_EQ(w1["labels"]["zone"], "a");
  EXPECT_EQ(w1["host"], "box1");
  EXPECT_EQ(w1["pid"], 4242);
  EXPECT_EQ(w1["pending"], 1);
  EXPECT_EQ(w1["running"], 1);
  const json& w2 = workers["items"][1];
  EXPECT_EQ(w2["name"], "w2");
  EXPECT_EQ(w2["state"], "active");
  EXPECT_EQ(w2["facts"], false);
  EXPECT_FALSE(w2.contains("version"));
  EXPECT_EQ(w2["running"], 0);
  const json& w3 = workers["items"][2];
  EXPECT_EQ(w3["name"], "w3");
  EXPECT_EQ(w3["state"], "draining");
  EXPECT_EQ(w3["capacity"], 1);

  workers = Get("/api/v1/workers");
  ASSERT_EQ(workers["items"].size(), 4u) << workers;
  EXPECT_EQ(workers["items"][0]["group"], "adhoc");
  EXPECT_EQ(workers["items"][0]["name"], "w4");
  for (const json& w : workers["items"]) EXPECT_NE(w["group"], "claim");

  EXPECT_EQ(Get("/api/v1/workers", {{"group", "g2"}})["items"].size(), 0u);
  ExpectBadRequests("GET", "/api/v1/workers", {{{{"group", "a/b"}}, "group"}});
}

TEST_F(ClusterTest, PlansShowNextAndPreviousFireOfEnabledJobs) {
  const std::string a = CreateJob(R"("name":"a","group":"g1","cron":"0 * * * * ?")");
  const std::string b =
      CreateJob(R"("name":"b","group":"g1","cron":"0 0 9 * * ?","timezone":"Asia/Shanghai")");
  const std::string ended = CreateJob(
      R"("name":"ended","group":"g1","cron":"0 * * * * ?","endAt":"2026-02-01T00:00:00Z")");
  const std::string later = CreateJob(
      R"("name":"later","group":"g2","cron":"0 * * * * ?","startAt":"2026-04-01T00:00:30Z")");
  const std::string paused = CreateJob(R"("name":"p","group":"g1","cron":"0 * * * * ?")");
  ASSERT_EQ(Call("POST", "/api/v1/jobs/" + paused + "/pause").status, 200);
  // The leader has handled a's schedule up to 07:59 (scheduler Cursor JSON).
  Put(keys::Cursor(a), R"({"scheduledTime":"2026-03-01T07:59:00.000Z","confRevision":3})");

  json plans = Get("/api/v1/plans");
  EXPECT_EQ(plans["at"], "2026-03-01T08:00:00.000Z");
  ASSERT_EQ(plans["items"].size(), 4u) << plans;
  // Soonest first, the one that will not fire last.
  const json& pa = plans["items"][0];
  EXPECT_EQ(pa["id"], a);
  EXPECT_EQ(pa["name"], "a");
  EXPECT_EQ(pa["group"], "g1");
  EXPECT_EQ(pa["cron"], "0 * * * * ?");
  EXPECT_EQ(pa["timezone"], "UTC");
  EXPECT_EQ(pa["nextTime"], "2026-03-01T08:01:00.000Z");
  EXPECT_EQ(pa["previousTime"], "2026-03-01T07:59:00.000Z");
  const json& pb = plans["items"][1];
  EXPECT_EQ(pb["id"], b);
  EXPECT_EQ(pb["timezone"], "Asia/Shanghai");
  EXPECT_EQ(pb["nextTime"], "2026-03-02T01:00:00.000Z");  // 09:00 in Shanghai
  EXPECT_TRUE(pb["previousTime"].is_null());
  EXPECT_EQ(plans["items"][2]["id"], later);
  EXPECT_EQ(plans["items"][2]["nextTime"], "2026-04-01T00:01:00.000Z");
  EXPECT_EQ(plans["items"][3]["id"], ended);
  EXPECT_TRUE(plans["items"][3]["nextTime"].is_null());

  EXPECT_EQ(plans["total"], 4);

  plans = Get("/api/v1/plans", {{"group", "g2"}});
  ASSERT_EQ(plans["items"].size(), 1u);
  EXPECT_EQ(plans["items"][0]["id"], later);

  // The coming day, and the soonest only: what the dashboard asks.
  plans = Get("/api/v1/plans", {{"before", "2026-03-02T08:00:00Z"}});
  ASSERT_EQ(plans["items"].size(), 2u) << plans;
  EXPECT_EQ(plans["items"][0]["id"], a);
  EXPECT_EQ(plans["items"][1]["id"], b);
  plans = Get("/api/v1/plans", {{"before", "2026-03-02T08:00:00Z"}, {"limit", "1"}});
  ASSERT_EQ(plans["items"].size(), 1u);
  EXPECT_EQ(plans["items"][0]["id"], a);
  EXPECT_EQ(plans["total"], 2);
  ExpectBadRequests("GET", "/api/v1/plans",
                    {{{{"group", ".."}}, "group"},
                     {{{"before", "tomorrow"}}, "before"},
                     {{{"limit", "-1"}}, "limit"}});
}

TEST_F(ClusterTest, AssignmentsListByGroupAndWorkerInPages) {
  PutAssignment("g1", "w1", "20260301080000000-j1", "j1");
  PutAssignment("g1", "w1", "20260301080000000-j2", "j2");
  PutAssignment("g1", "w2", "20260301080000000-j3", "j3");
  PutAssignment("g10", "w1", "20260301080000000-j4", "j4");  // g1 is its prefix
  Put(keys::Snapshot("g2", "w9", "broken"), "not json");

  json all = Get("/api/v1/assignments");
  EXPECT_EQ(all["total"], 5);
  EXPECT_EQ(all["more"], false);
  ASSERT_EQ(all["items"].size(), 5u);
  const json& first = all["items"][0];
  EXPECT_EQ(first["group"], "g1");
  EXPECT_EQ(first["worker"], "w1");
  EXPECT_EQ(first["id"], "20260301080000000-j1");
  EXPECT_EQ(first["jobId"], "j1");
  EXPECT_EQ(first["name"], "name of j1");
  EXPECT_EQ(first["scheduledTime"], "2026-03-01T08:00:00.000Z");
  EXPECT_EQ(first["trigger"], "retry");
  EXPECT_EQ(first["attempt"], 2);
  EXPECT_EQ(first["createTime"], "2026-03-01 08:00:00");
  const json& broken = all["items"][4];
  EXPECT_EQ(broken["id"], "broken");
  EXPECT_TRUE(broken.contains("error"));

  EXPECT_EQ(Get("/api/v1/assignments", {{"group", "g1"}})["total"], 3);
  json page = Get("/api/v1/assignments", {{"group", "g1"}, {"worker", "w1"}, {"pageSize", "1"}});
  EXPECT_EQ(page["total"], 2);
  EXPECT_EQ(page["more"], true);
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["jobId"], "j1");

  ExpectBadRequests("GET", "/api/v1/assignments",
                    {{{{"worker", "w1"}}, "worker"},
                     {{{"group", "a b"}}, "group"},
                     {{{"pageSize", "0"}}, "pageSize"},
                     {{{"pageSize", "1001"}}, "pageSize"},
                     {{{"pageSize", "ten"}}, "pageSize"}});
}

TEST_F(ClusterTest, DeletingAnAssignmentWithdrawsIt) {
  PutAssignment("g1", "w1", "20260301080000000-j1", "j1");
  const std::string path = "/api/v1/assignments/g1/w1/20260301080000000-j1";
  EXPECT_EQ(Call("DELETE", path).status, 204);
  EXPECT_FALSE(Exists(keys::Snapshot("g1", "w1", "20260301080000000-j1")));
  const Response again = Call("DELETE", path);
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(json::parse(again.body)["error"]["code"], "not_found");
  // As the server library hands it over: decoded ("a%20b" on the wire).
  const Response bad = Call("DELETE", "/api/v1/assignments/a b/w1/x");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["field"], "group");
}

TEST_F(ClusterTest, CronPreviewNormalizesAndListsNextTimes) {
  json p = Get("/api/v1/cron/preview", {{"expr", "0 */15 * * * ?"}, {"count", "2"}});
  EXPECT_EQ(p["valid"], true);
  EXPECT_EQ(p["dialect"], "forest");
  EXPECT_EQ(p["zone"], "UTC");
  EXPECT_EQ(p["canFire"], true);
  EXPECT_TRUE(p["every"].is_null());
  ASSERT_EQ(p["normalized"].size(), 7u);
  EXPECT_EQ(p["normalized"][0], json({{"field", "second"}, {"value", "0"}}));
  EXPECT_EQ(p["normalized"][1], json({{"field", "minute"}, {"value", "*/15"}}));
  EXPECT_EQ(p["next"], json::parse(R"([
      {"time": "2026-03-01T08:15:00.000Z", "local": "2026-03-01T08:15:00+00:00"},
      {"time": "2026-03-01T08:30:00.000Z", "local": "2026-03-01T08:30:00+00:00"}])"));
  EXPECT_EQ(Get("/api/v1/cron/preview", {{"expr", "* * * * *"}})["next"].size(), 10u);

  p = Get("/api/v1/cron/preview",
          {{"expr", "0 0 9 * * ?"}, {"zone", "Asia/Shanghai"}, {"count", "1"}});
  EXPECT_EQ(p["zone"], "Asia/Shanghai");
  EXPECT_EQ(p["next"][0]["time"], "2026-03-02T01:00:00.000Z");
  EXPECT_EQ(p["next"][0]["local"], "2026-03-02T09:00:00+08:00");

  // Quartz counts weekdays from 1 = Sunday: 2 is Monday, 2 March 2026.
  p = Get("/api/v1/cron/preview",
          {{"expr", "0 0 12 ? * 2"}, {"dialect", "quartz"}, {"count", "1"}});
  EXPECT_EQ(p["dialect"], "quartz");
  EXPECT_EQ(p["next"][0]["time"], "2026-03-02T12:00:00.000Z");

  p = Get("/api/v1/cron/preview", {{"expr", "@every 90s"}, {"count", "1"}});
  EXPECT_EQ(p["every"], 90000);
  EXPECT_TRUE(p["normalized"].empty());
  EXPECT_EQ(p["next"][0]["time"], "2026-03-01T08:01:30.000Z");

  EXPECT_EQ(Get("/api/v1/cron/preview", {{"expr", "0 0 0 30 2 *"}})["canFire"], false);
}

TEST_F(ClusterTest, CronPreviewNamesWhatIsWrong) {
  ExpectBadRequests("GET", "/api/v1/cron/preview",
                    {{{}, "expr"},
                     {{{"expr", "0 0 25 * * ?"}}, "expr"},
                     {{{"expr", "nonsense"}}, "expr"},
                     {{{"expr", std::string(2000, '*')}}, "expr"},
                     {{{"expr", "0 * * * * ?"}, {"dialect", "cobol"}}, "dialect"},
                     {{{"expr", "0 * * * * ?"}, {"zone", "Mars/Olympus"}}, "zone"},
                     {{{"expr", "0 * * * * ?"}, {"count", "0"}}, "count"},
                     {{{"expr", "0 * * * * ?"}, {"count", "101"}}, "count"}});
  // The parser's message names the cron field.
  const Response r = Call("GET", "/api/v1/cron/preview", "", {{"expr", "0 0 25 * * ?"}});
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("hour"),
            std::string::npos)
      << r.body;
}

}  // namespace
}  // namespace forest::api
