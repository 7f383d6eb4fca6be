#include "model/alarm_rule.h"

#include <gtest/gtest.h>

#include "model/job.h"

namespace forest::model {
namespace {

using nlohmann::json;

TEST(AlarmRuleTest, ParsesEveryFieldAndWritesItBack) {
  const json in = json::parse(R"({"enabled": true, "onFailure": true, "onTimeout": false,
      "onUnknown": true, "onNoWorker": true, "onMisfire": true, "onRecovered": true,
      "onGroupEmpty": true, "onLeaderChange": false, "runningLongerThanSeconds": 3600,
      "groupWindowSeconds": 300, "channels": ["ops", "dev"], "future": {"x": 1}})");
  const AlarmRule rule = AlarmRule::FromJson(in, "alarm").value();
  EXPECT_EQ(rule.on_failure, true);
  EXPECT_EQ(rule.on_timeout, false);
  EXPECT_EQ(rule.running_longer_than_seconds, 3600);
  EXPECT_EQ(rule.group_window_seconds, 300);
  ASSERT_TRUE(rule.channels.has_value());
  EXPECT_EQ(*rule.channels, (std::vector<std::string>{"ops", "dev"}));
  EXPECT_TRUE(rule.Validate("alarm").ok());
  EXPECT_EQ(rule.ToJson(), in);  // unknown fields kept
}

TEST(AlarmRuleTest, UnsetFieldsStayUnsetAndAreNotWritten) {
  const AlarmRule rule = AlarmRule::FromJsonText(R"({"onFailure": true})", "").value();
  EXPECT_FALSE(rule.on_timeout.has_value());
  EXPECT_FALSE(rule.channels.has_value());
  EXPECT_EQ(rule.ToJson(), json::parse(R"({"onFailure": true})"));
  EXPECT_TRUE(AlarmRule{}.empty());
  EXPECT_FALSE(rule.empty());
}

TEST(AlarmRuleTest, ErrorsNameTheFieldWithItsPrefix) {
  struct Case {
    std::string json;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"onFailure": "yes"})", "alarm.onFailure"},
           {R"({"channels": "ops"})", "alarm.channels"},
           {R"({"channels": [1]})", "alarm.channels"},
           {R"({"runningLongerThanSeconds": "1h"})", "alarm.runningLongerThanSeconds"},
           {R"({"groupWindowSeconds": 1.5})", "alarm.groupWindowSeconds"},
       }) {
    const auto rule = AlarmRule::FromJsonText(c.json, "alarm");
    ASSERT_FALSE(rule.ok()) << c.json;
    EXPECT_EQ(ErrorField(rule.status()), c.field) << c.json;
  }
  for (const Case& c : std::vector<Case>{
           {R"({"runningLongerThanSeconds": -1})", "alarm.runningLongerThanSeconds"},
           {R"({"groupWindowSeconds": 90000})", "alarm.groupWindowSeconds"},
           {R"({"channels": [""]})", "alarm.channels"},
           {R"({"channels": ["a/b"]})", "alarm.channels"},
       }) {
    const auto rule = AlarmRule::FromJsonText(c.json, "alarm");
    ASSERT_TRUE(rule.ok()) << c.json;
    const absl::Status s = rule->Validate("alarm");
    EXPECT_EQ(ErrorField(s), c.field) << c.json;
  }
  EXPECT_EQ(ErrorField(AlarmRule::FromJson(json::array(), "alarm").status()), "alarm");
}

TEST(AlarmRuleTest, MergeTakesUnsetFieldsFromTheFallback) {
  AlarmRule job;
  job.channels = std::vector<std::string>{"mine"};
  job.on_timeout = false;
  AlarmRule group;
  group.on_failure = true;
  group.on_timeout = true;
  group.channels = std::vector<std::string>{"team"};
  group.group_window_seconds = 60;
  const AlarmRule merged = job.Merge(group);
  EXPECT_EQ(merged.on_failure, true);
  EXPECT_EQ(merged.on_timeout, false);                            // the job's own word wins
  EXPECT_EQ(*merged.channels, std::vector<std::string>{"mine"});  // replaced, not added
  EXPECT_EQ(merged.group_window_seconds, 60);
}

TEST(AlarmRuleTest, JobAlarmFieldRoundTripsAndIsValidated) {
  const std::string doc =
      R"({"id":"j1","name":"n","group":"g","cron":"* * * * * ?","target":"t",)"
      R"("mobile":"13800138000","alarm":{"onFailure":true,"channels":["ops"],"x":1}})";
  const Job job = Job::FromJson(doc).value();
  ASSERT_TRUE(job.alarm.has_value());
  EXPECT_EQ(job.alarm->on_failure, true);
  EXPECT_EQ(job.mobile, "13800138000");
  EXPECT_TRUE(job.Validate().ok()) << job.Validate();
  const json written = json::parse(job.ToJson());
  EXPECT_EQ(written["alarm"], json::parse(R"({"onFailure":true,"channels":["ops"],"x":1})"));
  EXPECT_FALSE(written.contains("x"));  // the unknown member stays inside `alarm`

  auto bad = Job::FromJson(
      R"({"id":"j1","name":"n","group":"g","cron":"* * * * * ?","target":"t","alarm":{"onTimeout":1}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorField(bad.status()), "alarm.onTimeout");
  Job invalid = job;
  invalid.alarm->group_window_seconds = -5;
  EXPECT_EQ(ErrorField(invalid.Validate()), "alarm.groupWindowSeconds");

  Job none = job;
  none.alarm.reset();
  EXPECT_FALSE(json::parse(none.ToJson()).contains("alarm"));
}

}  // namespace
}  // namespace forest::model
