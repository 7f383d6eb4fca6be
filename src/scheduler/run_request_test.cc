#include "scheduler/run_request.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "coord/embedded/embedded_store.h"
#include "model/job.h"
#include "model/keys.h"

namespace forest::scheduler {
namespace {

using nlohmann::json;

const Time kNow = ParseIso8601("2026-01-01T08:00:30.250Z", TimeZone::Utc()).value();

class RequestRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    coord::EmbeddedStoreOptions options;
    options.clock = &clock_;
    store_ = coord::EmbeddedStore::Open(options).value();
    AddJob("job-1");
  }

  void AddJob(const std::string& id) {
    model::Job job;
    job.id = id;
    job.name = "report";
    job.group = "trade";
    job.cron = "*/5 * * * *";
    job.target = "echo hi";
    coord::PutRequest put;
    put.key = model::keys::Conf(id);
    put.value = job.ToJson();
    ASSERT_TRUE(store_->Put(put).ok());
  }

  // The run requests stored for `job_id`, in key order.
  std::vector<coord::KeyValue> Requests(const std::string& job_id) {
    coord::RangeRequest range;
    range.key = model::keys::Run(job_id, "");
    range.range_end = coord::PrefixEnd(range.key);
    return store_->Range(range).value().kvs;
  }

  static RunRequest Manual(std::string job_id) {
    RunRequest r;
    r.job_id = std::move(job_id);
    r.requested_by = "alice";
    return r;
  }

  FakeClock clock_{kNow};
  std::unique_ptr<coord::EmbeddedStore> store_;
};

TEST_F(RequestRunTest, WritesTheRequestUnderItsMillisecond) {
  RunRequest request = Manual("job-1");
  request.params = R"({"day":2})";
  const std::string id = RequestRun(*store_, clock_, request).value();
  EXPECT_EQ(id, "20260101080030250m1.0-job-1");
  EXPECT_EQ(model::ParseSnapshotId(id).value(),
            (model::RunKey{"job-1", kNow, /*manual=*/true, /*attempt=*/1, /*shard_index=*/0}));

  const auto kvs = Requests("job-1");
  ASSERT_EQ(kvs.size(), 1u);
  EXPECT_EQ(kvs[0].key, "/forest/server/run/job-1/20260101080030250");
  EXPECT_EQ(kvs[0].lease, 0);
  const RunRequest stored = RunRequest::FromJson(kvs[0].value).value();
  EXPECT_EQ(stored.job_id, "job-1");
  EXPECT_EQ(stored.params, R"({"day":2})");
  EXPECT_EQ(stored.trigger, model::Trigger::kManual);
  EXPECT_EQ(stored.requested_by, "alice");
  EXPECT_EQ(stored.requested_at, kNow);
  EXPECT_EQ(stored.ToJson(), kvs[0].value);
}

TEST_F(RequestRunTest, RequestsInTheSameMillisecondGetDistinctKeysAndIds) {
  const std::string first = RequestRun(*store_, clock_, Manual("job-1")).value();
  RunRequest api = Manual("job-1");
  api.trigger = model::Trigger::kApi;
  const std::string second = RequestRun(*store_, clock_, api).value();
  const std::string third = RequestRun(*store_, clock_, Manual("job-1")).value();
  EXPECT_EQ(first, "20260101080030250m1.0-job-1");
  EXPECT_EQ(second, "20260101080030251m1.0-job-1");
  EXPECT_EQ(third, "20260101080030252m1.0-job-1");

  const auto kvs = Requests("job-1");
  ASSERT_EQ(kvs.size(), 3u);
  EXPECT_EQ(kvs[0].key, model::keys::Run("job-1", "20260101080030250"));
  EXPECT_EQ(kvs[1].key, model::keys::Run("job-1", "20260101080030251"));
  EXPECT_EQ(kvs[2].key, model::keys::Run("job-1", "20260101080030252"));
  // Each stored request carries the millisecond that names it.
  const RunRequest stored = RunRequest::FromJson(kvs[1].value).value();
  EXPECT_EQ(stored.requested_at, kNow + Millis(1));
  EXPECT_EQ(stored.trigger, model::Trigger::kApi);
  EXPECT_EQ(model::ParseSnapshotId(second).value().scheduled, stored.requested_at);
}

TEST_F(RequestRunTest, OtherJobsDoNotShareMilliseconds) {
  AddJob("job-2");
  EXPECT_EQ(RequestRun(*store_, clock_, Manual("job-1")).value(), "20260101080030250m1.0-job-1");
  EXPECT_EQ(RequestRun(*store_, clock_, Manual("job-2")).value(), "20260101080030250m1.0-job-2");
}

TEST_F(RequestRunTest, FollowsTheClock) {
  clock_.Advance(Millis(1500));
  EXPECT_EQ(RequestRun(*store_, clock_, Manual("job-1")).value(), "20260101080031750m1.0-job-1");
}

TEST_F(RequestRunTest, IgnoresTheCallersRequestedAt) {
  RunRequest request = Manual("job-1");
  request.requested_at = kNow - std::chrono::hours(24);
  EXPECT_EQ(RequestRun(*store_, clock_, request).value(), "20260101080030250m1.0-job-1");
}

TEST_F(RequestRunTest, UnknownJobIsNotFound) {
  const auto id = RequestRun(*store_, clock_, Manual("nope"));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(id.status().message()), "job 'nope' does not exist");
  EXPECT_TRUE(Requests("nope").empty());
}

TEST_F(RequestRunTest, InvalidJobIdIsRejected) {
  for (const char* job : {"", "a/b", ".."}) {
    const auto id = RequestRun(*store_, clock_, Manual(job));
    ASSERT_FALSE(id.ok()) << job;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << job;
    EXPECT_EQ(model::ErrorField(id.status()), "jobId") << job;
  }
}

TEST_F(RequestRunTest, OnlyManualAndApiTriggersAreAccepted) {
  for (const model::Trigger t :
       {model::Trigger::kCron, model::Trigger::kRetry, model::Trigger::kFailover}) {
    RunRequest request = Manual("job-1");
    request.trigger = t;
    const auto id = RequestRun(*store_, clock_, request);
    ASSERT_FALSE(id.ok()) << model::Name(t);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(model::ErrorField(id.status()), "trigger");
  }
  EXPECT_TRUE(Requests("job-1").empty());
}

TEST_F(RequestRunTest, GivesUpWhenEveryMillisecondIsTaken) {
  for (int i = 0; i < 1000; ++i) {
    coord::PutRequest put;
    put.key = model::keys::Run("job-1", model::TimestampDigits(kNow + Millis(i)));
    put.value = "{}";
    ASSERT_TRUE(store_->Put(put).ok());
  }
  const auto id = RequestRun(*store_, clock_, Manual("job-1"));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted);
  // One more millisecond free: the request takes it.
  clock_.Advance(Millis(1));
  EXPECT_EQ(RequestRun(*store_, clock_, Manual("job-1")).value(), "20260101080031250m1.0-job-1");
}

// --- JSON ----------------------------------------------------------------------

TEST(RunRequestTest, JsonRoundTripsEveryField) {
  RunRequest r;
  r.job_id = "job-1";
  r.params = "";
  r.trigger = model::Trigger::kApi;
  r.requested_by = "ci-bot";
  r.requested_at = kNow;
  const std::string text = r.ToJson();
  EXPECT_EQ(json::parse(text), json::parse(R"({"jobId":"job-1","params":"","trigger":"api",)"
                                           R"("requestedBy":"ci-bot",)"
                                           R"("requestedAt":"2026-01-01T08:00:30.250Z"})"));
  const RunRequest back = RunRequest::FromJson(text).value();
  EXPECT_EQ(back.job_id, r.job_id);
  EXPECT_EQ(back.params, std::optional<std::string>(""));  // empty, yet set
  EXPECT_EQ(back.trigger, r.trigger);
  EXPECT_EQ(back.requested_by, r.requested_by);
  EXPECT_EQ(back.requested_at, r.requested_at);
  EXPECT_EQ(back.ToJson(), text);
}

TEST(RunRequestTest, AbsentParamsStayAbsent) {
  RunRequest r;
  r.job_id = "job-1";
  r.requested_at = kNow;
  const json j = json::parse(r.ToJson());
  EXPECT_FALSE(j.contains("params"));
  EXPECT_EQ(j["trigger"], "manual");
  EXPECT_EQ(RunRequest::FromJson(r.ToJson()).value().params, std::nullopt);
  EXPECT_EQ(RunRequest::FromJson(R"({"jobId":"j","params":null})").value().params, std::nullopt);
}

TEST(RunRequestTest, DefaultsForAbsentFields) {
  const RunRequest r = RunRequest::FromJson(R"({"jobId":"j","future":1})").value();
  EXPECT_EQ(r.job_id, "j");
  EXPECT_EQ(r.trigger, model::Trigger::kManual);
  EXPECT_EQ(r.requested_by, "");
  EXPECT_EQ(r.requested_at, Time{});
}

TEST(RunRequestTest, ErrorsNameTheField) {
  const struct {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"jobId":1})", "jobId"},
      {R"({"params":{}})", "params"},
      {R"({"trigger":"boot"})", "trigger"},
      {R"({"trigger":5})", "trigger"},
      {R"({"requestedBy":[]})", "requestedBy"},
      {R"({"requestedAt":"yesterday"})", "requestedAt"},
      {"{", ""},
      {"[]", ""},
  };
  for (const auto& c : cases) {
    const auto r = RunRequest::FromJson(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(model::ErrorField(r.status()), c.field) << c.json;
  }
}

}  // namespace
}  // namespace forest::scheduler
