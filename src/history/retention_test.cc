// Retention over a real SQLite store (history/retention.h).
#include "history/retention.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "history/history_conformance.h"

namespace forest::history {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "forest_retention_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
    url_ = ParseDbUrl("sqlite://" + path_).value();
    store_ = Open(url_, clock_).value();
  }

  // `n` executions started `age` before the clock's now, a second apart.
  void Add(const std::string& prefix, int n, std::chrono::hours age) {
    std::vector<Execution> batch;
    for (int i = 0; i < n; ++i) {
      Execution e = MakeExecution(prefix + std::to_string(i), "j", 0);
      e.record.started_at = clock_.Now() - age + std::chrono::seconds(i);
      batch.push_back(e);
    }
    ASSERT_TRUE(store_->Upsert(batch).ok());
  }

  int64_t Count() { return store_->List({}).value().total_count; }

  std::string path_;
  DbUrl url_;
  FakeClock clock_{At("2026-06-01T00:00:00Z")};
  std::unique_ptr<HistoryStore> store_;
};

TEST_F(RetentionTest, PruneDeletesEverythingOlderBatchByBatch) {
  Add("old", 2500, hours(24 * 31));
  Add("new", 10, hours(24 * 29));
  auto deleted = Retention::Prune(*store_, clock_.Now() - hours(24 * 30), 1000, milliseconds(0));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2500);
  EXPECT_EQ(Count(), 10);
  EXPECT_EQ(Retention::Prune(*store_, clock_.Now(), 0, milliseconds(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RetentionTest, RunsAtStartAndAgainEveryInterval) {
  Add("old", 30, hours(24 * 8));
  Add("keep", 5, hours(24 * 6));
  auto retention = Retention::Start(
      *store_, {.days = 7, .batch = 7, .interval = milliseconds(20), .clock = &clock_});
  ASSERT_TRUE(retention.ok()) << retention.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*retention)->stats().deleted < 30 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ((*retention)->stats().deleted, 30);
  EXPECT_EQ(Count(), 5);

  // Two days later the kept rows are old too; a later pass takes them.
  clock_.Advance(hours(48));
  while ((*retention)->stats().deleted < 35 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ((*retention)->stats().deleted, 35);
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ((*retention)->stats().errors, 0);
}

TEST_F(RetentionTest, StopInterruptsTheWait) {
  auto retention =
      Retention::Start(*store_, {.interval = std::chrono::minutes(10), .clock = &clock_});
  ASSERT_TRUE(retention.ok()) << retention.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*retention)->stats().passes < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  const auto start = std::chrono::steady_clock::now();
  (*retention)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ((*retention)->stats().passes, 1);
}

TEST_F(RetentionTest, AFailingPassIsCountedAndTheNextOneRetries) {
  ASSERT_TRUE(
      internal::ExecuteSql(url_, {"ALTER TABLE job_execute_snapshot RENAME TO moved"}).ok());
  auto retention =
      Retention::Start(*store_, {.days = 1, .interval = milliseconds(20), .clock = &clock_});
  ASSERT_TRUE(retention.ok()) << retention.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*retention)->stats().errors < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GE((*retention)->stats().errors, 2);
  EXPECT_NE((*retention)->stats().last_error.find("job_execute_snapshot"), std::string::npos)
      << (*retention)->stats().last_error;

  ASSERT_TRUE(
      internal::ExecuteSql(url_, {"ALTER TABLE moved RENAME TO job_execute_snapshot"}).ok());
  while (!(*retention)->stats().last_error.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ((*retention)->stats().last_error, "");
}

TEST(RetentionStartTest, RejectsBadOptions) {
  NullHistory history;
  for (const RetentionOptions& o :
       {RetentionOptions{.days = 0}, RetentionOptions{.days = 40000}, RetentionOptions{.batch = 0},
        RetentionOptions{.interval = milliseconds(0)}, RetentionOptions{.clock = nullptr}}) {
    auto r = Retention::Start(history, o);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  }
}

}  // namespace
}  // namespace forest::history
