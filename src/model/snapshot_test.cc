#include "model/snapshot.h"

#include <gtest/gtest.h>

#include <set>

#include "model/job.h"

namespace forest::model {
namespace {

using nlohmann::json;

Time At(std::string_view iso) { return ParseIso8601(iso, TimeZone::Utc()).value(); }

// A JobSnapshot as the original forest's leader writes it.
constexpr std::string_view kOriginalSnapshot =
    R"({"id":"20190725150540123456201907251505401234","jobId":"20190725150540123456",)"
    R"("name":"daily report","ip":"192.168.1.5","group":"trade","cron":"0/30 * * * * ?",)"
    R"("target":"com.busgo.trade.DailyReport","params":"{\"day\":1}","mobile":"13800138000",)"
    R"("remark":"from the old UI","createTime":"2019-07-25 15:05:40"})";

// A JobExecuteSnapshot as an original client writes it once the run ended.
constexpr std::string_view kOriginalRecord =
    R"({"id":"20190725150540123456201907251505401234","jobId":"20190725150540123456",)"
    R"("name":"daily report","ip":"192.168.1.5","group":"trade","cron":"0/30 * * * * ?",)"
    R"("target":"com.busgo.trade.DailyReport","params":"{\"day\":1}","mobile":"13800138000",)"
    R"("remark":"from the old UI","createTime":"2019-07-25 15:05:40",)"
    R"("startTime":"2019-07-25 15:05:41","finishTime":"2019-07-25 15:05:44","times":3,)"
    R"("status":-1,"result":"connection refused"})";

// --- Trigger -------------------------------------------------------------------

TEST(TriggerTest, NamesRoundTrip) {
  for (const Trigger t :
       {Trigger::kCron, Trigger::kManual, Trigger::kRetry, Trigger::kFailover, Trigger::kApi}) {
    EXPECT_EQ(ParseTrigger(Name(t)).value(), t) << Name(t);
  }
  EXPECT_EQ(Name(Trigger::kCron), "cron");
  EXPECT_EQ(Name(Trigger::kManual), "manual");
  EXPECT_EQ(Name(Trigger::kRetry), "retry");
  EXPECT_EQ(Name(Trigger::kFailover), "failover");
  EXPECT_EQ(Name(Trigger::kApi), "api");
}

TEST(TriggerTest, UnknownNameListsTheAllowedOnes) {
  const auto t = ParseTrigger("Manual");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(t.status().message()),
            "'Manual' is not a trigger (one of cron, manual, retry, failover, api)");
  EXPECT_FALSE(ParseTrigger("").ok());
}

TEST(RunStatusTest, OnlyRunningIsNotFinal) {
  EXPECT_FALSE(IsFinal(RunStatus::kRunning));
  EXPECT_TRUE(IsFinal(RunStatus::kSuccess));
  EXPECT_TRUE(IsFinal(RunStatus::kUnknown));
  EXPECT_TRUE(IsFinal(RunStatus::kError));
}

// --- FormatLegacyTime ----------------------------------------------------------

TEST(FormatLegacyTimeTest, LocalWallTimeTruncatedToTheSecond) {
  const TimeZone shanghai = TimeZone::Load("Asia/Shanghai").value();
  EXPECT_EQ(FormatLegacyTime(At("2019-07-25T07:05:40.999Z"), shanghai), "2019-07-25 15:05:40");
  EXPECT_EQ(FormatLegacyTime(At("2019-07-25T16:00:00Z"), shanghai), "2019-07-26 00:00:00");
  EXPECT_EQ(FormatLegacyTime(At("2026-01-01T00:00:30.250Z"), TimeZone::Utc()),
            "2026-01-01 00:00:30");
}

TEST(FormatLegacyTimeTest, FollowsDaylightSaving) {
  const TimeZone ny = TimeZone::Load("America/New_York").value();
  EXPECT_EQ(FormatLegacyTime(At("2026-01-15T12:00:00Z"), ny), "2026-01-15 07:00:00");
  EXPECT_EQ(FormatLegacyTime(At("2026-07-15T12:00:00Z"), ny), "2026-07-15 08:00:00");
  // Both occurrences of the repeated hour read the same.
  EXPECT_EQ(FormatLegacyTime(At("2026-11-01T05:30:00Z"), ny), "2026-11-01 01:30:00");
  EXPECT_EQ(FormatLegacyTime(At("2026-11-01T06:30:00Z"), ny), "2026-11-01 01:30:00");
}

TEST(FormatLegacyTimeTest, TruncatesBeforeTheEpochToo) {
  EXPECT_EQ(FormatLegacyTime(At("1969-12-31T23:59:59.500Z"), TimeZone::Utc()),
            "1969-12-31 23:59:59");
}

// --- Snapshot ids --------------------------------------------------------------

TEST(SnapshotIdTest, TimestampDigitsAreUtcWithMilliseconds) {
  EXPECT_EQ(TimestampDigits(At("2026-01-01T00:00:30Z")), "20260101000030000");
  EXPECT_EQ(TimestampDigits(At("2019-07-25T15:05:40.123Z")), "20190725150540123");
  EXPECT_EQ(TimestampDigits(At("1999-12-31T23:59:59.999Z")), "19991231235959999");
}

struct IdCase {
  RunKey key;
  const char* id;
};

class SnapshotIdCaseTest : public ::testing::TestWithParam<IdCase> {};

TEST_P(SnapshotIdCaseTest, FormatsAndParsesBack) {
  const IdCase& c = GetParam();
  EXPECT_EQ(SnapshotId(c.key), c.id);
  const auto back = ParseSnapshotId(c.id);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, c.key);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, SnapshotIdCaseTest,
    ::testing::Values(
        IdCase{{"job1", At("2026-01-01T00:00:30Z")}, "20260101000030000-job1"},
        IdCase{{"job1", At("2026-01-01T00:00:30Z"), false, 2, 0}, "20260101000030000c2.0-job1"},
        IdCase{{"job1", At("2026-01-01T00:00:30Z"), false, 1, 3}, "20260101000030000c1.3-job1"},
        IdCase{{"job1", At("2026-01-01T00:00:30.007Z"), true, 1, 0}, "20260101000030007m1.0-job1"},
        IdCase{{"job1", At("2026-01-01T00:00:30Z"), true, 12, 30}, "20260101000030000m12.30-job1"},
        // Job ids with dashes and digits: only the first '-' separates.
        IdCase{{"daily-report-2", At("2026-03-08T07:00:00Z")}, "20260308070000000-daily-report-2"},
        IdCase{{"-x-", At("2026-03-08T07:00:00Z"), false, 3, 1}, "20260308070000000c3.1--x-"},
        IdCase{{"20190725150540123456", At("2019-07-25T07:05:40.999Z")},
               "20190725070540999-20190725150540123456"},
        IdCase{{"1", At("2024-02-29T23:59:59.999Z"), true, 2147483647, 0},
               "20240229235959999m2147483647.0-1"}));

TEST(SnapshotIdTest, RoundTripsAcrossManyKeys) {
  std::set<std::string> ids;
  int keys = 0;
  for (const char* job : {"a", "a-1", "1-a", "job-2-3", "20190725150540123456", "x.y_z", "-"}) {
    for (const char* when : {"2026-01-01T00:00:00Z", "2026-01-01T00:00:00.001Z",
                             "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"}) {
      for (const bool manual : {false, true}) {
        for (const int attempt : {1, 2, 10}) {
          for (const int shard : {0, 1, 11}) {
            const RunKey key{job, At(when), manual, attempt, shard};
            const std::string id = SnapshotId(key);
            const auto back = ParseSnapshotId(id);
            ASSERT_TRUE(back.ok()) << id << ": " << back.status();
            EXPECT_EQ(*back, key) << id;
            EXPECT_EQ(SnapshotId(*back), id);
            ids.insert(id);
            ++keys;
          }
        }
      }
    }
  }
  // Distinct keys, distinct ids.
  EXPECT_EQ(ids.size(), size_t(keys));
}

TEST(SnapshotIdTest, JobIdsThatLookLikeTheSuffixStayDistinct) {
  // "c2.0-x" as a whole job id must not be read as attempt 2 of job "x".
  const RunKey odd{"c2.0-x", At("2026-01-01T00:00:00Z")};
  const RunKey retry{"x", At("2026-01-01T00:00:00Z"), false, 2, 0};
  EXPECT_NE(SnapshotId(odd), SnapshotId(retry));
  EXPECT_EQ(ParseSnapshotId(SnapshotId(odd)).value(), odd);
  EXPECT_EQ(ParseSnapshotId(SnapshotId(retry)).value(), retry);
}

class BadSnapshotIdTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BadSnapshotIdTest, IsRejected) {
  const auto key = ParseSnapshotId(GetParam());
  ASSERT_FALSE(key.ok()) << SnapshotId(*key);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(NotOurs, BadSnapshotIdTest,
                         ::testing::Values(
                             // The original's ids: 14-digit local time, 6 random digits, job id.
                             "2019072515054012345620190725150540123456", "201901011111111323",
                             "20190725150540123456201907251505401234", "", "2026010100003000",
                             "20260101000030000", "20260101000030000-", "20260101000030000job1",
                             "2026010100003000x-job1",
                             "20261301000030000-job1",       // month 13
                             "20260230000030000-job1",       // 30 February
                             "20260101240030000-job1",       // hour 24
                             "20260101006030000-job1",       // minute 60
                             "20260101000060000-job1",       // second 60
                             "20260101000030000c1.0-job1",   // the long spelling of the short form
                             "20260101000030000c0.0-job1",   // attempt 0
                             "20260101000030000m0.1-job1",   // attempt 0
                             "20260101000030000c02.0-job1",  // leading zero
                             "20260101000030000c2.00-job1",  // leading zero
                             "20260101000030000c2-job1", "20260101000030000c2.-job1",
                             "20260101000030000c.1-job1", "20260101000030000c2.1job1",
                             "20260101000030000x2.1-job1", "20260101000030000C2.1-job1",
                             "20260101000030000c-2.1-job1", "20260101000030000c+2.1-job1",
                             "20260101000030000c2.1-",                // no job id
                             "20260101000030000m99999999999.0-job1",  // attempt overflows int
                             " 20260101000030000-job1", "2026-01-01000030000-job1"));

// --- Assignment ----------------------------------------------------------------

TEST(AssignmentTest, OriginalSnapshotParsesWithOurDefaults) {
  const Assignment a = Assignment::FromJson(kOriginalSnapshot).value();
  EXPECT_EQ(a.id, "20190725150540123456201907251505401234");
  EXPECT_EQ(a.job_id, "20190725150540123456");
  EXPECT_EQ(a.name, "daily report");
  EXPECT_EQ(a.ip, "192.168.1.5");
  EXPECT_EQ(a.group, "trade");
  EXPECT_EQ(a.cron, "0/30 * * * * ?");
  EXPECT_EQ(a.target, "com.busgo.trade.DailyReport");
  EXPECT_EQ(a.params, R"({"day":1})");
  EXPECT_EQ(a.mobile, "13800138000");
  EXPECT_EQ(a.remark, "from the old UI");
  EXPECT_EQ(a.create_time, "2019-07-25 15:05:40");
  EXPECT_EQ(a.scheduled_time, std::nullopt);
  EXPECT_EQ(a.trigger, Trigger::kCron);
  EXPECT_EQ(a.attempt, 1);
  EXPECT_EQ(a.shard_index, 0);
  EXPECT_EQ(a.shard_total, 1);
  EXPECT_EQ(a.timeout_seconds, 0);
  EXPECT_TRUE(a.extra.empty());
  // Its id is not one of ours.
  EXPECT_FALSE(ParseSnapshotId(a.id).ok());
}

TEST(AssignmentTest, WritesTheOriginalFieldsForOldClients) {
  const json j = json::parse(Assignment::FromJson(kOriginalSnapshot).value().ToJson());
  const json original = json::parse(kOriginalSnapshot);
  for (const auto& [field, value] : original.items()) EXPECT_EQ(j[field], value) << field;
  EXPECT_EQ(j["trigger"], "cron");
  EXPECT_EQ(j["attempt"], 1);
  EXPECT_FALSE(j.contains("scheduledTime"));
}

Assignment Full() {
  Assignment a;
  a.id = "20260101000030000c2.1-job-7";
  a.job_id = "job-7";
  a.name = "nightly";
  a.ip = "worker-3";
  a.group = "trade";
  a.cron = "0 0 3 * * ?";
  a.target = "echo hi";
  a.params = R"({"a":"b"})";
  a.mobile = "13800138000";
  a.remark = "r";
  a.create_time = "2026-01-01 08:00:30";
  a.scheduled_time = At("2026-01-01T00:00:30.125Z");
  a.trigger = Trigger::kFailover;
  a.attempt = 2;
  a.shard_index = 1;
  a.shard_total = 4;
  a.timeout_seconds = 600;
  return a;
}

TEST(AssignmentTest, EveryFieldRoundTrips) {
  const Assignment a = Full();
  const std::string text = a.ToJson();
  const Assignment back = Assignment::FromJson(text).value();
  EXPECT_EQ(back.id, a.id);
  EXPECT_EQ(back.job_id, a.job_id);
  EXPECT_EQ(back.name, a.name);
  EXPECT_EQ(back.ip, a.ip);
  EXPECT_EQ(back.group, a.group);
  EXPECT_EQ(back.cron, a.cron);
  EXPECT_EQ(back.target, a.target);
  EXPECT_EQ(back.params, a.params);
  EXPECT_EQ(back.mobile, a.mobile);
  EXPECT_EQ(back.remark, a.remark);
  EXPECT_EQ(back.create_time, a.create_time);
  EXPECT_EQ(back.scheduled_time, a.scheduled_time);
  EXPECT_EQ(back.trigger, a.trigger);
  EXPECT_EQ(back.attempt, a.attempt);
  EXPECT_EQ(back.shard_index, a.shard_index);
  EXPECT_EQ(back.shard_total, a.shard_total);
  EXPECT_EQ(back.timeout_seconds, a.timeout_seconds);
  EXPECT_TRUE(back.extra.empty());
  EXPECT_EQ(back.ToJson(), text);

  const json j = json::parse(text);
  EXPECT_EQ(j["scheduledTime"], "2026-01-01T00:00:30.125Z");
  EXPECT_EQ(j["trigger"], "failover");
  EXPECT_EQ(j["shardIndex"], 1);
  EXPECT_EQ(j["shardTotal"], 4);
  EXPECT_EQ(j["timeoutSeconds"], 600);
  EXPECT_EQ(j["jobId"], "job-7");
  EXPECT_EQ(j["createTime"], "2026-01-01 08:00:30");
}

TEST(AssignmentTest, UnknownFieldsAreKeptAndWrittenBack) {
  std::string text = std::string(kOriginalSnapshot);
  text.pop_back();
  text += R"(,"priority":5,"labels":{"team":"pay"}})";
  Assignment a = Assignment::FromJson(text).value();
  EXPECT_EQ(a.extra, json::parse(R"({"priority":5,"labels":{"team":"pay"}})"));
  a.ip = "192.168.1.6";  // failover
  const json j = json::parse(a.ToJson());
  EXPECT_EQ(j["priority"], 5);
  EXPECT_EQ(j["labels"]["team"], "pay");
  EXPECT_EQ(j["ip"], "192.168.1.6");
}

TEST(AssignmentTest, NullsReadAsAbsent) {
  const Assignment a =
      Assignment::FromJson(R"({"id":null,"attempt":null,"scheduledTime":null,"trigger":null})")
          .value();
  EXPECT_EQ(a.id, "");
  EXPECT_EQ(a.attempt, 1);
  EXPECT_EQ(a.scheduled_time, std::nullopt);
  EXPECT_EQ(a.trigger, Trigger::kCron);
  EXPECT_TRUE(a.extra.empty());
}

struct BadDoc {
  const char* json;
  const char* field;
  const char* message;
};

class AssignmentParseErrorTest : public ::testing::TestWithParam<BadDoc> {};

TEST_P(AssignmentParseErrorTest, NamesTheField) {
  const auto a = Assignment::FromJson(GetParam().json);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(a.status()), GetParam().field);
  EXPECT_EQ(std::string(a.status().message()), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, AssignmentParseErrorTest,
    ::testing::Values(
        BadDoc{"{", "", "malformed JSON"}, BadDoc{"\"x\"", "", "expected a JSON object"},
        BadDoc{R"({"jobId":7})", "jobId", "jobId: expected a string"},
        BadDoc{R"({"createTime":0})", "createTime", "createTime: expected a string"},
        BadDoc{R"({"trigger":"boot"})", "trigger",
               "trigger: 'boot' is not one of cron, manual, retry, failover, api"},
        BadDoc{R"({"attempt":"2"})", "attempt", "attempt: expected a whole number"},
        BadDoc{R"({"attempt":0})", "attempt", "attempt: must be at least 1"},
        BadDoc{R"({"attempt":4294967296})", "attempt", "attempt: number out of range"},
        BadDoc{R"({"shardTotal":0})", "shardTotal", "shardTotal: must be at least 1"},
        BadDoc{R"({"shardIndex":2,"shardTotal":2})", "shardIndex",
               "shardIndex: 2 is not between 0 and shardTotal - 1 (1)"},
        BadDoc{R"({"shardIndex":-1})", "shardIndex",
               "shardIndex: -1 is not between 0 and shardTotal - 1 (0)"},
        BadDoc{R"({"timeoutSeconds":-5})", "timeoutSeconds",
               "timeoutSeconds: must not be negative"},
        BadDoc{R"({"timeoutSeconds":1.5})", "timeoutSeconds",
               "timeoutSeconds: expected a whole number"},
        BadDoc{R"({"scheduledTime":"tomorrow"})", "scheduledTime",
               "scheduledTime: 'tomorrow' is not an ISO-8601 time: the date must be YYYY-MM-DD "
               "(expected e.g. 2026-01-01T00:00:30Z)"}));

// --- ExecutionRecord -----------------------------------------------------------

TEST(ExecutionRecordTest, OriginalRecordParses) {
  const ExecutionRecord rec = ExecutionRecord::FromJson(kOriginalRecord).value();
  EXPECT_EQ(rec.run.id, "20190725150540123456201907251505401234");
  EXPECT_EQ(rec.run.job_id, "20190725150540123456");
  EXPECT_EQ(rec.run.ip, "192.168.1.5");
  EXPECT_EQ(rec.run.params, R"({"day":1})");
  EXPECT_EQ(rec.run.create_time, "2019-07-25 15:05:40");
  EXPECT_EQ(rec.start_time, "2019-07-25 15:05:41");
  EXPECT_EQ(rec.finish_time, "2019-07-25 15:05:44");
  EXPECT_EQ(rec.times, 3);
  EXPECT_EQ(rec.status, RunStatus::kError);
  EXPECT_EQ(rec.result, "connection refused");
  // Nothing of ours is guessed.
  EXPECT_EQ(rec.run.scheduled_time, std::nullopt);
  EXPECT_EQ(rec.run.trigger, Trigger::kCron);
  EXPECT_EQ(rec.run.attempt, 1);
  EXPECT_EQ(rec.duration_ms, std::nullopt);
  EXPECT_EQ(rec.exit_code, std::nullopt);
  EXPECT_EQ(rec.output, "");
  EXPECT_EQ(rec.started_at, std::nullopt);
  EXPECT_TRUE(rec.run.extra.empty());
}

TEST(ExecutionRecordTest, RunningRecordOfAnOriginalClientParses) {
  // Written when the run starts: status 1, no finish time yet.
  const ExecutionRecord rec =
      ExecutionRecord::FromJson(
          R"({"id":"20190725150540123456201907251505401234","jobId":"20190725150540123456",)"
          R"("name":"daily report","ip":"192.168.1.5","group":"trade","cron":"0/30 * * * * ?",)"
          R"("target":"t","params":"","mobile":"","remark":"",)"
          R"("createTime":"2019-07-25 15:05:40","startTime":"2019-07-25 15:05:41",)"
          R"("finishTime":"","times":0,"status":1,"result":""})")
          .value();
  EXPECT_EQ(rec.status, RunStatus::kRunning);
  EXPECT_FALSE(IsFinal(rec.status));
  EXPECT_EQ(rec.finish_time, "");
}

TEST(ExecutionRecordTest, WritesTheOriginalFieldsForOldReaders) {
  const json j = json::parse(ExecutionRecord::FromJson(kOriginalRecord).value().ToJson());
  const json original = json::parse(kOriginalRecord);
  for (const auto& [field, value] : original.items()) EXPECT_EQ(j[field], value) << field;
  EXPECT_EQ(j["status"], -1);  // a number, as the original reads it
  EXPECT_FALSE(j.contains("durationMs"));
  EXPECT_FALSE(j.contains("exitCode"));
  EXPECT_FALSE(j.contains("startedAt"));
}

TEST(ExecutionRecordTest, EveryFieldRoundTrips) {
  ExecutionRecord rec;
  rec.run = Full();
  rec.start_time = "2026-01-01 08:00:31";
  rec.finish_time = "2026-01-01 08:00:33";
  rec.times = 2;
  rec.status = RunStatus::kSuccess;
  rec.result = "ok";
  rec.duration_ms = 2345;
  rec.exit_code = 0;
  rec.output = "line 1\nline 2\n";
  rec.started_at = At("2026-01-01T00:00:31.004Z");
  const std::string text = rec.ToJson();
  const ExecutionRecord back = ExecutionRecord::FromJson(text).value();
  EXPECT_EQ(back.run.ToJson(), rec.run.ToJson());
  EXPECT_EQ(back.run.scheduled_time, rec.run.scheduled_time);
  EXPECT_EQ(back.run.trigger, Trigger::kFailover);
  EXPECT_EQ(back.run.attempt, 2);
  EXPECT_EQ(back.run.shard_index, 1);
  EXPECT_EQ(back.run.shard_total, 4);
  EXPECT_EQ(back.run.timeout_seconds, 600);
  EXPECT_EQ(back.start_time, rec.start_time);
  EXPECT_EQ(back.finish_time, rec.finish_time);
  EXPECT_EQ(back.times, 2);
  EXPECT_EQ(back.status, RunStatus::kSuccess);
  EXPECT_EQ(back.result, "ok");
  EXPECT_EQ(back.duration_ms, 2345);
  EXPECT_EQ(back.exit_code, 0);
  EXPECT_EQ(back.output, rec.output);
  EXPECT_EQ(back.started_at, rec.started_at);
  EXPECT_TRUE(back.run.extra.empty());
  EXPECT_EQ(back.ToJson(), text);

  const json j = json::parse(text);
  EXPECT_EQ(j["durationMs"], 2345);
  EXPECT_EQ(j["exitCode"], 0);
  EXPECT_EQ(j["startedAt"], "2026-01-01T00:00:31.004Z");
  EXPECT_EQ(j["status"], 2);
}

TEST(ExecutionRecordTest, EveryStatusRoundTrips) {
  for (const RunStatus s :
       {RunStatus::kRunning, RunStatus::kSuccess, RunStatus::kUnknown, RunStatus::kError}) {
    ExecutionRecord rec;
    rec.status = s;
    EXPECT_EQ(ExecutionRecord::FromJson(rec.ToJson()).value().status, s);
  }
}

TEST(ExecutionRecordTest, NegativeExitCodeAndAbsentOptionalsStayApart) {
  ExecutionRecord rec;
  rec.exit_code = -9;
  const ExecutionRecord back = ExecutionRecord::FromJson(rec.ToJson()).value();
  EXPECT_EQ(back.exit_code, -9);
  EXPECT_EQ(back.duration_ms, std::nullopt);
  EXPECT_EQ(ExecutionRecord::FromJson(R"({"durationMs":null})").value().duration_ms, std::nullopt);
}

TEST(ExecutionRecordTest, UnknownFieldsGoToTheRunAndAreWrittenBack) {
  std::string text = std::string(kOriginalRecord);
  text.pop_back();
  text += R"(,"host":"box-1","retryOf":"x"})";
  ExecutionRecord rec = ExecutionRecord::FromJson(text).value();
  EXPECT_EQ(rec.run.extra, json::parse(R"({"host":"box-1","retryOf":"x"})"));
  rec.status = RunStatus::kUnknown;
  const json j = json::parse(rec.ToJson());
  EXPECT_EQ(j["host"], "box-1");
  EXPECT_EQ(j["retryOf"], "x");
  EXPECT_EQ(j["status"], 3);
}

TEST(ExecutionRecordTest, AssignmentFieldsInTheRunDoNotShadowTheRecord) {
  // An assignment read from a record's JSON keeps the record fields as
  // extra; the record's own values win when it is written.
  ExecutionRecord rec;
  rec.run = Assignment::FromJson(kOriginalRecord).value();
  EXPECT_EQ(rec.run.extra["status"], -1);
  rec.status = RunStatus::kSuccess;
  rec.result = "done";
  const json j = json::parse(rec.ToJson());
  EXPECT_EQ(j["status"], 2);
  EXPECT_EQ(j["result"], "done");
}

class RecordParseErrorTest : public ::testing::TestWithParam<BadDoc> {};

TEST_P(RecordParseErrorTest, NamesTheField) {
  const auto rec = ExecutionRecord::FromJson(GetParam().json);
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(rec.status()), GetParam().field);
  if (*GetParam().message != '\0') {
    EXPECT_EQ(std::string(rec.status().message()), GetParam().message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RecordParseErrorTest,
    ::testing::Values(
        BadDoc{"[]", "", "expected a JSON object"},
        BadDoc{R"({"status":4})", "status",
               "status: 4 is not 1 (running), 2 (success), 3 (unknown) or -1 (error)"},
        BadDoc{R"({"status":0})", "status",
               "status: 0 is not 1 (running), 2 (success), 3 (unknown) or -1 (error)"},
        BadDoc{R"({"status":"2"})", "status", "status: expected a whole number"},
        BadDoc{R"({"times":"3"})", "times", "times: expected a whole number"},
        BadDoc{R"({"startTime":1564038341})", "startTime", "startTime: expected a string"},
        BadDoc{R"({"result":{}})", "result", "result: expected a string"},
        BadDoc{R"({"durationMs":1.5})", "durationMs", "durationMs: expected a whole number"},
        BadDoc{R"({"exitCode":"0"})", "exitCode", "exitCode: expected a whole number"},
        BadDoc{R"({"output":[]})", "output", "output: expected a string"},
        BadDoc{R"({"startedAt":"2026-13-01T00:00:00Z"})", "startedAt", ""},
        BadDoc{R"({"attempt":-1})", "attempt", "attempt: must be at least 1"}));

}  // namespace
}  // namespace forest::model

namespace forest::model {
namespace {

// Regression: a process's output is bytes, not always UTF-8; writing the
// record must not throw (it would take the worker down).
TEST(SnapshotTest, OutputThatIsNotUtf8IsWrittenReplaced) {
  ExecutionRecord record;
  record.run.id = "r1";
  record.output = std::string("ok \xff\xfe end");
  record.result = std::string("\xc3");
  const std::string text = record.ToJson();
  const ExecutionRecord back = ExecutionRecord::FromJson(text).value();
  EXPECT_EQ(back.output, "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(back.result, "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace forest::model
