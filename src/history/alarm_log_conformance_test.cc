// The AlarmLog contract on every backend (history_conformance.h).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "history/alarm_log.h"
#include "history/history_conformance.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace forest::history {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

AlarmDelivery Delivery(std::string channel) {
  AlarmDelivery d;
  d.channel_id = std::move(channel);
  d.channel_name = "name of " + d.channel_id;
  d.channel_type = "webhook";
  return d;
}

AlarmEntry Alarm(std::string id, std::string kind, std::string job, Time at,
                 std::vector<std::string> channels = {"ops"}) {
  AlarmEntry e;
  e.id = std::move(id);
  e.kind = std::move(kind);
  e.job_id = std::move(job);
  e.job_name = "name-" + e.job_id;
  e.group = "g1";
  e.execution_id = "20260301080000000-" + e.job_id;
  e.worker = "w1";
  e.title = "Job " + e.job_name + " failed";
  e.detail = R"({"result":"exit 1"})";
  e.first_at = e.last_at = at;
  e.created_at = at;
  e.leader_node = "node-a";
  for (std::string& c : channels) e.deliveries.push_back(Delivery(std::move(c)));
  return e;
}

class AlarmLogTest : public HistoryConformanceTest {
 protected:
  void SetUp() override {
    HistoryConformanceTest::SetUp();
    auto log = OpenAlarmLog(url_, clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(log).value();
  }

  bool Record(const AlarmEntry& e) {
    auto inserted = log_->Record(e);
    EXPECT_TRUE(inserted.ok()) << inserted.status();
    return inserted.ok() && *inserted;
  }
  std::vector<AlarmDelivery> Due(Time now, const std::string& owner, int limit = 100) {
    auto due = log_->Due(now, owner, limit);
    EXPECT_TRUE(due.ok()) << due.status();
    return due.ok() ? *due : std::vector<AlarmDelivery>{};
  }
  AlarmPage ListOrDie(const AlarmQuery& q) {
    auto page = log_->List(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : AlarmPage{};
  }
  static std::vector<std::string> Ids(const AlarmPage& page) {
    std::vector<std::string> ids;
    for (const AlarmEntry& e : page.rows) ids.push_back(e.id);
    return ids;
  }

  std::unique_ptr<AlarmLog> log_;
};

TEST_P(AlarmLogTest, RecordIsInsertedOnceByIdWithItsDeliveries) {
  AlarmEntry e = Alarm("a1", "failed", "j1", kT0, {"ops", "dev"});
  EXPECT_TRUE(Record(e));
  AlarmEntry again = e;
  again.title = "a second leader's copy";
  EXPECT_FALSE(Record(again));  // the same event: already there, unchanged
  const AlarmEntry got = log_->Get("a1").value();
  EXPECT_EQ(got.title, e.title);
  EXPECT_EQ(got.kind, "failed");
  EXPECT_EQ(got.job_id, "j1");
  EXPECT_EQ(got.group, "g1");
  EXPECT_EQ(got.execution_id, e.execution_id);
  EXPECT_EQ(got.detail, e.detail);
  EXPECT_EQ(got.count, 1);
  EXPECT_EQ(got.first_at, kT0);
  EXPECT_EQ(got.created_at, kT0);
  ASSERT_EQ(got.deliveries.size(), 2u);
  EXPECT_EQ(got.deliveries[0].channel_id, "dev");
  EXPECT_EQ(got.deliveries[0].state, DeliveryState::kPending);
  EXPECT_EQ(got.deliveries[0].attempts, 0);
  EXPECT_EQ(got.deliveries[0].channel_type, "webhook");
  EXPECT_FALSE(got.deliveries[0].sent_at.has_value());
  EXPECT_EQ(log_->Get("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(AlarmLogTest, RecordRefusesWhatNoBackendCouldStore) {
  EXPECT_EQ(log_->Record(Alarm("", "failed", "j", kT0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Record(Alarm(std::string(65, 'x'), "failed", "j", kT0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Record(Alarm("a", "failed", "j", kT0, {})).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Text is cut to its column, never refused.
  AlarmEntry long_title = Alarm("a2", "failed", "j", kT0);
  long_title.title = std::string(600, 'x');
  long_title.job_name = std::string(300, 'n');
  EXPECT_TRUE(Record(long_title));
  EXPECT_EQ(log_->Get("a2")->title.size(), 512u);
}

TEST_P(AlarmLogTest, ADeliveryIsClaimedOnceAndFinishedByItsOwner) {
  ASSERT_TRUE(Record(Alarm("a1", "failed", "j1", kT0)));
  std::vector<AlarmDelivery> due = Due(kT0, "node-a/7");
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].alarm_id, "a1");
  EXPECT_EQ(due[0].alarm_created_at, kT0);

  EXPECT_TRUE(log_->Claim(due[0], "node-a/7", kT0).value());
  // A second claim from the same view (another node, or a stale read) loses.
  EXPECT_FALSE(log_->Claim(due[0], "node-b/8", kT0).value());
  // Held by its owner: not due for it, due for another (a takeover).
  EXPECT_TRUE(Due(kT0, "node-a/7").empty());
  std::vector<AlarmDelivery> stranded = Due(kT0, "node-b/8");
  ASSERT_EQ(stranded.size(), 1u);
  EXPECT_EQ(stranded[0].state, DeliveryState::kSending);
  EXPECT_EQ(stranded[0].owner, "node-a/7");
  EXPECT_EQ(stranded[0].attempts, 1);

  // Only the owner records the outcome.
  EXPECT_FALSE(
      log_->Finish("a1", "ops", "node-b/8", DeliveryState::kSent, "", Time(), kT0).value());
  EXPECT_TRUE(
      log_->Finish("a1", "ops", "node-a/7", DeliveryState::kSent, "", Time(), kT0 + seconds(1))
          .value());
  EXPECT_TRUE(Due(kT0 + minutes(10), "node-b/8").empty());
  const AlarmDelivery d = log_->Get("a1")->deliveries.at(0);
  EXPECT_EQ(d.state, DeliveryState::kSent);
  EXPECT_EQ(d.sent_at, kT0 + seconds(1));
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(log_->Finish("a1", "ops", "node-a/7", DeliveryState::kSending, "", Time(), kT0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(AlarmLogTest, AFailedAttemptWaitsForItsRetryTimeThenFailsForGood) {
  ASSERT_TRUE(Record(Alarm("a1", "failed", "j1", kT0)));
  AlarmDelivery d = Due(kT0, "me").at(0);
  ASSERT_TRUE(log_->Claim(d, "me", kT0).value());
  ASSERT_TRUE(
      log_->Finish("a1", "ops", "me", DeliveryState::kPending, "HTTP 500", kT0 + seconds(30), kT0)
          .value());
  EXPECT_TRUE(Due(kT0 + seconds(29), "me").empty());
  d = Due(kT0 + seconds(30), "me").at(0);
  EXPECT_EQ(d.last_error, "HTTP 500");
  EXPECT_EQ(d.attempts, 1);
  ASSERT_TRUE(log_->Claim(d, "me", kT0 + seconds(30)).value());
  ASSERT_TRUE(log_->Finish("a1", "ops", "me", DeliveryState::kFailed, "HTTP 500 again", Time(),
                           kT0 + seconds(31))
                  .value());
  EXPECT_TRUE(Due(kT0 + minutes(60), "other").empty());
  const AlarmDelivery last = log_->Get("a1")->deliveries.at(0);
  EXPECT_EQ(last.state, DeliveryState::kFailed);
  EXPECT_EQ(last.attempts, 2);
  EXPECT_EQ(last.last_error, "HTTP 500 again");
}

TEST_P(AlarmLogTest, DueIsOldestFirstAndLimited) {
  ASSERT_TRUE(Record(Alarm("b", "failed", "j2", kT0 + minutes(1))));
  ASSERT_TRUE(Record(Alarm("a", "failed", "j1", kT0 + minutes(2))));
  ASSERT_TRUE(Record(Alarm("c", "failed", "j3", kT0)));
  const std::vector<AlarmDelivery> due = Due(kT0 + minutes(5), "me", 2);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].alarm_id, "c");
  EXPECT_EQ(due[1].alarm_id, "b");
}

TEST_P(AlarmLogTest, ListFiltersPagesAndShowsDeliveries) {
  ASSERT_TRUE(Record(Alarm("a1", "failed", "j1", kT0, {"ops"})));
  ASSERT_TRUE(Record(Alarm("a2", "timed_out", "j1", kT0 + minutes(1), {"ops", "dev"})));
  AlarmEntry other = Alarm("a3", "failed", "j2", kT0 + minutes(2), {"dev"});
  other.group = "g2";
  ASSERT_TRUE(Record(other));
  AlarmDelivery d = Due(kT0 + minutes(5), "me").at(0);  // a1/ops
  ASSERT_TRUE(log_->Claim(d, "me", kT0).value());
  ASSERT_TRUE(log_->Finish("a1", "ops", "me", DeliveryState::kSent, "", Time(), kT0).value());

  EXPECT_EQ(Ids(ListOrDie({})), (std::vector<std::string>{"a3", "a2", "a1"}));
  EXPECT_EQ(Ids(ListOrDie({.kind = "failed"})), (std::vector<std::string>{"a3", "a1"}));
  EXPECT_EQ(Ids(ListOrDie({.job_id = "j1"})), (std::vector<std::string>{"a2", "a1"}));
  EXPECT_EQ(Ids(ListOrDie({.group = "g2"})), (std::vector<std::string>{"a3"}));
  EXPECT_EQ(Ids(ListOrDie({.channel_id = "dev"})), (std::vector<std::string>{"a3", "a2"}));
  EXPECT_EQ(Ids(ListOrDie({.state = DeliveryState::kSent})), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(Ids(ListOrDie({.channel_id = "ops", .state = DeliveryState::kPending})),
            (std::vector<std::string>{"a2"}));
  EXPECT_EQ(Ids(ListOrDie({.from = kT0 + minutes(1), .to = kT0 + minutes(2)})),
            (std::vector<std::string>{"a2"}));

  const AlarmPage page = ListOrDie({.page_size = 2, .page_no = 2});
  EXPECT_EQ(page.total_count, 3);
  EXPECT_EQ(page.total_pages, 2);
  ASSERT_EQ(Ids(page), (std::vector<std::string>{"a1"}));
  ASSERT_EQ(page.rows[0].deliveries.size(), 1u);
  EXPECT_EQ(page.rows[0].deliveries[0].state, DeliveryState::kSent);
  const AlarmPage first = ListOrDie({.page_size = 2});
  ASSERT_EQ(first.rows.size(), 2u);
  EXPECT_EQ(first.rows[1].deliveries.size(), 2u);  // a2: ops and dev

  EXPECT_EQ(log_->List({.page_size = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List({.page_no = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ListOrDie({.page_no = 9}).rows.empty());
}

TEST_P(AlarmLogTest, ConditionsAreCreatedReplacedAndListedWhileOpen) {
  EXPECT_FALSE(log_->GetCondition("failing/j1").value().has_value());
  const AlarmCondition open{"failing/j1", true, 1, kT0};
  ASSERT_TRUE(log_->PutCondition(open).ok());
  ASSERT_TRUE(log_->PutCondition(open).ok());  // the same values again
  ASSERT_TRUE(log_->PutCondition({"group_empty/g1", true, 3, kT0}).ok());
  EXPECT_EQ(log_->GetCondition("failing/j1").value(), open);
  EXPECT_EQ(log_->OpenConditions().value().size(), 2u);
  ASSERT_TRUE(log_->PutCondition({"failing/j1", false, 1, kT0 + minutes(1)}).ok());
  const std::vector<AlarmCondition> still = log_->OpenConditions().value();
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(still[0].key, "group_empty/g1");
  EXPECT_EQ(still[0].episode, 3);
  EXPECT_EQ(log_->GetCondition("failing/j1").value()->open, false);
}

TEST_P(AlarmLogTest, OldAlarmsAreDeletedWithTheirDeliveries) {
  ASSERT_TRUE(Record(Alarm("old1", "failed", "j", kT0, {"ops", "dev"})));
  ASSERT_TRUE(Record(Alarm("old2", "failed", "j", kT0 + minutes(1))));
  ASSERT_TRUE(Record(Alarm("new", "failed", "j", kT0 + minutes(10))));
  EXPECT_EQ(log_->DeleteOlderThan(kT0 + minutes(5), 1).value(), 1);
  EXPECT_EQ(log_->DeleteOlderThan(kT0 + minutes(5), 10).value(), 1);
  EXPECT_EQ(log_->DeleteOlderThan(kT0 + minutes(5), 10).value(), 0);
  EXPECT_EQ(Ids(ListOrDie({})), std::vector<std::string>{"new"});
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_alarm_delivery"), "1");
}

// A database at schema version 4 gets the alarm tables from version 5.
TEST_P(AlarmLogTest, VersionFiveAddsTheTablesToAVersionFourDatabase) {
  log_.reset();
  ASSERT_TRUE(
      internal::ExecuteSql(url_, {"DROP TABLE forest_alarm", "DROP TABLE forest_alarm_delivery",
                                  "DROP TABLE forest_alarm_condition",
                                  "DELETE FROM forest_schema_migrations WHERE version = 5"})
          .ok());
  auto log = OpenAlarmLog(url_, clock_);
  ASSERT_TRUE(log.ok()) << log.status();
  log_ = std::move(log).value();
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"), "5");
  EXPECT_TRUE(Record(Alarm("a1", "failed", "j1", kT0)));
}

INSTANTIATE_TEST_SUITE_P(Backends, AlarmLogTest, ::testing::ValuesIn(TestBackends()),
                         [](const ::testing::TestParamInfo<TestBackend>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace forest::history
