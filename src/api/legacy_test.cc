// The original's legacy endpoints (docs/legacy-api.md) through the router,
// on the embedded store with a fake clock and a SQLite history, with bodies
// shaped as the original UI sends them (§5).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <utility>

#include "api/api.h"
#include "common/time_zone.h"
#include "coord/election.h"
#include "coord/embedded/embedded_store.h"
#include "coord/testing/forwarding_store.h"
#include "history/history.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "scheduler/run_request.h"

namespace forest::api {
namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;
namespace keys = model::keys;

// Lets a test act between a handler's read and its write (a concurrent
// writer), or make reads fail (a store that is down).
class HookStore final : public coord::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<coord::TxnResponse> Txn(const coord::TxnRequest& r) override {
    if (before_txn) std::exchange(before_txn, nullptr)(r);
    return inner_.Txn(r);
  }
  absl::StatusOr<coord::RangeResponse> Range(const coord::RangeRequest& r) override {
    if (!range_error.ok()) return range_error;
    return inner_.Range(r);
  }
  std::function<void(const coord::TxnRequest&)> before_txn;  // runs once
  absl::Status range_error;
};

std::set<std::string> Keys(const json& object) {
  std::set<std::string> out;
  for (const auto& [k, v] : object.items()) out.insert(k);
  return out;
}

const std::set<std::string> kJobConfKeys = {"id",     "name",   "group",  "cron",   "status",
                                            "target", "params", "mobile", "remark", "version"};

class LegacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inner_ = coord::EmbeddedStore::Open({}).value();
    store_ = std::make_unique<HookStore>(*inner_);
    db_path_ = ::testing::TempDir() + "legacy_test_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    std::remove(db_path_.c_str());
    history_ = history::Open(history::ParseDbUrl("sqlite://" + db_path_).value()).value();
    ApiDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.history = history_.get();
    AddRoutes(router_, deps);
  }
  void TearDown() override {
    history_.reset();
    std::remove(db_path_.c_str());
  }

  Response Call(const std::string& method, const std::string& path, const std::string& body,
                const std::string& content_type = "application/json;charset=utf-8") {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    if (!content_type.empty()) r.headers["content-type"] = content_type;
    return router_.Dispatch(r);
  }
  // A POST as the UI makes it: HTTP 200 and the envelope, always.
  ordered Post(const std::string& path, const std::string& body,
               const std::string& content_type = "application/json;charset=utf-8") {
    const Response r = Call("POST", path, body, content_type);
    EXPECT_EQ(r.status, 200) << path << " " << body << " -> " << r.body;
    EXPECT_EQ(r.content_type, "application/json; charset=UTF-8");
    const ordered answer = ordered::parse(r.body);
    std::vector<std::string> names;
    for (const auto& [k, v] : answer.items()) names.push_back(k);
    EXPECT_EQ(names, (std::vector<std::string>{"code", "data", "message"})) << r.body;
    return answer;
  }
  // Expects a failure with `message` (and data null).
  void ExpectFailure(const std::string& path, const std::string& body, const std::string& message) {
    const ordered a = Post(path, body);
    EXPECT_EQ(a["code"], -1) << path << " " << body << " -> " << a.dump();
    EXPECT_TRUE(a["data"].is_null()) << path << " " << body << " -> " << a.dump();
    EXPECT_EQ(a["message"], message) << path << " " << body;
  }

  void AddGroup(const std::string& name) {
    ASSERT_EQ(
        Post("/group/add", json{{"name", name}, {"remark", name + " cluster"}}.dump())["code"], 0);
  }
  // Adds a job as the UI's form does; answers the stored JobConf.
  ordered AddJob(const std::string& name, const std::string& cron = "0/30 * * * * ?",
                 int status = 1, const std::string& group = "trade") {
    const ordered a = Post("/job/add", json{{"name", name},
                                            {"group", group},
                                            {"cron", cron},
                                            {"status", status},
                                            {"target", "orderSyncJob"},
                                            {"params", ""},
                                            {"mobile", ""},
                                            {"remark", "sync orders"}}
                                           .dump());
    EXPECT_EQ(a["code"], 0) << a.dump();
    return a["data"];
  }
  json Stored(const std::string& key) {
    auto r = inner_->Range(coord::RangeRequest::Single(key)).value();
    return r.kvs.empty() ? json() : json::parse(r.kvs[0].value);
  }
  void Put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(inner_->Put({key, value, 0, false}).ok());
  }

  FakeClock clock_{ParseIso8601("2026-03-01T08:00:10Z", TimeZone::Utc()).value()};
  std::unique_ptr<coord::Store> inner_;
  std::unique_ptr<HookStore> store_;
  std::string db_path_;
  std::unique_ptr<history::HistoryStore> history_;
  Router router_;
};

TEST_F(LegacyTest, EveryRouteIsPostOnlyWithTheOriginalsAccess) {
  const std::map<std::string, Access> expected = {
      {"/job/add", Access::kOperator},
      {"/job/edit", Access::kOperator},
      {"/job/delete", Access::kOperator},
      {"/job/list", Access::kViewer},
      {"/job/execute", Access::kOperator},
      {"/group/add", Access::kOperator},
      {"/group/list", Access::kViewer},
      {"/node/list", Access::kViewer},
      {"/plan/list", Access::kViewer},
      {"/client/list", Access::kViewer},
      {"/snapshot/list", Access::kViewer},
      {"/snapshot/delete", Access::kOperator},
      {"/execute/snapshot/list", Access::kViewer},
  };
  std::map<std::string, Access> found;
  for (const RouteInfo& route : router_.routes()) {
    if (!expected.contains(route.pattern)) continue;
    EXPECT_EQ(route.method, "POST") << route.pattern;
    found[route.pattern] = route.access;
  }
  EXPECT_EQ(found, expected);
  for (const auto& [path, access] : expected) {
    EXPECT_EQ(Call("GET", path, "").status, 405) << path;
    EXPECT_EQ(Call("PUT", path, "{}").status, 405) << path;
  }
}

TEST_F(LegacyTest, GroupAddAnswersEveryMessageOfTheOriginal) {
  const ordered added = Post("/group/add", R"({"name":"trade","remark":"trade cluster"})");
  EXPECT_EQ(added.dump(),
            R"({"code":0,"data":{"name":"trade","remark":"trade cluster"},"message":"添加成功"})");
  ExpectFailure("/group/add", "", "请求参数不能为空");
  ExpectFailure("/group/add", "not json", "请求参数不能为空");
  ExpectFailure("/group/add", "[]", "请求参数不能为空");
  ExpectFailure("/group/add", R"({"name":7,"remark":"x"})", "请求参数不能为空");
  ExpectFailure("/group/add", R"({"remark":"x"})", "任务集群名称不能为空");
  ExpectFailure("/group/add", R"({"name":"","remark":"x"})", "任务集群名称不能为空");
  ExpectFailure("/group/add", R"({"name":"pay"})", "任务集群描述");
  ExpectFailure("/group/add", R"({"name":"pay","remark":null})", "任务集群描述");
  ExpectFailure("/group/add", R"({"name":"trade","remark":"again"})", "此任务集群已存在");
  // A name that cannot be a key: our own message.
  const ordered slash = Post("/group/add", R"({"name":"a/b","remark":"x"})");
  EXPECT_EQ(slash["code"], -1);
  EXPECT_TRUE(slash["data"].is_null());
  EXPECT_NE(slash["message"].get<std::string>().find("'/'"), std::string::npos) << slash.dump();
  // Keys match case-insensitively, as Go's decoder does.
  EXPECT_EQ(Post("/group/add", R"({"Name":"pay","REMARK":"pay cluster"})")["data"]["name"], "pay");
  // A form body binds too.
  EXPECT_EQ(Post("/group/add", "name=ops&remark=ops+team",
                 "application/x-www-form-urlencoded")["data"]["remark"],
            "ops team");
}

TEST_F(LegacyTest, GroupListIsNullWhenEmptyThenByName) {
  EXPECT_EQ(Post("/group/list", "{}").dump(), R"({"code":0,"data":null,"message":"查询成成功"})");
  AddGroup("trade");
  AddGroup("pay");
  // No body is read: an empty one is fine.
  const ordered list = Post("/group/list", "", "");
  EXPECT_EQ(list["data"].dump(),
            R"([{"name":"pay","remark":"pay cluster"},{"name":"trade","remark":"trade cluster"}])");
}

TEST_F(LegacyTest, JobAddGeneratesIdAndVersionOne) {
  AddGroup("trade");
  const ordered a = Post("/job/add", R"({"id":"mine","version":7,"name":"order-sync",
      "group":"trade","cron":"0/30 * * * * ?","status":1,"target":"orderSyncJob","params":"",
      "mobile":"","remark":"sync orders"})");
  EXPECT_EQ(a["code"], 0);
  EXPECT_EQ(a["message"], "创建成功");
  const ordered& job = a["data"];
  std::vector<std::string> names;
  for (const auto& [k, v] : job.items()) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"id", "name", "group", "cron", "status", "target",
                                             "params", "mobile", "remark", "version"}));
  const std::string id = job["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9]{20}"))) << id;
  EXPECT_EQ(job["version"], 1);
  EXPECT_EQ(job["status"], 1);
  EXPECT_EQ(job["name"], "order-sync");
  const json stored = Stored(keys::Conf(id));
  EXPECT_EQ(stored["version"], 1);
  EXPECT_EQ(stored["target"], "orderSyncJob");
  // Our own fields may come along; keys nobody knows are dropped, as the
  // original ignores them.
  const ordered ours = Post("/job/add", R"({"name":"tz","group":"trade","cron":"0 0 2 * * ?",
      "status":2,"target":"t","timezone":"Asia/Shanghai","routing":"round_robin",
      "retry":{"maxAttempts":2,"jitter":true},"_rowKey":3})");
  ASSERT_EQ(ours["code"], 0) << ours.dump();
  const std::string ours_id = ours["data"]["id"];
  const json tz = Stored(keys::Conf(ours_id));
  EXPECT_EQ(tz["timezone"], "Asia/Shanghai");
  EXPECT_EQ(tz["routing"], "round_robin");
  EXPECT_EQ(tz["status"], 2);
  EXPECT_EQ(tz["retry"]["maxAttempts"], 2);
  EXPECT_EQ(tz["retry"]["jitter"], true);
  EXPECT_FALSE(tz.contains("_rowKey")) << tz.dump();
}

// Regression: the legacy routes had a catalog of their own, so a REST list
// right after a legacy write could miss it (its view had not caught up).
TEST_F(LegacyTest, ARestListRightAfterALegacyWriteSeesIt) {
  AddGroup("trade");
  for (int i = 0; i < 30; ++i) {
    const std::string name = "w" + std::to_string(i) + "x";  // no name inside another
    AddJob(name);
    Request list;
    list.method = "GET";
    list.path = "/api/v1/jobs";
    list.query.emplace("name", name);
    const Response r = router_.Dispatch(list);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(json::parse(r.body)["total"], 1) << name << ": " << r.body;
  }
}

TEST_F(LegacyTest, JobAddAnswersEveryMessageOfTheOriginal) {
  AddGroup("trade");
  const auto body = [](const std::string& change) {
    json j = {{"name", "n"},   {"group", "trade"}, {"cron", "0 * * * * ?"}, {"status", 1},
              {"target", "t"}, {"params", ""},     {"mobile", ""},          {"remark", ""}};
    j.merge_patch(json::parse(change));
    return j.dump();
  };
  struct Case {
    std::string body, message;
  };
  const std::vector<Case> cases = {
      {"", "请求参数不能为空"},
      {"{", "请求参数不能为空"},
      {"[1]", "请求参数不能为空"},
      {body(R"({"status":"1"})"), "请求参数不能为空"},
      {body(R"({"name":1})"), "请求参数不能为空"},
      {body(R"({"status":1.5})"), "请求参数不能为空"},
      {body(R"({"name":""})"), "任务名称不能为空"},
      {body(R"({"name":null})"), "任务名称不能为空"},
      {body(R"({"name":"","group":""})"), "任务名称不能为空"},
      {body(R"({"group":""})"), "任务分组不能为空"},
      {body(R"({"cron":""})"), "任务Cron表达式不能为空"},
      {body(R"({"cron":"0 0 25 * * ?"})"), "非法的Cron表达式"},
      {body(R"({"cron":"every day"})"), "非法的Cron表达式"},
      {body(R"({"cron":"0 0 0 30 2 ?"})"), "非法的Cron表达式"},  // never fires
      {body(R"({"cron":"bad","target":""})"), "非法的Cron表达式"},
      {body(R"({"target":""})"), "任务Target不能为空"},
      {body(R"({"status":0})"), "任务状态不能为空"},
      {body(R"({"status":null})"), "任务状态不能为空"},
      {body(R"({"status":""})"), "任务状态不能为空"},
      {body(R"({"group":"nope"})"), "任务集群不存在"},
      {body(R"({"group":"a/b"})"), "任务集群不存在"},
  };
  for (const Case& c : cases) ExpectFailure("/job/add", c.body, c.message);
  // A status other than 1 and 2: ours refuses it, with a clear message.
  const ordered three = Post("/job/add", body(R"({"status":3})"));
  EXPECT_EQ(three["code"], -1);
  EXPECT_TRUE(three["data"].is_null());
  EXPECT_NE(three["message"].get<std::string>().find("status: 3"), std::string::npos);
  // Our fields' own errors: our message.
  const ordered zone = Post("/job/add", body(R"({"timezone":"Mars/Olympus"})"));
  EXPECT_EQ(zone["code"], -1);
  EXPECT_NE(zone["message"].get<std::string>().find("Mars/Olympus"), std::string::npos);
  // The create-only write finds the key taken (another creator got the
  // generated id in the same second): a new id is drawn and the add works.
  std::string stolen;
  store_->before_txn = [&](const coord::TxnRequest& t) {
    const std::string key = t.compare.at(0).key;
    ASSERT_TRUE(key.starts_with(keys::kConfPrefix));
    stolen = key.substr(keys::kConfPrefix.size());
    Put(key, R"({"id":"x"})");
  };
  const ordered retried = Post("/job/add", body("{}"));
  EXPECT_EQ(retried["code"], 0) << retried.dump();
  EXPECT_NE(retried["data"]["id"], stolen);
  // Taken every time: the original's message.
  std::function<void(const coord::TxnRequest&)> steal_always = [&](const coord::TxnRequest& t) {
    Put(t.compare.at(0).key, R"({"id":"x"})");
    store_->before_txn = steal_always;
  };
  store_->before_txn = steal_always;
  ExpectFailure("/job/add", body("{}"), "创建失败,请重试！");
  store_->before_txn = nullptr;
  // A store that fails: its error text.
  store_->range_error = absl::UnavailableError("etcdserver: request timed out");
  ExpectFailure("/job/add", body("{}"), "etcdserver: request timed out");
  ExpectFailure("/job/list", "{}", "etcdserver: request timed out");
}

TEST_F(LegacyTest, JobListIsNullWhenEmptyThenInKeyOrder) {
  EXPECT_EQ(Post("/job/list", R"({"name":""})").dump(),
            R"({"code":0,"data":null,"message":"查询成成功"})");
  AddGroup("trade");
  Put(keys::Conf("b-job"), R"({"id":"b-job","name":"b","group":"trade","cron":"0 * * * * ?",
      "status":2,"target":"t"})");
  Put(keys::Conf("a-job"), R"({"id":"a-job","name":"a","group":"trade","cron":"0 * * * * ?",
      "status":1,"target":"t","timezone":"Asia/Shanghai"})");
  Put(keys::Conf("c-job"), "not a job");
  const ordered list = Post("/job/list", R"({"name":""})");
  EXPECT_EQ(list["message"], "查询成成功");
  ASSERT_EQ(list["data"].size(), 2u) << list.dump();
  EXPECT_EQ(list["data"][0]["id"], "a-job");
  EXPECT_EQ(list["data"][1]["id"], "b-job");
  EXPECT_EQ(list["data"][1]["status"], 2);
  // A document of the original (no version) lists as version 0.
  EXPECT_EQ(list["data"][0]["version"], 0);
  for (const auto& item : list["data"]) EXPECT_EQ(Keys(json::parse(item.dump())), kJobConfKeys);
}

TEST_F(LegacyTest, JobEditReplacesTheOriginalsFieldsAndKeepsOurs) {
  AddGroup("trade");
  const std::string id = AddJob("order-sync")["id"];
  // Our fields, set through REST v1 (the old UI never sees them).
  json doc = Stored(keys::Conf(id));
  doc["timezone"] = "Asia/Shanghai";
  doc["routing"] = "round_robin";
  doc["retry"] = {{"maxAttempts", 3}, {"backoffSeconds", 5}, {"factor", 2.0}};
  doc["tags"] = {"etl"};
  doc["futureField"] = "kept";
  Put(keys::Conf(id), doc.dump());

  // The UI sends the listed row back, edited, its version included.
  ordered row = Post("/job/list", R"({"name":""})")["data"][0];
  row["remark"] = "edited";
  row["cron"] = "0 0/5 * * * ?";
  row["version"] = 99;
  row.erase("mobile");
  row["_rowKey"] = 1;
  const ordered edited = Post("/job/edit", row.dump());
  ASSERT_EQ(edited["code"], 0) << edited.dump();
  EXPECT_EQ(edited["message"], "修改成功");
  EXPECT_EQ(edited["data"]["version"], 2);
  EXPECT_EQ(edited["data"]["remark"], "edited");
  EXPECT_EQ(Keys(json::parse(edited["data"].dump())), kJobConfKeys);
  const json stored = Stored(keys::Conf(id));
  EXPECT_EQ(stored["version"], 2);
  EXPECT_EQ(stored["cron"], "0 0/5 * * * ?");
  EXPECT_EQ(stored["mobile"], "");
  EXPECT_EQ(stored["timezone"], "Asia/Shanghai");
  EXPECT_EQ(stored["routing"], "round_robin");
  EXPECT_EQ(stored["retry"]["maxAttempts"], 3);
  EXPECT_EQ(stored["tags"], json({"etl"}));
  EXPECT_EQ(stored["futureField"], "kept");
  EXPECT_FALSE(stored.contains("_rowKey"));
  EXPECT_EQ(stored["createdAt"], doc["createdAt"]);

  // The same row again: the client's version is ignored, the stored one counts.
  EXPECT_EQ(Post("/job/edit", row.dump())["data"]["version"], 3);
  // A body naming one of our fields changes it.
  row["routing"] = "least_busy";
  EXPECT_EQ(Post("/job/edit", row.dump())["data"]["version"], 4);
  EXPECT_EQ(Stored(keys::Conf(id))["routing"], "least_busy");
  EXPECT_EQ(Stored(keys::Conf(id))["timezone"], "Asia/Shanghai");
}

TEST_F(LegacyTest, JobEditOfAnOriginalsDocumentStartsAtVersionOne) {
  AddGroup("trade");
  Put(keys::Conf("20191212103045004217"),
      R"({"id":"20191212103045004217","name":"order-sync","group":"trade",
          "cron":"0/30 * * * * ?","status":1,"target":"orderSyncJob","params":"","mobile":"",
          "remark":"sync orders"})");
  const ordered edited = Post("/job/edit", R"({"id":"20191212103045004217","name":"order-sync",
      "group":"trade","cron":"0/30 * * * * ?","status":2,"target":"orderSyncJob","params":"",
      "mobile":"","remark":"stopped"})");
  ASSERT_EQ(edited["code"], 0) << edited.dump();
  EXPECT_EQ(edited["data"]["version"], 1);
  EXPECT_EQ(edited["data"]["status"], 2);
}

TEST_F(LegacyTest, JobEditAnswersEveryMessageOfTheOriginal) {
  AddGroup("trade");
  const ordered row = AddJob("order-sync");
  const std::string id = row["id"];
  const auto with = [&](const std::string& change) {
    json j = json::parse(row.dump());
    j.merge_patch(json::parse(change));
    return j.dump();
  };
  ExpectFailure("/job/edit", "", "请求参数不能为空");
  ExpectFailure("/job/edit", with(R"({"status":"x"})"), "请求参数不能为空");
  ExpectFailure("/job/edit", with(R"({"id":""})"), "此任务记录不存在");
  ExpectFailure("/job/edit", with(R"({"id":null})"), "此任务记录不存在");
  ExpectFailure("/job/edit", with(R"({"name":""})"), "任务名称不能为空");
  ExpectFailure("/job/edit", with(R"({"group":""})"), "任务分组不能为空");
  ExpectFailure("/job/edit", with(R"({"cron":""})"), "任务Cron表达式不能为空");
  ExpectFailure("/job/edit", with(R"({"cron":"61 * * * * ?"})"), "非法的Cron表达式");
  ExpectFailure("/job/edit", with(R"({"target":""})"), "任务Target不能为空");
  ExpectFailure("/job/edit", with(R"({"status":0})"), "任务状态不能为空");
  ExpectFailure("/job/edit", with(R"({"group":"nope"})"), "任务集群不存在");
  // The field checks come before the job's existence, as in the original.
  ExpectFailure("/job/edit", with(R"({"id":"nope","name":""})"), "任务名称不能为空");
  ExpectFailure("/job/edit", with(R"({"id":"nope"})"), "此任务配置记录不存在");
  ExpectFailure("/job/edit", with(R"({"id":"a/b"})"), "此任务配置记录不存在");
  // Someone changes the job between the read and the write: compare-and-set.
  store_->before_txn = [&](const coord::TxnRequest&) {
    json doc = Stored(keys::Conf(id));
    doc["remark"] = "theirs";
    Put(keys::Conf(id), doc.dump());
  };
  ExpectFailure("/job/edit", with(R"({"remark":"mine"})"), "修改失败,请重试！");
  EXPECT_EQ(Stored(keys::Conf(id))["remark"], "theirs");
  EXPECT_EQ(Stored(keys::Conf(id))["version"], 1);
}

TEST_F(LegacyTest, JobDeleteEchoesTheBoundBody) {
  AddGroup("trade");
  const std::string id = AddJob("order-sync")["id"];
  const ordered deleted = Post("/job/delete", json{{"id", id}}.dump());
  EXPECT_EQ(deleted.dump(), R"({"code":0,"data":{"id":")" + id +
                                R"(","name":"","group":"","cron":"","status":0,"target":"",)"
                                R"("params":"","mobile":"","remark":"","version":0},)"
                                R"("message":"删除成功"})");
  EXPECT_TRUE(Stored(keys::Conf(id)).is_null());
  ExpectFailure("/job/delete", json{{"id", id}}.dump(), "此任务配置记录不存在");
  ExpectFailure("/job/delete", "{}", "此任务记录不存在");
  ExpectFailure("/job/delete", "", "请求参数不能为空");
  ExpectFailure("/job/delete", R"({"id":5})", "请求参数不能为空");
}

TEST_F(LegacyTest, JobExecuteWritesARunRequestTheLeaderServesOnce) {
  AddGroup("trade");
  const std::string id = AddJob("order-sync", "0/30 * * * * ?", 2)["id"];
  ExpectFailure("/job/execute", "", "非法的参数");
  ExpectFailure("/job/execute", "{}", "此任务配置不存在");
  ExpectFailure("/job/execute", R"({"id":"nope"})", "此任务配置内容为空");
  Put(keys::Conf("broken"), "{not json");
  ExpectFailure("/job/execute", R"({"id":"broken"})", "非法的任务配置内容");
  // No live client in the job's group.
  ExpectFailure("/job/execute", json{{"id", id}}.dump(), "没有找到此要执行的任务作业节点");

  Put(keys::Client("trade", "192.168.1.1"), "192.168.1.1");
  // The UI's jobExecute sends the row; only id counts (a stopped job runs too).
  ordered row = Post("/job/list", "{}")["data"][0];
  EXPECT_EQ(Post("/job/execute", row.dump()).dump(),
            R"({"code":0,"data":null,"message":"手动执行任务请求已提交"})");
  auto requests = inner_->Range(coord::RangeRequest::Prefix(keys::kRunPrefix)).value();
  ASSERT_EQ(requests.kvs.size(), 1u);
  EXPECT_TRUE(requests.kvs[0].key.starts_with(keys::Run(id, "")));
  const auto request = scheduler::RunRequest::FromJson(requests.kvs[0].value).value();
  EXPECT_EQ(request.job_id, id);
  EXPECT_EQ(request.trigger, model::Trigger::kManual);
  EXPECT_FALSE(request.params.has_value());
  // Nothing is written under the worker's snapshot directory (the original's bug).
  EXPECT_TRUE(inner_->Range(coord::RangeRequest::Prefix(keys::kSnapshotPrefix))->kvs.empty());
  // A second request at once is a second run.
  EXPECT_EQ(Post("/job/execute", json{{"id", id}}.dump())["code"], 0);
  EXPECT_EQ(inner_->Range(coord::RangeRequest::Prefix(keys::kRunPrefix))->kvs.size(), 2u);
}

TEST_F(LegacyTest, NodeListMarksTheLeader) {
  EXPECT_EQ(Post("/node/list", "").dump(), R"({"code":0,"data":null,"message":"查询成成功"})");
  Put(keys::Node("192.168.10.36"), "192.168.10.36");
  Put(keys::Node("192.168.10.35"), "192.168.10.35");
  EXPECT_EQ(Post("/node/list", "{}")["data"].dump(),
            R"([{"name":"192.168.10.35","state":0},{"name":"192.168.10.36","state":0}])");
  Put(std::string(coord::kLeaderKey), "192.168.10.35");
  EXPECT_EQ(Post("/node/list", "{}")["data"].dump(),
            R"([{"name":"192.168.10.35","state":1},{"name":"192.168.10.36","state":0}])");
}

TEST_F(LegacyTest, PlanListHasRfc3339TimesAndEmptyMessage) {
  EXPECT_EQ(Post("/plan/list", "").dump(), R"({"code":0,"data":null,"message":""})");
  AddGroup("trade");
  const std::string every_minute = AddJob("minutely", "0 * * * * ?")["id"];
  const std::string every_30s = AddJob("half-minutely", "0/30 * * * * ?")["id"];
  AddJob("stopped", "0/30 * * * * ?", 2);
  // The leader has fired the 30 s job at 08:00:00 (its cursor says so).
  Put(keys::Cursor(every_30s), R"({"scheduledTime":"2026-03-01T08:00:00.000Z","confRevision":1})");
  // The minutely job's cursor holds the time it started from, not a fire.
  Put(keys::Cursor(every_minute),
      R"({"scheduledTime":"2026-03-01T08:00:05.123Z","confRevision":1})");

  const ordered plans = Post("/plan/list", "{}");
  EXPECT_EQ(plans["code"], 0);
  EXPECT_EQ(plans["message"], "");
  ASSERT_EQ(plans["data"].size(), 2u) << plans.dump();
  std::vector<std::string> names;
  for (const auto& [k, v] : plans["data"][0].items()) names.push_back(k);
  EXPECT_EQ(names,
            (std::vector<std::string>{"id", "name", "group", "cron", "status", "target", "params",
                                      "mobile", "remark", "nextTime", "beforeTime", "version"}));
  // By next time: 08:00:30, then 08:01:00.
  const ordered& first = plans["data"][0];
  const ordered& second = plans["data"][1];
  EXPECT_EQ(first["id"], every_30s);
  EXPECT_EQ(second["id"], every_minute);
  EXPECT_EQ(first["status"], 0);
  EXPECT_EQ(first["version"], 1);
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d))");
  for (const ordered* p : {&first, &second}) {
    EXPECT_TRUE(std::regex_match((*p)["nextTime"].get<std::string>(), rfc3339)) << p->dump();
  }
  const auto at = [](const ordered& t) {
    return ParseIso8601(t.get<std::string>(), TimeZone::Utc()).value();
  };
  EXPECT_EQ(at(first["nextTime"]), ParseIso8601("2026-03-01T08:00:30Z", TimeZone::Utc()).value());
  EXPECT_EQ(at(first["beforeTime"]), ParseIso8601("2026-03-01T08:00:00Z", TimeZone::Utc()).value());
  EXPECT_EQ(at(second["nextTime"]), ParseIso8601("2026-03-01T08:01:00Z", TimeZone::Utc()).value());
  EXPECT_EQ(second["beforeTime"], "0001-01-01T00:00:00Z");
  // The offset is the server's own.
  const std::string next = first["nextTime"];
  const auto offset =
      TimeZone::Local().OffsetAt(std::chrono::floor<std::chrono::seconds>(at(first["nextTime"])));
  EXPECT_EQ(next.ends_with("Z"), offset.count() == 0) << next;
}

TEST_F(LegacyTest, ClientListGivesNamePathAndGroupByName) {
  ExpectFailure("/client/list", "", "请选择任务集群");
  ExpectFailure("/client/list", "{}", "请选择任务集群");
  ExpectFailure("/client/list", R"({"group":""})", "请选择任务集群");
  ExpectFailure("/client/list", R"({"group":"trade"})", "此任务集群不存在");
  AddGroup("trade");
  EXPECT_EQ(Post("/client/list", R"({"group":"trade"})").dump(),
            R"({"code":0,"data":[],"message":"查询成成功"})");
  Put(keys::Client("trade", "192.168.1.2"), "192.168.1.2");
  Put(keys::Client("trade", "192.168.1.1"), "192.168.1.1");
  Put(keys::Client("trade", "gone"), "");
  EXPECT_EQ(Post("/client/list", R"({"group":"trade"})")["data"].dump(),
            R"([{"name":"192.168.1.1","path":"/forest/client/trade/clients/192.168.1.1",)"
            R"("group":"trade"},{"name":"192.168.1.2",)"
            R"("path":"/forest/client/trade/clients/192.168.1.2","group":"trade"}])");
}

TEST_F(LegacyTest, SnapshotListAndDeleteUseTheRealKeys) {
  const auto snapshot = [&](const std::string& group, const std::string& ip,
                            const std::string& id) {
    model::Assignment a;
    a.id = id;
    a.job_id = "job1";
    a.name = "order-sync";
    a.ip = ip;
    a.group = group;
    a.cron = "0/30 * * * * ?";
    a.target = "orderSyncJob";
    a.create_time = "2026-03-01 08:00:00";
    Put(keys::Snapshot(group, ip, id), a.ToJson());
  };
  EXPECT_EQ(Post("/snapshot/list", "{}").dump(), R"({"code":0,"data":[],"message":"查询成成功"})");
  snapshot("trade", "192.168.1.1", "s1");
  snapshot("trade", "192.168.1.1", "s2");
  snapshot("trade", "192.168.1.2", "s3");
  snapshot("pay", "192.168.1.9", "s4");
  Put(keys::Snapshot("pay", "192.168.1.9", "s5"), "garbage");
  const auto ids = [&](const std::string& body) {
    std::vector<std::string> out;
    const ordered answer = Post("/snapshot/list", body);
    for (const auto& s : answer["data"]) out.push_back(s["id"]);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(R"({"group":"","ip":"","id":""})"), (V{"s4", "s1", "s2", "s3"}));
  EXPECT_EQ(ids(R"({"group":"trade"})"), (V{"s1", "s2", "s3"}));
  EXPECT_EQ(ids(R"({"group":"trade","id":"s3"})"), (V{"s1", "s2", "s3"}));  // id needs ip
  EXPECT_EQ(ids(R"({"ip":"192.168.1.2"})"), (V{"s4", "s1", "s2", "s3"}));   // ip needs group
  EXPECT_EQ(ids(R"({"group":"trade","ip":"192.168.1.1"})"), (V{"s1", "s2"}));
  EXPECT_EQ(ids(R"({"group":"trade","ip":"192.168.1.1","id":"s2"})"), (V{"s2"}));
  EXPECT_EQ(ids(R"({"group":"trade","ip":"192.168.1.1","id":"s9"})"), (V{}));
  ExpectFailure("/snapshot/list", "", "非法的请求参数");
  ExpectFailure("/snapshot/list", R"({"group":1})", "非法的请求参数");

  const ordered row =
      Post("/snapshot/list", R"({"group":"trade","ip":"192.168.1.1","id":"s1"})")["data"][0];
  std::vector<std::string> names;
  for (const auto& [k, v] : row.items()) names.push_back(k);
  names.resize(11);
  EXPECT_EQ(names, (V{"id", "jobId", "name", "ip", "group", "cron", "target", "params", "mobile",
                      "remark", "createTime"}));
  // The UI sends the whole row.
  EXPECT_EQ(Post("/snapshot/delete", row.dump()).dump(),
            R"({"code":0,"data":null,"message":"删除成功"})");
  EXPECT_TRUE(Stored(keys::Snapshot("trade", "192.168.1.1", "s1")).is_null());
  EXPECT_FALSE(Stored(keys::Snapshot("trade", "192.168.1.1", "s2")).is_null());
  // Already gone: still a success.
  EXPECT_EQ(Post("/snapshot/delete", row.dump())["code"], 0);
  ExpectFailure("/snapshot/delete", "", "非法的请求参数");
  ExpectFailure("/snapshot/delete", R"({"group":"trade","id":"s2"})", "非法的请求参数");
  ExpectFailure("/snapshot/delete", R"({"group":"trade","ip":"","id":"s2"})", "非法的请求参数");
  ExpectFailure("/snapshot/delete", R"({"group":"trade","ip":"a/b","id":"s2"})", "非法的请求参数");
  EXPECT_FALSE(Stored(keys::Snapshot("trade", "192.168.1.1", "s2")).is_null());
}

history::Execution Record(const std::string& id, const std::string& job_id, int minute,
                          model::RunStatus status, const std::string& group = "trade") {
  history::Execution e;
  model::ExecutionRecord& r = e.record;
  r.run.id = id;
  r.run.job_id = job_id;
  r.run.name = "job " + job_id;
  r.run.ip = "192.168.1.1";
  r.run.group = group;
  r.run.cron = "0 * * * * ?";
  r.run.target = "orderSyncJob";
  r.run.create_time = fmt::format("2026-03-01 08:{:02}:00", minute);
  r.run.trigger = model::Trigger::kCron;
  r.start_time = r.run.create_time;
  r.finish_time = fmt::format("2026-03-01 08:{:02}:01", minute);
  r.times = 1;
  r.status = status;
  r.result = "ok";
  r.started_at =
      ParseIso8601(fmt::format("2026-03-01T08:{:02}:00Z", minute), TimeZone::Utc()).value();
  e.worker = "192.168.1.1";
  return e;
}

TEST_F(LegacyTest, ExecuteSnapshotListPagesTheHistory) {
  std::vector<history::Execution> batch;
  for (int i = 0; i < 12; ++i) {
    batch.push_back(Record(fmt::format("r{:02}", i), i % 2 ? "odd" : "even", i,
                           i == 11 ? model::RunStatus::kError : model::RunStatus::kSuccess));
  }
  batch.push_back(Record("p1", "other", 30, model::RunStatus::kRunning, "pay"));
  ASSERT_TRUE(history_->Upsert(batch).ok());

  // The UI's first request: status "" means any.
  ordered page = Post("/execute/snapshot/list",
                      R"({"pageNo":1,"pageSize":20,"id":"","group":"","ip":"","status":""})");
  EXPECT_EQ(page["code"], 0);
  EXPECT_EQ(page["message"], "查询成成功");
  EXPECT_EQ(page["data"]["totalCount"], 13);
  EXPECT_EQ(page["data"]["totalPage"], 1);
  ASSERT_EQ(page["data"]["list"].size(), 13u);
  EXPECT_EQ(page["data"]["list"][0]["id"], "p1");  // newest first
  EXPECT_EQ(page["data"]["list"][1]["id"], "r11");
  const ordered& row = page["data"]["list"][1];
  std::vector<std::string> names;
  for (const auto& [k, v] : row.items()) names.push_back(k);
  names.resize(16);
  EXPECT_EQ(names,
            (std::vector<std::string>{"id", "jobId", "name", "ip", "group", "cron", "target",
                                      "params", "mobile", "remark", "createTime", "startTime",
                                      "finishTime", "times", "status", "result"}));
  EXPECT_EQ(row["status"], -1);
  EXPECT_EQ(row["times"], 1);
  EXPECT_EQ(row["createTime"], "2026-03-01 08:11:00");
  EXPECT_EQ(row["finishTime"], "2026-03-01 08:11:01");
  EXPECT_EQ(row["params"], "");

  // Defaults: 10 a page, page 1.
  page = Post("/execute/snapshot/list", R"({"pageNo":null,"pageSize":0})");
  EXPECT_EQ(page["data"]["totalPage"], 2);
  EXPECT_EQ(page["data"]["list"].size(), 10u);
  page = Post("/execute/snapshot/list", R"({"pageNo":2})");
  EXPECT_EQ(page["data"]["list"].size(), 3u);
  page = Post("/execute/snapshot/list", R"({"pageNo":9})");
  EXPECT_EQ(page["data"]["totalCount"], 13);
  EXPECT_EQ(page["data"]["list"].dump(), "[]");
  // A page size above the cap is capped, not refused.
  EXPECT_EQ(Post("/execute/snapshot/list", R"({"pageSize":100000})")["data"]["list"].size(), 13u);

  // Filters.
  const auto count = [&](const std::string& body) {
    return Post("/execute/snapshot/list", body)["data"]["totalCount"].get<int>();
  };
  EXPECT_EQ(count(R"({"status":2})"), 11);
  EXPECT_EQ(count(R"({"status":-1})"), 1);
  EXPECT_EQ(count(R"({"status":1,"group":"pay"})"), 1);
  EXPECT_EQ(count(R"({"status":7})"), 0);
  EXPECT_EQ(count(R"({"jobId":"odd"})"), 6);
  EXPECT_EQ(count(R"({"name":"job even"})"), 6);
  EXPECT_EQ(count(R"({"id":"r03"})"), 1);
  EXPECT_EQ(count(R"({"ip":"192.168.1.1","group":"trade"})"), 12);
  EXPECT_EQ(count(R"({"ip":"10.0.0.1"})"), 0);
  EXPECT_EQ(Post("/execute/snapshot/list", R"({"status":7})")["data"].dump(),
            R"({"totalPage":0,"totalCount":0,"list":[]})");

  ExpectFailure("/execute/snapshot/list", "", "非法的请求参数");
  ExpectFailure("/execute/snapshot/list", R"({"status":"two"})", "非法的请求参数");
  ExpectFailure("/execute/snapshot/list", R"({"pageSize":"x"})", "非法的请求参数");
}

TEST(LegacyWithoutHistoryTest, ExecuteSnapshotListAnswersQueryFailed) {
  auto store = coord::EmbeddedStore::Open({}).value();
  ApiDeps deps;
  deps.store = store.get();
  Router router;
  AddRoutes(router, deps);
  Request r;
  r.method = "POST";
  r.path = "/execute/snapshot/list";
  r.body = R"({"pageNo":1,"pageSize":20})";
  const Response answer = router.Dispatch(r);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(json::parse(answer.body),
            json::parse(R"({"code":-1,"data":null,"message":"查询失败"})"));
}

}  // namespace
}  // namespace forest::api
