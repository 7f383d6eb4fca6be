// The AuditLog contract on every backend (history_conformance.h).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "history/audit.h"
#include "history/history_conformance.h"

// Queries are written as designated initializers naming only the filters a
// case sets; the others keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace forest::history {
namespace {

using std::chrono::minutes;

AuditEntry Entry(std::string actor, std::string action, std::string type, std::string id, Time at) {
  AuditEntry e;
  e.at = at;
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.object_type = std::move(type);
  e.object_id = std::move(id);
  e.client_address = "10.0.0.7";
  return e;
}

std::vector<std::string> Actions(const AuditPage& page) {
  std::vector<std::string> out;
  for (const AuditEntry& e : page.rows) out.push_back(e.action);
  return out;
}

class AuditTest : public HistoryConformanceTest {
 protected:
  void SetUp() override {
    HistoryConformanceTest::SetUp();
    auto log = OpenAuditLog(url_, clock_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(log).value();
  }

  void Append(const AuditEntry& e) {
    const absl::Status s = log_->Append(e);
    ASSERT_TRUE(s.ok()) << s;
  }

  AuditPage ListOrDie(const AuditQuery& q) {
    auto page = log_->List(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : AuditPage{};
  }

  std::unique_ptr<AuditLog> log_;
};

TEST_P(AuditTest, RoundTripsEveryFieldNewestFirst) {
  AuditEntry created = Entry("alice", "job.create", "job", "j1", kT0);
  created.detail = R"({"name":"日报 \ud83d\ude00","cron":"0 * * * * ?"})";
  AuditEntry failed = Entry("", "login.failed", "user", "mallory", kT0 + minutes(2));
  failed.detail = R"({"reason":"invalid user name or password"})";
  failed.client_address = "[2001:db8::1]:51234";
  failed.ok = false;
  AuditEntry paused = Entry("bob", "job.pause", "job", "j1", kT0 + minutes(1));
  for (const AuditEntry& e : {created, failed, paused}) Append(e);

  const AuditPage page = ListOrDie({});
  EXPECT_EQ(page.total_count, 3);
  EXPECT_EQ(page.total_pages, 1);
  ASSERT_EQ(page.rows.size(), 3u);
  EXPECT_EQ(Actions(page), (std::vector<std::string>{"login.failed", "job.pause", "job.create"}));
  for (const AuditEntry& row : page.rows) EXPECT_GT(row.id, 0);
  EXPECT_NE(page.rows[0].id, page.rows[1].id);
  AuditEntry got = page.rows[2];
  got.id = 0;
  EXPECT_EQ(got, created);
  got = page.rows[0];
  got.id = 0;
  EXPECT_EQ(got, failed);
}

TEST_P(AuditTest, StampsTheClockWhenTheEntryHasNoTime) {
  AuditEntry e = Entry("alice", "user.create", "user", "bob", Time());
  Append(e);
  const AuditPage page = ListOrDie({});
  ASSERT_EQ(page.rows.size(), 1u);
  EXPECT_EQ(page.rows[0].at, clock_.Now());
  EXPECT_EQ(page.rows[0].detail, "");
}

TEST_P(AuditTest, FiltersAndPages) {
  Append(Entry("alice", "job.create", "job", "j1", kT0));
  Append(Entry("alice", "job.update", "job", "j1", kT0 + minutes(1)));
  Append(Entry("bob", "job.run", "job", "j2", kT0 + minutes(2)));
  Append(Entry("bob", "token.create", "token", "AbCdEfGh1234", kT0 + minutes(3)));
  Append(Entry("alice", "job.delete", "job", "j1", kT0 + minutes(4)));

  EXPECT_EQ(Actions(ListOrDie({.actor = "bob"})),
            (std::vector<std::string>{"token.create", "job.run"}));
  EXPECT_EQ(Actions(ListOrDie({.action = "job.update"})), (std::vector<std::string>{"job.update"}));
  EXPECT_EQ(Actions(ListOrDie({.object_type = "job", .object_id = "j1"})),
            (std::vector<std::string>{"job.delete", "job.update", "job.create"}));
  EXPECT_EQ(Actions(ListOrDie({.from = kT0 + minutes(1), .to = kT0 + minutes(3)})),
            (std::vector<std::string>{"job.run", "job.update"}));
  EXPECT_EQ(ListOrDie({.actor = "carol"}).total_count, 0);

  const AuditPage p1 = ListOrDie({.page_size = 2, .page_no = 1});
  EXPECT_EQ(p1.total_count, 5);
  EXPECT_EQ(p1.total_pages, 3);
  EXPECT_EQ(Actions(p1), (std::vector<std::string>{"job.delete", "token.create"}));
  EXPECT_EQ(Actions(ListOrDie({.page_size = 2, .page_no = 3})),
            (std::vector<std::string>{"job.create"}));
  EXPECT_TRUE(ListOrDie({.page_size = 2, .page_no = 4}).rows.empty());
}

TEST_P(AuditTest, EntriesAtOneInstantComeLatestAppendedFirst) {
  for (const char* action : {"a", "b", "c"}) Append(Entry("x", action, "", "", kT0));
  EXPECT_EQ(Actions(ListOrDie({})), (std::vector<std::string>{"c", "b", "a"}));
}

TEST_P(AuditTest, RejectsBadEntriesAndPages) {
  EXPECT_EQ(log_->Append(Entry("alice", "", "job", "j", kT0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Append(Entry(std::string(kMaxAuditActor + 1, 'a'), "x", "", "", kT0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Append(Entry("a", "x", "", std::string(kMaxAuditObjectId + 1, 'i'), kT0)).code(),
            absl::StatusCode::kInvalidArgument);
  // The limits themselves fit every backend's columns.
  AuditEntry widest =
      Entry(std::string(kMaxAuditActor, 'a'), std::string(kMaxAuditAction, 'b'),
            std::string(kMaxAuditObjectType, 'c'), std::string(kMaxAuditObjectId, 'd'), kT0);
  widest.client_address = std::string(kMaxAuditClientAddress, 'e');
  widest.detail = std::string(kMaxAuditDetail, 'f');
  Append(widest);
  AuditEntry got = ListOrDie({}).rows.at(0);
  got.id = 0;
  EXPECT_EQ(got, widest);

  EXPECT_EQ(log_->List({.page_size = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List({.page_size = 1001}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List({.page_no = 0}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(AuditTest, SharesTheDatabaseWithTheHistory) {
  Append(Entry("alice", "job.run", "job", "j", kT0));
  auto history = OpenStore();
  ASSERT_NE(history, nullptr);
  ASSERT_TRUE(history->Upsert({MakeExecution("e1", "j", 1)}).ok());
  EXPECT_EQ(ListOrDie({}).total_count, 1);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"),
            std::to_string(internal::kSchemaVersion));
}

// A database at schema version 3 gets the audit table from version 4, its
// executions kept.
TEST_P(AuditTest, VersionFourAddsTheTableToAVersionThreeDatabase) {
  log_.reset();
  {
    auto history = OpenStore();
    ASSERT_NE(history, nullptr);
    ASSERT_TRUE(history->Upsert({MakeExecution("e1", "j", 1)}).ok());
  }
  ASSERT_TRUE(internal::ExecuteSql(url_, {"DROP TABLE forest_audit",
                                          "DELETE FROM forest_schema_migrations WHERE version = 4"})
                  .ok());
  auto log = OpenAuditLog(url_, clock_);
  ASSERT_TRUE(log.ok()) << log.status();
  log_ = std::move(log).value();
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM forest_schema_migrations"),
            std::to_string(internal::kSchemaVersion));
  Append(Entry("alice", "job.run", "job", "j", kT0));
  EXPECT_EQ(ListOrDie({}).total_count, 1);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM job_execute_snapshot"), "1");
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest, ::testing::ValuesIn(TestBackends()),
                         [](const ::testing::TestParamInfo<TestBackend>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace forest::history
