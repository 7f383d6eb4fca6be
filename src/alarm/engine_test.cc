// The alarm engine end to end: the embedded store (rules, channels, jobs,
// groups), a SQLite alarm log and history, a fake clock, CurlSender, and
// a webhook receiver and an SMTP server on 127.0.0.1.
#include "alarm/engine.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "alarm/signing.h"
#include "alarm/testing/receivers.h"
#include "common/time_zone.h"
#include "coord/embedded/embedded_store.h"
#include "model/keys.h"

namespace forest::alarm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Eventually;
using testing::SmtpServer;
using testing::WebhookReceiver;
namespace keys = model::keys;

const Time kStart = ParseIso8601("2026-03-01T08:00:00Z", TimeZone::Utc()).value();

std::string TempDb() {
  static int counter = 0;
  const std::string path = ::testing::TempDir() + "forest_alarm_" + std::to_string(getpid()) + "_" +
                           std::to_string(++counter) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

// Counts what the engine reports.
class CountingProbe final : public AlarmProbe {
 public:
  void Delivered(std::string_view type, std::string_view, DeliveryOutcome outcome) override {
    std::lock_guard lock(mu_);
    ++counts_[std::string(type) + "/" + std::to_string(static_cast<int>(outcome))];
  }
  int count(const std::string& type, DeliveryOutcome outcome) {
    std::lock_guard lock(mu_);
    return counts_[type + "/" + std::to_string(static_cast<int>(outcome))];
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

class AlarmEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = coord::EmbeddedStore::Open({}).value();
    config_ = std::make_unique<AlarmConfig>(*store_, clock_);
    url_ = history::ParseDbUrl("sqlite://" + TempDb()).value();
    log_ = history::OpenAlarmLog(url_, clock_).value();
    history_ = history::Open(url_, clock_).value();
    PutGroup("g1");
  }
  void TearDown() override {
    for (auto& e : engines_) e->Stop();
    engines_.clear();
  }

  EngineOptions Options(std::string node = "node-a") {
    EngineOptions o;
    o.node_id = std::move(node);
    o.ui_url = "http://forest.example:2856/";
    o.clock = &clock_;
    o.probe = &probe_;
    o.default_window = seconds(0);
    o.retry_min = milliseconds(1000);
    o.retry_max = milliseconds(4000);
    o.max_attempts = 4;
    o.check_interval = milliseconds(1000);
    o.group_empty_after = milliseconds(2000);
    o.stale_sending = milliseconds(5000);
    o.config_ttl = milliseconds(0);
    return o;
  }
  AlarmEngine& Start(EngineOptions options, coord::Revision token = 7) {
    engines_.push_back(
        AlarmEngine::Start(*store_, *log_, sender_, history_.get(), std::move(options)).value());
    AlarmEngine& e = *engines_.back();
    e.Lead(token);
    EXPECT_TRUE(Eventually([&] { return e.stats().leading; })) << "the engine never got ready";
    return e;
  }

  void PutGroup(const std::string& name) {
    model::Group g;
    g.name = name;
    ASSERT_TRUE(store_->Put({keys::Group(name), g.ToJson(), 0, false}).ok());
  }
  void PutJob(const std::string& id, const std::string& alarm_json, const std::string& mobile = "",
              int max_attempts = 1) {
    model::Job job;
    job.id = id;
    job.name = "name-" + id;
    job.group = "g1";
    job.cron = "0 * * * * ?";
    job.target = "echo";
    job.mobile = mobile;
    job.retry.max_attempts = max_attempts;
    if (!alarm_json.empty())
      job.alarm = model::AlarmRule::FromJsonText(alarm_json, "alarm").value();
    ASSERT_TRUE(job.Validate().ok()) << job.Validate();
    ASSERT_TRUE(store_->Put({keys::Conf(id), job.ToJson(), 0, false}).ok());
  }
  std::string AddChannel(const json& body) {
    auto c = config_->CreateChannel(Channel::FromRequest(body).value(), "test");
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->id : "";
  }
  std::string Hook(const std::string& path, const std::string& secret = "",
                   const std::string& id = "hook") {
    json body{{"id", id}, {"name", id}, {"type", "webhook"}, {"url", receiver_.Url(path)}};
    if (!secret.empty()) body["secret"] = secret;
    return AddChannel(body);
  }
  void GlobalRule(const std::string& text) {
    ASSERT_TRUE(config_->PutGlobalRule(model::AlarmRule::FromJsonText(text, "").value()).ok());
  }

  static history::Execution Row(const std::string& id, const std::string& job,
                                model::RunStatus status, const std::string& result = "",
                                const std::string& worker = "w1") {
    history::Execution e;
    e.record.run.id = id;
    e.record.run.job_id = job;
    e.record.run.name = "name-" + job;
    e.record.run.group = "g1";
    e.record.run.ip = worker == keys::kNoWorker ? "" : worker;
    e.record.status = status;
    e.record.result = result;
    e.record.started_at = kStart;
    e.record.duration_ms = 1500;
    e.worker = worker;
    e.leader_node = "node-a";
    return e;
  }
  // As the collector calls it: retried until the engine takes it.
  void Tell(AlarmEngine& engine, const std::vector<history::Execution>& rows) {
    absl::Status s;
    ASSERT_TRUE(Eventually([&] {
      s = engine.OnStored(rows);
      return s.ok();
    })) << s;
  }
  std::vector<json> Bodies(const std::string& path) {
    std::vector<json> out;
    for (const auto& r : receiver_.requests(path)) out.push_back(json::parse(r.body));
    return out;
  }
  // Moves the fake clock in steps until `cond` holds.
  bool AdvanceUntil(const std::function<bool()>& cond, milliseconds step = milliseconds(500),
                    int steps = 200) {
    for (int i = 0; i < steps; ++i) {
      if (Eventually(cond, milliseconds(60))) return true;
      clock_.Advance(step);
    }
    return cond();
  }
  history::AlarmEntry Alarm(const std::string& event_key) {
    auto a = log_->Get(AlarmId(event_key));
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : history::AlarmEntry{};
  }

  FakeClock clock_{kStart};
  std::unique_ptr<coord::EmbeddedStore> store_;
  std::unique_ptr<AlarmConfig> config_;
  history::DbUrl url_;
  std::unique_ptr<history::AlarmLog> log_;
  std::unique_ptr<history::HistoryStore> history_;
  WebhookReceiver receiver_;
  CurlSender sender_{CurlSenderOptions{&clock_, "forest-test"}};
  CountingProbe probe_;
  std::vector<std::unique_ptr<AlarmEngine>> engines_;
};

TEST_F(AlarmEngineTest, EveryEventKindReachesEveryChannelTypeWithItsFormatAndSignature) {
  SmtpServer smtp("starttls", "forest", "pw");
  ASSERT_TRUE(smtp.ok()) << "cannot start smtp_server.py (python3-aiosmtpd installed?)";
  std::vector<std::string> channels = {
      Hook("/hook", "whsecret"),
      AddChannel({{"id", "ding"},
                  {"name", "ding"},
                  {"type", "dingtalk"},
                  {"url", receiver_.Url("/ding?access_token=T")},
                  {"secret", "SECding"}}),
      AddChannel({{"id", "wecom"},
                  {"name", "wecom"},
                  {"type", "wecom"},
                  {"url", receiver_.Url("/wecom?key=K")}}),
      AddChannel({{"id", "lark"},
                  {"name", "lark"},
                  {"type", "feishu"},
                  {"url", receiver_.Url("/lark")},
                  {"secret", "larksecret"}}),
      AddChannel({{"id", "slack"},
                  {"name", "slack"},
                  {"type", "slack"},
                  {"url", receiver_.Url("/slack")}}),
      AddChannel({{"id", "mail"},
                  {"name", "mail"},
                  {"type", "email"},
                  {"host", "127.0.0.1"},
                  {"port", smtp.port()},
                  {"security", "starttls"},
                  {"username", "forest"},
                  {"password", "pw"},
                  {"from", "forest@example.com"},
                  {"to", json::array({"ops@example.com"})},
                  {"caFile", smtp.ca_file()}}),
  };
  receiver_.Answer("/slack", "ok");
  GlobalRule(json{
      {"onFailure", true},
      {"onTimeout", true},
      {"onUnknown", true},
      {"onNoWorker", true},
      {"onMisfire", true},
      {"onRecovered", true},
      {"onGroupEmpty", true},
      {"onLeaderChange", true},
      {"runningLongerThanSeconds", 3600},
      {"channels",
       channels}}.dump());
  PutJob("j1", "");
  PutJob("j2", "");
  PutJob("j3", "");
  // A run started two hours ago, still running.
  history::Execution running = Row("long1", "j3", model::RunStatus::kRunning);
  running.record.started_at = kStart - std::chrono::hours(2);
  ASSERT_TRUE(history_->Upsert({running}).ok());

  AlarmEngine& engine = Start(Options());  // leader_changed
  Tell(engine, {Row("r1", "j1", model::RunStatus::kError, "exit status 1"),
                Row("r2", "j1", model::RunStatus::kError, "timed out after 30 s"),
                Row("r3", "j1", model::RunStatus::kUnknown, "worker 'w1' was lost"),
                Row("r4", "j2", model::RunStatus::kError, "no live worker in group 'g1'",
                    std::string(keys::kNoWorker)),
                Row("r5", "j1", model::RunStatus::kSuccess, "done")});
  engine.OnMisfire(
      scheduler::MisfireEvent{"j2", "name-j2", "g1", 42, 1, kStart - std::chrono::hours(1),
                              kStart - std::chrono::minutes(2), model::Misfire::kFireOnce});
  // long_running and group_empty come from the periodic checks.
  const std::set<std::string> kinds = {"leader_changed", "failed",       "timed_out",
                                       "unknown",        "no_worker",    "recovered",
                                       "misfire",        "long_running", "group_empty"};
  const auto hook_kinds = [&] {
    std::set<std::string> seen;
    for (const auto& r : receiver_.requests("/hook")) seen.insert(r.headers.at("X-Forest-Event"));
    return seen;
  };
  ASSERT_TRUE(AdvanceUntil([&] {
    return hook_kinds() == kinds && receiver_.requests("/ding").size() == kinds.size() &&
           receiver_.requests("/wecom").size() == kinds.size() &&
           receiver_.requests("/lark").size() == kinds.size() &&
           receiver_.requests("/slack").size() == kinds.size() &&
           smtp.messages().size() == kinds.size();
  })) << "hook: "
      << receiver_.requests("/hook").size() << " ding " << receiver_.requests("/ding").size()
      << " mail " << smtp.messages().size();

  // webhook: the facts, signed over the body.
  std::map<std::string, json> by_kind;
  for (const auto& r : receiver_.requests("/hook")) {
    const json body = json::parse(r.body);
    by_kind[body["kind"]] = body;
    EXPECT_EQ(
        r.headers.at("X-Forest-Signature"),
        "sha256=" + Hex(HmacSha256("whsecret", r.headers.at("X-Forest-Timestamp") + "." + r.body)));
    EXPECT_EQ(r.headers.at("X-Forest-Alarm-Id"), body["alarmId"]);
  }
  EXPECT_EQ(by_kind["failed"]["executionId"], "r1");
  EXPECT_EQ(by_kind["failed"]["result"], "exit status 1");
  EXPECT_EQ(by_kind["failed"]["link"], "http://forest.example:2856/executions?id=r1");
  EXPECT_EQ(by_kind["failed"]["startedAt"], "2026-03-01T08:00:00.000Z");
  EXPECT_EQ(by_kind["failed"]["finishedAt"], "2026-03-01T08:00:01.500Z");
  EXPECT_EQ(by_kind["timed_out"]["executionId"], "r2");
  EXPECT_EQ(by_kind["unknown"]["executionId"], "r3");
  EXPECT_EQ(by_kind["no_worker"]["jobId"], "j2");
  EXPECT_EQ(by_kind["no_worker"]["worker"], "");
  EXPECT_EQ(by_kind["recovered"]["executionId"], "r5");
  EXPECT_EQ(by_kind["misfire"]["jobId"], "j2");
  EXPECT_NE(by_kind["misfire"]["result"].get<std::string>().find("42 scheduled times"),
            std::string::npos);
  EXPECT_EQ(by_kind["long_running"]["executionId"], "long1");
  EXPECT_EQ(by_kind["group_empty"]["group"], "g1");
  EXPECT_EQ(by_kind["leader_changed"]["node"], "node-a");

  // dingtalk: signed URL, markdown; feishu: signed body; wecom, slack: their shapes.
  for (const auto& r : receiver_.requests("/ding")) {
    const int64_t ts = std::stoll(r.query.at("timestamp"));
    EXPECT_EQ(r.raw_query.substr(r.raw_query.find("sign=") + 5), DingTalkSign("SECding", ts));
    EXPECT_EQ(json::parse(r.body)["msgtype"], "markdown");
  }
  for (const json& body : Bodies("/lark")) {
    EXPECT_EQ(body["sign"],
              FeishuSign("larksecret", std::stoll(body["timestamp"].get<std::string>())));
    EXPECT_EQ(body["msg_type"], "text");
  }
  for (const json& body : Bodies("/wecom")) EXPECT_EQ(body["msgtype"], "markdown");
  for (const json& body : Bodies("/slack")) EXPECT_EQ(body["blocks"][0]["type"], "section");
  std::set<std::string> subjects;
  for (const json& m : smtp.messages()) {
    const std::string data = m["data"];
    const size_t at = data.find("Subject: ");
    subjects.insert(data.substr(at, data.find("\r\n", at) - at));
    EXPECT_EQ(m["tls"], true);
    EXPECT_EQ(m["authenticated"], "forest");
  }
  EXPECT_TRUE(subjects.count("Subject: [Forest] Group g1 has no live worker")) << *subjects.begin();
  EXPECT_EQ(subjects.size(), kinds.size());

  // The log says every delivery was sent, once.
  const history::AlarmEntry failed = Alarm("failed/r1");
  ASSERT_EQ(failed.deliveries.size(), channels.size());
  for (const history::AlarmDelivery& d : failed.deliveries) {
    EXPECT_EQ(d.state, history::DeliveryState::kSent) << d.channel_id << ": " << d.last_error;
    EXPECT_EQ(d.attempts, 1);
  }
  EXPECT_EQ(probe_.count("email", DeliveryOutcome::kSent), static_cast<int>(kinds.size()));
  EXPECT_EQ(probe_.count("dingtalk", DeliveryOutcome::kSent), static_cast<int>(kinds.size()));
}

TEST_F(AlarmEngineTest, RepeatsWithinTheWindowBecomeOneSummaryPerWindow) {
  const std::string hook = Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "groupWindowSeconds": 60, "channels": ["hook"]})");
  AlarmEngine& engine = Start(Options());
  const auto fail = [&](int i) {
    Tell(engine, {Row("r" + std::to_string(i), "j1", model::RunStatus::kError, "boom")});
  };
  fail(0);  // the first goes at once
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 1; }));
  for (int i = 1; i <= 9; ++i) {  // a failure a second
    clock_.Advance(seconds(1));
    fail(i);
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(receiver_.requests("/hook").size(), 1u);
  EXPECT_EQ(engine.stats().suppressed, 9);

  clock_.Advance(seconds(52));  // the window (60 s from the first) ends
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 2; }));
  json summary = Bodies("/hook")[1];
  EXPECT_EQ(summary["count"], 9);
  EXPECT_EQ(summary["executionId"], "r9");  // the latest
  EXPECT_EQ(summary["title"], "Job name-j1 failed 9 more times in 1 min");
  EXPECT_EQ(summary["firstAt"], "2026-03-01T08:00:01.500Z");  // r1 finished 1.5 s after its start

  // Still failing: one summary for the next window too.
  for (int i = 10; i < 15; ++i) {
    clock_.Advance(seconds(5));
    fail(i);
  }
  clock_.Advance(seconds(40));
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 3; }));
  EXPECT_EQ(Bodies("/hook")[2]["count"], 5);
  // A quiet window sends nothing and closes; the next failure goes at once.
  clock_.Advance(seconds(61));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(receiver_.requests("/hook").size(), 3u);
  fail(99);
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 4; }));
  EXPECT_EQ(Bodies("/hook")[3]["count"], 1);
  EXPECT_EQ(Bodies("/hook")[3]["executionId"], "r99");
}

TEST_F(AlarmEngineTest, RetriedWithBackoffAfterTheReceiverFailsTwice) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  receiver_.FailNext(2);
  AlarmEngine& engine = Start(Options());
  Tell(engine, {Row("r1", "j1", model::RunStatus::kError)});
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 1; }));
  ASSERT_TRUE(Eventually([&] {
    return Alarm("failed/r1").deliveries.at(0).attempts == 1 &&
           Alarm("failed/r1").deliveries.at(0).state == history::DeliveryState::kPending;
  }));
  history::AlarmDelivery d = Alarm("failed/r1").deliveries.at(0);
  EXPECT_NE(d.last_error.find("HTTP 500"), std::string::npos) << d.last_error;
  EXPECT_EQ(d.next_attempt_at, kStart + seconds(1));  // retry_min

  // Not before its time.
  clock_.Advance(milliseconds(900));
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(receiver_.requests("/hook").size(), 1u);
  clock_.Advance(milliseconds(200));
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 2; }));
  ASSERT_TRUE(Eventually([&] {
    return Alarm("failed/r1").deliveries.at(0).attempts == 2 &&
           Alarm("failed/r1").deliveries.at(0).state == history::DeliveryState::kPending;
  }));
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).next_attempt_at,
            kStart + milliseconds(1100) + seconds(2));  // doubled
  clock_.Advance(seconds(2));
  ASSERT_TRUE(Eventually(
      [&] { return Alarm("failed/r1").deliveries.at(0).state == history::DeliveryState::kSent; }));
  const auto got = receiver_.requests("/hook");
  ASSERT_EQ(got.size(), 3u);
  // Every attempt carries the same alarm id (receivers can drop repeats).
  EXPECT_EQ(got[0].headers.at("X-Forest-Alarm-Id"), got[2].headers.at("X-Forest-Alarm-Id"));
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).attempts, 3);
  EXPECT_EQ(probe_.count("webhook", DeliveryOutcome::kRetry), 2);
  EXPECT_EQ(probe_.count("webhook", DeliveryOutcome::kSent), 1);
}

TEST_F(AlarmEngineTest, GivesUpAfterMaxAttempts) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  receiver_.FailNext(100);
  EngineOptions o = Options();
  o.max_attempts = 2;
  AlarmEngine& engine = Start(o);
  Tell(engine, {Row("r1", "j1", model::RunStatus::kError)});
  ASSERT_TRUE(AdvanceUntil([&] {
    return Alarm("failed/r1").deliveries.at(0).state == history::DeliveryState::kFailed;
  }));
  EXPECT_EQ(receiver_.requests("/hook").size(), 2u);
  EXPECT_EQ(engine.stats().failed, 1);
  EXPECT_EQ(probe_.count("webhook", DeliveryOutcome::kFailed), 1);
}

// The leader dies right after writing the alarm (nothing sent): the next
// leader sends it, once, and the record told again raises nothing new.
TEST_F(AlarmEngineTest, ALeaderKilledBetweenTheLogAndTheSendDoesNotSendTwice) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  EngineOptions dying = Options("node-a");
  dying.fault = [](FaultPoint point, std::string_view) { return point != FaultPoint::kRecorded; };
  AlarmEngine& a = Start(dying, 7);
  const auto row = Row("r1", "j1", model::RunStatus::kError);
  EXPECT_FALSE(a.OnStored({row}).ok());  // died: the collector keeps the record
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(receiver_.requests("/hook").empty());
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).state, history::DeliveryState::kPending);

  AlarmEngine& b = Start(Options("node-b"), 9);
  Tell(b, {row});  // the new leader's collector stores and tells it again
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 1; }));
  std::this_thread::sleep_for(milliseconds(300));
  clock_.Advance(seconds(30));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(receiver_.requests("/hook").size(), 1u);
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).state, history::DeliveryState::kSent);
  EXPECT_EQ(b.stats().raised, 0);  // recorded by a; b only delivered it
}

// The leader dies after claiming a delivery, before sending: the claim
// holds it until stale_sending, then the next leader sends it, once.
TEST_F(AlarmEngineTest, ALeaderKilledBetweenTheClaimAndTheSendDoesNotSendTwice) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  EngineOptions dying = Options("node-a");
  dying.fault = [](FaultPoint point, std::string_view) { return point != FaultPoint::kClaimed; };
  AlarmEngine& a = Start(dying, 7);
  Tell(a, {Row("r1", "j1", model::RunStatus::kError)});
  ASSERT_TRUE(Eventually([&] {
    return Alarm("failed/r1").deliveries.at(0).state == history::DeliveryState::kSending;
  }));
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).owner, "node-a/7");

  AlarmEngine& b = Start(Options("node-b"), 9);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(receiver_.requests("/hook").empty());  // a may still be sending
  clock_.Advance(seconds(6));
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 1; }));
  ASSERT_TRUE(Eventually(
      [&] { return Alarm("failed/r1").deliveries.at(0).state == history::DeliveryState::kSent; }));
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).owner, "node-b/9");
  EXPECT_EQ(Alarm("failed/r1").deliveries.at(0).attempts, 2);
  clock_.Advance(seconds(30));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(receiver_.requests("/hook").size(), 1u);
  (void)b;
}

// Two nodes that both believe they lead (one not yet told otherwise) race
// for every delivery; each attempt is claimed by one of them.
TEST_F(AlarmEngineTest, TwoLeadersNeverSendOneAttemptTwice) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  AlarmEngine& a = Start(Options("node-a"), 7);
  AlarmEngine& b = Start(Options("node-b"), 9);
  std::vector<history::Execution> rows;
  for (int i = 0; i < 40; ++i)
    rows.push_back(Row("r" + std::to_string(i), "j1", model::RunStatus::kError));
  Tell(a, rows);
  Tell(b, rows);
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() >= 40; }));
  std::this_thread::sleep_for(milliseconds(500));
  std::multiset<std::string> ids;
  for (const auto& r : receiver_.requests("/hook")) ids.insert(r.headers.at("X-Forest-Alarm-Id"));
  EXPECT_EQ(ids.size(), 40u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 40u);
  EXPECT_EQ(a.stats().raised + b.stats().raised, 40);
}

TEST_F(AlarmEngineTest, AFailedAttemptWithRetriesLeftRaisesNothing) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})", "", /*max_attempts=*/3);
  AlarmEngine& engine = Start(Options());
  const auto id = [](int attempt) {
    return model::SnapshotId(model::RunKey{"j1", kStart, false, attempt, 0});
  };
  Tell(engine,
       {Row(id(1), "j1", model::RunStatus::kError), Row(id(2), "j1", model::RunStatus::kError)});
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(receiver_.requests("/hook").empty());
  Tell(engine, {Row(id(3), "j1", model::RunStatus::kError)});  // the last attempt
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/hook").size() == 1; }));
  EXPECT_EQ(Bodies("/hook")[0]["executionId"], id(3));
}

TEST_F(AlarmEngineTest, RulesInheritJobOverGroupOverGlobal) {
  Hook("/global", "", "global-hook");
  Hook("/group", "", "group-hook");
  Hook("/job", "", "job-hook");
  GlobalRule(R"({"onFailure": true, "onTimeout": true, "channels": ["global-hook"]})");
  ASSERT_TRUE(
      config_
          ->PutGroupRule("g1", model::AlarmRule::FromJsonText(
                                   R"({"onTimeout": false, "channels": ["group-hook"]})", "")
                                   .value())
          .ok());
  PutJob("plain", "");                             // group's channels, global's events
  PutJob("own", R"({"channels": ["job-hook"]})");  // its channels, inherited events
  PutJob("quiet", R"({"enabled": false})");        // nothing
  AlarmEngine& engine = Start(Options());
  Tell(engine,
       {Row("p1", "plain", model::RunStatus::kError),
        Row("p2", "plain", model::RunStatus::kError, "timed out after 1 s"),
        Row("o1", "own", model::RunStatus::kError), Row("q1", "quiet", model::RunStatus::kError)});
  ASSERT_TRUE(Eventually([&] {
    return receiver_.requests("/group").size() == 1 && receiver_.requests("/job").size() == 1;
  }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(Bodies("/group")[0]["executionId"], "p1");  // the timeout is off for the group
  EXPECT_EQ(Bodies("/job")[0]["executionId"], "o1");
  EXPECT_TRUE(receiver_.requests("/global").empty());
}

// The original's `mobile`: a job with one alarms through the SMS gateway
// webhook, whose template names the phone.
TEST_F(AlarmEngineTest, MobileSelectsTheSmsGatewayTemplate) {
  AddChannel({{"id", "sms"},
              {"name", "sms"},
              {"type", "webhook"},
              {"url", receiver_.Url("/sms")},
              {"smsGateway", true},
              {"bodyTemplate", R"({"phone": "{{mobile}}", "text": "{{title}}"})"}});
  PutJob("j1", "", "13800138000");
  PutJob("j2", R"({"onFailure": false})", "13900139000");  // its rule says no
  PutJob("j3", "");                                        // no mobile
  AlarmEngine& engine = Start(Options());
  Tell(engine,
       {Row("r1", "j1", model::RunStatus::kError), Row("r2", "j2", model::RunStatus::kError),
        Row("r3", "j3", model::RunStatus::kError)});
  ASSERT_TRUE(Eventually([&] { return receiver_.requests("/sms").size() == 1; }));
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_EQ(receiver_.requests("/sms").size(), 1u);
  EXPECT_EQ(Bodies("/sms")[0], json::parse(R"({"phone": "13800138000",
                                                "text": "Job name-j1 failed on w1"})"));
}

// A channel that hangs holds one delivery thread, not the others, and
// never the caller (the collector).
TEST_F(AlarmEngineTest, ASlowChannelDelaysNeitherTheCollectorNorOtherChannels) {
  Hook("/slow", "", "slow");
  Hook("/fast", "", "fast");
  receiver_.Delay("/slow", milliseconds(3000));
  PutJob("j1", R"({"onFailure": true, "channels": ["slow", "fast"]})");
  AlarmEngine& engine = Start(Options());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    Tell(engine, {Row("r" + std::to_string(i), "j1", model::RunStatus::kError)});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
  ASSERT_TRUE(
      Eventually([&] { return receiver_.requests("/fast").size() == 5; }, milliseconds(2500)));
  EXPECT_LE(receiver_.requests("/slow").size(), 1u);  // one at a time on that channel
}

TEST_F(AlarmEngineTest, SecretsAreNeitherLoggedNorRecorded) {
  std::ostringstream logged;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
  spdlog::default_logger()->sinks().push_back(sink);
  AddChannel({{"id", "hook"},
              {"name", "hook"},
              {"type", "webhook"},
              {"url", receiver_.Url("/hooks/P4THT0K3N?key=QU3RYK3Y")},
              {"secret", "S1GN1NGS3CR3T"},
              {"headers", {{"Authorization", "Bearer H34D3RS3CR3T"}}}});
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  receiver_.Answer("/hooks/P4THT0K3N", R"(echo of the request: key=QU3RYK3Y Bearer H34D3RS3CR3T)");
  receiver_.FailNext(1);
  AlarmEngine& engine = Start(Options());
  Tell(engine, {Row("r1", "j1", model::RunStatus::kError)});
  ASSERT_TRUE(Eventually([&] {
    return Alarm("failed/r1").deliveries.at(0).attempts == 1 &&
           !Alarm("failed/r1").deliveries.at(0).last_error.empty();
  }));
  spdlog::default_logger()->flush();
  spdlog::default_logger()->sinks().pop_back();
  const std::string recorded =
      json(Alarm("failed/r1").deliveries.at(0).last_error).dump() + Alarm("failed/r1").detail;
  for (const char* secret : {"P4THT0K3N", "QU3RYK3Y", "S1GN1NGS3CR3T", "H34D3RS3CR3T"}) {
    EXPECT_EQ(logged.str().find(secret), std::string::npos) << secret << " in " << logged.str();
    EXPECT_EQ(recorded.find(secret), std::string::npos) << secret << " in " << recorded;
  }
  EXPECT_NE(recorded.find("HTTP 500"), std::string::npos) << recorded;
}

TEST_F(AlarmEngineTest, NothingBeforeLeadingAndNothingAfterFollowing) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook"]})");
  auto engine = AlarmEngine::Start(*store_, *log_, sender_, history_.get(), Options()).value();
  EXPECT_EQ(engine->OnStored({Row("r1", "j1", model::RunStatus::kError)}).code(),
            absl::StatusCode::kUnavailable);
  engine->Lead(3);
  ASSERT_TRUE(Eventually([&] { return engine->stats().leading; }));
  engine->Follow();
  EXPECT_EQ(engine->OnStored({Row("r1", "j1", model::RunStatus::kError)}).code(),
            absl::StatusCode::kUnavailable);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(receiver_.requests().empty());
  EXPECT_EQ(log_->List({}).value().total_count, 0);
}

TEST_F(AlarmEngineTest, ADeletedChannelFailsItsDeliveryAndSaysSo) {
  Hook("/hook");
  PutJob("j1", R"({"onFailure": true, "channels": ["hook", "ghost"]})");
  AlarmEngine& engine = Start(Options());
  Tell(engine, {Row("r1", "j1", model::RunStatus::kError)});
  // Deliveries come in channel order: ghost, hook.
  ASSERT_TRUE(Eventually([&] {
    const auto a = Alarm("failed/r1");
    return a.deliveries.size() == 2 && a.deliveries[0].state == history::DeliveryState::kFailed &&
           a.deliveries[1].state == history::DeliveryState::kSent;
  }));
  EXPECT_EQ(Alarm("failed/r1").deliveries[0].channel_id, "ghost");
  EXPECT_NE(Alarm("failed/r1").deliveries[0].last_error.find("no channel 'ghost'"),
            std::string::npos);
}

TEST(AlarmEngineStartTest, RejectsBadOptions) {
  auto store = coord::EmbeddedStore::Open({}).value();
  auto log =
      history::OpenAlarmLog(history::ParseDbUrl("sqlite://" + TempDb()).value(), SystemClock::Get())
          .value();
  CurlSender sender;
  EngineOptions o;
  EXPECT_EQ(AlarmEngine::Start(*store, *log, sender, nullptr, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.node_id = "n";
  o.max_attempts = 0;
  EXPECT_EQ(AlarmEngine::Start(*store, *log, sender, nullptr, o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace forest::alarm
