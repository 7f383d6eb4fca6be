// REST v1 of alarms through the router: channels (secrets write-only, roles,
// test-send to a local receiver), rules, the alarm history, the audit log.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "alarm/event.h"
#include "api/api.h"
#include "coord/embedded/embedded_store.h"
#include "history/alarm_log.h"
#include "history/audit.h"
#include "model/keys.h"

namespace forest::api {
namespace {

using nlohmann::json;
using Query = std::multimap<std::string, std::string>;

class AlarmRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = coord::EmbeddedStore::Open({}).value();
    path_ = ::testing::TempDir() + "forest_api_alarm_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
    const history::DbUrl url = history::ParseDbUrl("sqlite://" + path_).value();
    log_ = history::OpenAlarmLog(url, clock_).value();
    audit_ = history::OpenAuditLog(url, clock_).value();
    model::Group g;
    g.name = "trade";
    ASSERT_TRUE(store_->Put({model::keys::Group("trade"), g.ToJson(), 0, false}).ok());

    ApiDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.node_id = "node-a";
    deps.alarm_log = log_.get();
    deps.alarm_sender = &sender_;
    deps.ui_url = "http://forest.example";
    deps.audit = audit_.get();
    AddRoutes(router_, deps);
    // A caller named alice with the role the test sets.
    router_.SetAuthorizer([this](Request& request, Access access) {
      if (access > role_) return absl::PermissionDeniedError("not allowed");
      request.caller = Caller{"alice", role_, false};
      return absl::OkStatus();
    });

    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      received_.push_back(req.body);
      res.status = fail_ ? 500 : 200;
      res.set_content(fail_ ? "down, key=T0K3N" : "{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                Query query = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = std::move(query);
    r.remote_address = "10.0.0.9";
    return router_.Dispatch(r);
  }
  json Ok(const std::string& method, const std::string& path, const std::string& body = "",
          int status = 200, Query query = {}) {
    const Response r = Call(method, path, body, std::move(query));
    EXPECT_EQ(r.status, status) << method << " " << path << " -> " << r.body;
    return r.body.empty() ? json() : json::parse(r.body);
  }
  std::string HookUrl(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  FakeClock clock_{ParseIso8601("2026-03-01T08:00:00Z", TimeZone::Utc()).value()};
  std::unique_ptr<coord::EmbeddedStore> store_;
  std::string path_;
  std::unique_ptr<history::AlarmLog> log_;
  std::unique_ptr<history::AuditLog> audit_;
  alarm::CurlSender sender_{alarm::CurlSenderOptions{&clock_, "forest-test"}};
  Router router_;
  Access role_ = Access::kAdmin;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> received_;
  bool fail_ = false;
};

TEST_F(AlarmRoutesTest, ChannelsAnswerWithTheirIdAndNeverTheirSecrets) {
  const json created = Ok("POST", "/api/v1/alarm-channels",
                          json{{"name", "ops"},
                               {"type", "webhook"},
                               {"url", HookUrl("/hook/S3CR3TPATH")},
                               {"secret", "SIGNS3CR3T"},
                               {"headers", {{"Authorization", "Bearer HDRS3CR3T"}}}}
                              .dump(),
                          201);
  const std::string id = created["id"];
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(created["secretSet"], true);
  EXPECT_EQ(created["urlSet"], true);
  EXPECT_EQ(created["urlHost"], "127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(created["headerNames"], json::array({"Authorization"}));

  std::string answers = created.dump() + Ok("GET", "/api/v1/alarm-channels").dump() +
                        Ok("GET", "/api/v1/alarm-channels/" + id).dump();
  const json edited =
      Ok("PUT", "/api/v1/alarm-channels/" + id, json{{"name", "ops-2"}, {"version", 1}}.dump());
  answers += edited.dump();
  EXPECT_EQ(edited["name"], "ops-2");
  EXPECT_EQ(edited["version"], 2);
  for (const char* secret : {"S3CR3TPATH", "SIGNS3CR3T", "HDRS3CR3T"}) {
    EXPECT_EQ(answers.find(secret), std::string::npos) << secret;
  }
  // The secrets were kept by the edit: the test message is signed and arrives.
  const json test = Ok("POST", "/api/v1/alarm-channels/" + id + "/test");
  EXPECT_EQ(test["sent"], true);
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(received_.size(), 1u);
    EXPECT_EQ(json::parse(received_[0])["kind"], "test");
  }
  // A stale version is refused.
  EXPECT_EQ(Call("PUT", "/api/v1/alarm-channels/" + id, json{{"name", "x"}, {"version", 1}}.dump())
                .status,
            409);
  // A failing test says why, without the secret.
  fail_ = true;
  const json failed = Ok("POST", "/api/v1/alarm-channels/" + id + "/test");
  EXPECT_EQ(failed["sent"], false);
  EXPECT_NE(failed["error"].get<std::string>().find("HTTP 500"), std::string::npos);

  // Shapes scripts rely on: type and url, the id in the answer.
  const json slack =
      Ok("POST", "/api/v1/alarm-channels",
         R"({"name": "s", "type": "slack", "url": "https://hooks.slack.com/services/T/B/X"})", 201);
  EXPECT_EQ(slack["type"], "slack");
  EXPECT_EQ(Call("POST", "/api/v1/alarm-channels", R"({"name": "s", "type": "pager"})").status,
            400);
  EXPECT_EQ(
      json::parse(Call("POST", "/api/v1/alarm-channels", R"({"name": "s", "type": "webhook"})")
                      .body)["error"]["field"],
      "url");
  Ok("DELETE", "/api/v1/alarm-channels/" + slack["id"].get<std::string>(), "", 204);
  EXPECT_EQ(Call("GET", "/api/v1/alarm-channels/" + slack["id"].get<std::string>()).status, 404);
}

TEST_F(AlarmRoutesTest, ViewersReadOperatorsEditRulesAdminsEditChannels) {
  const json created = Ok("POST", "/api/v1/alarm-channels",
                          R"({"id": "ops", "name": "ops", "type": "wecom",
                              "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"})",
                          201);
  role_ = Access::kOperator;
  EXPECT_EQ(
      Call("POST", "/api/v1/alarm-channels", R"({"name":"x","type":"slack","url":"https://x/y"})")
          .status,
      403);
  EXPECT_EQ(Call("PUT", "/api/v1/alarm-channels/ops", R"({"name":"x"})").status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/alarm-channels/ops/test").status, 403);
  EXPECT_EQ(Call("DELETE", "/api/v1/alarm-channels/ops").status, 403);
  Ok("PUT", "/api/v1/alarm-rules/global", R"({"onFailure": true, "channels": ["ops"]})");
  Ok("PUT", "/api/v1/alarm-rules/groups/trade", R"({"onTimeout": true, "groupWindowSeconds": 60})");
  role_ = Access::kViewer;
  EXPECT_EQ(Call("PUT", "/api/v1/alarm-rules/global", "{}").status, 403);
  EXPECT_EQ(Ok("GET", "/api/v1/alarm-channels/ops")["urlHost"], "qyapi.weixin.qq.com");
  const json rules = Ok("GET", "/api/v1/alarm-rules");
  EXPECT_EQ(rules["global"], json::parse(R"({"onFailure": true, "channels": ["ops"]})"));
  EXPECT_EQ(rules["groups"]["trade"],
            json::parse(R"({"onTimeout": true, "groupWindowSeconds": 60})"));
  EXPECT_EQ(Ok("GET", "/api/v1/alarm-rules/global")["onFailure"], true);
  EXPECT_EQ(Ok("GET", "/api/v1/alarm-rules/groups/trade")["onTimeout"], true);
  (void)created;
}

TEST_F(AlarmRoutesTest, RulesAreValidatedWithTheFieldNamed) {
  EXPECT_EQ(json::parse(Call("PUT", "/api/v1/alarm-rules/global", R"({"channels": ["ghost"]})")
                            .body)["error"]["field"],
            "channels");
  EXPECT_EQ(json::parse(Call("PUT", "/api/v1/alarm-rules/global", R"({"onFailure": "yes"})")
                            .body)["error"]["field"],
            "onFailure");
  EXPECT_EQ(json::parse(Call("PUT", "/api/v1/alarm-rules/global", R"({"groupWindowSeconds": -1})")
                            .body)["error"]["field"],
            "groupWindowSeconds");
  EXPECT_EQ(Call("PUT", "/api/v1/alarm-rules/groups/nogroup", "{}").status, 404);
  EXPECT_EQ(Call("PUT", "/api/v1/alarm-rules/other", "{}").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/alarm-rules/global").status, 404);
  Ok("PUT", "/api/v1/alarm-rules/global", R"({"onMisfire": true})");
  Ok("DELETE", "/api/v1/alarm-rules/global", "", 204);
  EXPECT_EQ(Call("DELETE", "/api/v1/alarm-rules/global").status, 404);
  EXPECT_EQ(Ok("GET", "/api/v1/alarm-rules")["global"], json(nullptr));
}

TEST_F(AlarmRoutesTest, TheHistoryListsAlarmsWithTheirDeliveries) {
  const Time t0 = clock_.Now();
  for (int i = 0; i < 3; ++i) {
    history::AlarmEntry a;
    a.id = "a" + std::to_string(i);
    a.kind = i == 2 ? "timed_out" : "failed";
    a.job_id = "j1";
    a.group = "trade";
    a.title = "Job j1 failed";
    a.detail = R"({"kind":"failed","result":"boom"})";
    a.first_at = a.last_at = a.created_at = t0 + std::chrono::minutes(i);
    history::AlarmDelivery d;
    d.channel_id = "ops";
    d.channel_type = "webhook";
    d.next_attempt_at = t0;
    a.deliveries.push_back(d);
    ASSERT_TRUE(log_->Record(a).ok());
  }
  const json page = Ok("GET", "/api/v1/alarms", "", 200, {{"pageSize", "2"}});
  EXPECT_EQ(page["total"], 3);
  EXPECT_EQ(page["totalPages"], 2);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["id"], "a2");
  EXPECT_EQ(page["items"][0]["facts"]["result"], "boom");
  EXPECT_EQ(page["items"][0]["deliveries"][0]["state"], "pending");
  EXPECT_EQ(page["items"][0]["deliveries"][0]["channelId"], "ops");
  EXPECT_EQ(Ok("GET", "/api/v1/alarms", "", 200, {{"kind", "timed_out"}})["total"], 1);
  EXPECT_EQ(Ok("GET", "/api/v1/alarms", "", 200, {{"state", "sent"}})["total"], 0);
  EXPECT_EQ(Ok("GET", "/api/v1/alarms", "", 200, {{"channelId", "ops"}})["total"], 3);
  EXPECT_EQ(Ok("GET", "/api/v1/alarms/a1")["kind"], "failed");
  EXPECT_EQ(Call("GET", "/api/v1/alarms/none").status, 404);
  EXPECT_EQ(
      json::parse(Call("GET", "/api/v1/alarms", "", {{"kind", "bogus"}}).body)["error"]["field"],
      "kind");
  EXPECT_EQ(
      json::parse(Call("GET", "/api/v1/alarms", "", {{"state", "done"}}).body)["error"]["field"],
      "state");
}

TEST_F(AlarmRoutesTest, ChangesAreAuditedWithoutTheirSecrets) {
  InstallAuth(router_, [&] {
    ApiDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.audit = audit_.get();
    return deps;
  }());
  // InstallAuth replaced the authorizer: auth off lets everyone in as admin.
  Ok("POST", "/api/v1/alarm-channels",
     json{{"id", "ops"},
          {"name", "ops"},
          {"type", "slack"},
          {"url", "https://hooks.slack.com/services/T/B/SL4CKS3CR3T"}}
         .dump(),
     201);
  Ok("PUT", "/api/v1/alarm-rules/global", R"({"onFailure": true, "channels": ["ops"]})");
  const history::AuditPage page = audit_->List({}).value();
  ASSERT_EQ(page.rows.size(), 2u);
  EXPECT_EQ(page.rows[1].action, "alarm-channel.create");
  EXPECT_EQ(page.rows[1].object_id, "ops");
  EXPECT_EQ(page.rows[0].action, "alarm-rule.update");
  EXPECT_EQ(page.rows[0].object_id, "global");
  for (const history::AuditEntry& e : page.rows) {
    EXPECT_EQ(e.detail.find("SL4CKS3CR3T"), std::string::npos) << e.detail;
  }
}

}  // namespace
}  // namespace forest::api
