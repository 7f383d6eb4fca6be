#include "model/job.h"

#include <gtest/gtest.h>

namespace forest::model {
namespace {

using nlohmann::json;

// A JobConf exactly as the original forest writes it.
constexpr std::string_view kOriginalJob =
    R"({"id":"20190725150540123456","name":"daily report","group":"trade","cron":"0/30 * * * * ?",)"
    R"("status":1,"target":"com.busgo.trade.DailyReport","params":"{\"day\":1}","mobile":"13800138000",)"
    R"("remark":"from the old UI","version":3})";

TEST(JobTest, OriginalDocumentParsesWithOurDefaults) {
  const Job job = Job::FromJson(kOriginalJob).value();
  EXPECT_EQ(job.id, "20190725150540123456");
  EXPECT_EQ(job.name, "daily report");
  EXPECT_EQ(job.group, "trade");
  EXPECT_EQ(job.cron, "0/30 * * * * ?");
  EXPECT_EQ(job.status, JobStatus::kEnabled);
  EXPECT_EQ(job.target, "com.busgo.trade.DailyReport");
  EXPECT_EQ(job.params, R"({"day":1})");
  EXPECT_EQ(job.mobile, "13800138000");
  EXPECT_EQ(job.version, 3);
  EXPECT_EQ(job.cron_dialect, cron::Dialect::kForest);
  EXPECT_EQ(job.routing, Routing::kRandom);
  EXPECT_EQ(job.concurrency, Concurrency::kAllow);
  EXPECT_EQ(job.misfire, Misfire::kFireOnce);
  EXPECT_EQ(job.retry, RetryPolicy{});
  EXPECT_TRUE(job.extra.empty());
  EXPECT_TRUE(job.Validate().ok()) << job.Validate();
}

TEST(JobTest, WritesTheOriginalFieldNamesAndTypes) {
  const json j = json::parse(Job::FromJson(kOriginalJob).value().ToJson());
  EXPECT_EQ(j["id"], "20190725150540123456");
  EXPECT_EQ(j["status"], 1);  // a number, as the original reads it
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["cron"], "0/30 * * * * ?");
  EXPECT_EQ(j["params"], R"({"day":1})");
  EXPECT_EQ(j["routing"], "random");
  EXPECT_EQ(j["retry"]["maxAttempts"], 1);
  EXPECT_FALSE(j.contains("startAt"));
}

TEST(JobTest, EveryFieldRoundTrips) {
  Job job = Job::FromJson(kOriginalJob).value();
  job.status = JobStatus::kStopped;
  job.timezone = "Asia/Shanghai";
  job.cron_dialect = cron::Dialect::kQuartz;
  job.cron = "0 0 9 ? * MON-FRI";
  job.routing = Routing::kShard;
  job.timeout_seconds = 600;
  job.retry = {3, 10, 2.0};
  job.concurrency = Concurrency::kForbid;
  job.misfire = Misfire::kSkip;
  job.start_at = ParseIso8601("2026-01-01T00:00:00Z", TimeZone::Utc()).value();
  job.end_at = ParseIso8601("2027-01-01T00:00:00.250Z", TimeZone::Utc()).value();
  job.description = "sums the day";
  job.owner = "ops";
  job.tags = {"finance", "daily"};
  job.created_at = job.start_at;
  job.updated_at = job.end_at;
  job.created_by = "admin";
  job.updated_by = "alice";
  const std::string text = job.ToJson();
  const Job back = Job::FromJson(text).value();
  EXPECT_EQ(back.ToJson(), text);
  EXPECT_EQ(back.status, JobStatus::kStopped);
  EXPECT_EQ(back.routing, Routing::kShard);
  EXPECT_EQ(back.retry, (RetryPolicy{3, 10, 2.0}));
  EXPECT_EQ(back.misfire, Misfire::kSkip);
  EXPECT_EQ(back.end_at, job.end_at);
  EXPECT_EQ(back.tags, job.tags);
  EXPECT_EQ(json::parse(text)["endAt"], "2027-01-01T00:00:00.250Z");
  EXPECT_TRUE(back.Validate().ok()) << back.Validate();
}

TEST(JobTest, UnknownFieldsSurviveAnEdit) {
  Job job = Job::FromJson(R"({"id":"j1","name":"n","group":"g","cron":"* * * * *","target":"t",)"
                          R"("futureField":{"x":[1,2]},"retry":{"maxAttempts":2,"jitter":0.5}})")
                .value();
  EXPECT_EQ(job.retry.max_attempts, 2);
  job.name = "renamed";
  ++job.version;
  const json j = json::parse(job.ToJson());
  EXPECT_EQ(j["futureField"], json::parse(R"({"x":[1,2]})"));
  EXPECT_EQ(j["retry"]["jitter"], 0.5);
  EXPECT_EQ(j["retry"]["maxAttempts"], 2);
  EXPECT_EQ(j["name"], "renamed");
  EXPECT_EQ(j["version"], 1);
}

struct BadDoc {
  const char* json;
  const char* field;
  const char* message;
};

class JobParseErrorTest : public ::testing::TestWithParam<BadDoc> {};

TEST_P(JobParseErrorTest, NamesTheField) {
  const auto job = Job::FromJson(GetParam().json);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(job.status()), GetParam().field);
  EXPECT_EQ(std::string(job.status().message()), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, JobParseErrorTest,
    ::testing::Values(
        BadDoc{"{", "", "malformed JSON"}, BadDoc{"[1]", "", "expected a JSON object"},
        BadDoc{R"({"name":5})", "name", "name: expected a string"},
        BadDoc{R"({"status":3})", "status", "status: 3 is not 1 (enabled) or 2 (stopped)"},
        BadDoc{R"({"status":"1"})", "status", "status: expected a whole number"},
        BadDoc{R"({"version":1.5})", "version", "version: expected a whole number"},
        BadDoc{R"({"routing":"fastest"})", "routing",
               "routing: 'fastest' is not one of random, round_robin, least_busy, "
               "consistent_hash, broadcast, shard"},
        BadDoc{R"({"cronDialect":"vixie"})", "cronDialect",
               "cronDialect: unknown cron dialect 'vixie' (expected forest or quartz)"},
        BadDoc{R"({"retry":[]})", "retry", "retry: expected an object"},
        BadDoc{R"({"tags":["a",1]})", "tags", "tags: expected an array of strings"},
        BadDoc{R"({"startAt":"soon"})", "startAt",
               "startAt: 'soon' is not an ISO-8601 time: the date must be YYYY-MM-DD "
               "(expected e.g. 2026-01-01T00:00:30Z)"}));

Job Valid() {
  Job job;
  job.id = "j1";
  job.name = "report";
  job.group = "trade";
  job.cron = "*/5 * * * *";
  job.target = "echo hello";
  return job;
}

struct Invalid {
  void (*mutate)(Job&);
  const char* field;
  const char* message;
};

class JobValidateTest : public ::testing::TestWithParam<Invalid> {};

TEST_P(JobValidateTest, RejectsWithTheFieldNamed) {
  Job job = Valid();
  ASSERT_TRUE(job.Validate().ok());
  GetParam().mutate(job);
  const absl::Status s = job.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ErrorField(s), GetParam().field);
  EXPECT_EQ(std::string(s.message()), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, JobValidateTest,
    ::testing::Values(
        Invalid{[](Job& j) { j.id = ""; }, "id", "id: must not be empty"},
        Invalid{[](Job& j) { j.id = "a/b"; }, "id", "id: must not contain '/'"},
        Invalid{[](Job& j) { j.id = ".."; }, "id", "id: must not be '.' or '..'"},
        Invalid{[](Job& j) { j.name = ""; }, "name", "name: must not be empty"},
        Invalid{[](Job& j) { j.name = "a\nb"; }, "name", "name: contains a control character"},
        Invalid{[](Job& j) { j.group = "my group"; }, "group",
                "group: must not contain spaces or control characters"},
        Invalid{[](Job& j) { j.cron = ""; }, "cron", "cron: must not be empty"},
        Invalid{[](Job& j) { j.cron = "0 25 * * *"; }, "cron",
                "cron: field 2 (hour): 25 is out of range 0-23"},
        Invalid{[](Job& j) { j.cron = "0 0 0 30 2 *"; }, "cron",
                "cron: the expression never fires"},
        Invalid{[](Job& j) { j.cron_dialect = cron::Dialect::kQuartz; }, "cron",
                "cron: expected 6 or 7 fields (second minute hour day-of-month month day-of-week "
                "[year]), got 5"},
        Invalid{[](Job& j) { j.timezone = "Mars/Base"; }, "timezone",
                "timezone: unknown time zone 'Mars/Base' (expected an IANA name such as "
                "Europe/London)"},
        Invalid{[](Job& j) { j.target = ""; }, "target", "target: must not be empty"},
        Invalid{[](Job& j) { j.timeout_seconds = -1; }, "timeoutSeconds",
                "timeoutSeconds: must not be negative"},
        Invalid{[](Job& j) { j.retry.max_attempts = 0; }, "retry.maxAttempts",
                "retry.maxAttempts: must be between 1 and 100"},
        Invalid{[](Job& j) { j.retry.factor = 0.5; }, "retry.factor",
                "retry.factor: must be between 1 and 10"},
        Invalid{[](Job& j) {
                  j.start_at = Time(Millis(2000));
                  j.end_at = Time(Millis(1000));
                },
                "endAt", "endAt: must be after startAt"},
        Invalid{[](Job& j) { j.tags = {""}; }, "tags", "tags: a tag must not be empty"}));

TEST(GroupTest, OriginalGroupConfRoundTripsAndValidates) {
  const Group g = Group::FromJson(R"({"name":"trade","remark":"交易"})").value();
  EXPECT_EQ(g.name, "trade");
  EXPECT_EQ(g.remark, "交易");
  EXPECT_TRUE(g.Validate().ok());
  EXPECT_EQ(json::parse(g.ToJson()), json::parse(R"({"name":"trade","remark":"交易"})"));
  EXPECT_TRUE(Group::FromJson(R"({"name":"交易组"})").value().Validate().ok());
  EXPECT_EQ(ErrorField(Group::FromJson(R"({"name":"a/b"})").value().Validate()), "name");
  EXPECT_EQ(ErrorField(Group::FromJson(R"({"remark":7})").status()), "remark");
}

}  // namespace
}  // namespace forest::model
