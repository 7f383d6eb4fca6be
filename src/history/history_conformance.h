// Test support: the conformance suite's fixture and the backends it runs
// on. The suite (history_conformance_test.cc, stats_conformance_test.cc)
// is linked into each test binary with one
// definition of TestBackends(): SQLite in history_test, PostgreSQL and
// MariaDB (real servers, label db) in history_db_test.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/time_zone.h"
#include "history/history.h"
#include "history/soci_backend.h"

namespace forest::history {

struct TestBackend {
  std::string name;  // a test-name suffix: letters and digits
  // A database without Forest's or the original's tables (fresh for each
  // call); may start a server the first time.
  std::function<absl::StatusOr<DbUrl>()> fresh;
};

std::vector<TestBackend> TestBackends();

// A store that stores nothing and answers every call with success: for
// tests of options and wiring.
class NullHistory final : public HistoryStore {
 public:
  absl::Status Upsert(const std::vector<Execution>&) override { return absl::OkStatus(); }
  absl::Status Quarantine(std::string_view, std::string_view, std::string_view) override {
    return absl::OkStatus();
  }
  absl::StatusOr<Page> List(const Query&) override { return Page{}; }
  absl::StatusOr<Execution> Get(std::string_view) override { return Execution{}; }
  absl::StatusOr<int64_t> DeleteOlderThan(Time, int) override { return 0; }
  absl::StatusOr<std::vector<StatsRow>> Statistics(const StatsQuery&) override {
    return std::vector<StatsRow>{};
  }
  absl::StatusOr<Overview> Summary(Time) override { return Overview{}; }
};

inline Time At(std::string_view iso) { return ParseIso8601(iso, TimeZone::Utc()).value(); }

inline const Time kT0 = At("2026-03-01T08:00:00Z");

// A finished cron run of `job_id`, started `minutes` after kT0.
inline Execution MakeExecution(const std::string& id, const std::string& job_id, int minutes) {
  Execution e;
  model::ExecutionRecord& r = e.record;
  r.run.id = id;
  r.run.job_id = job_id;
  r.run.name = "name-" + job_id;
  r.run.group = "g1";
  r.run.cron = "0 * * * * ?";
  r.run.target = "echo hi";
  r.run.ip = "w1";
  r.run.create_time = "2026-03-01 08:00:00";
  r.started_at = kT0 + std::chrono::minutes(minutes);
  r.status = model::RunStatus::kSuccess;
  e.worker = "w1";
  e.leader_node = "node-a";
  return e;
}

inline std::vector<std::string> Ids(const Page& page) {
  std::vector<std::string> ids;
  for (const Execution& e : page.rows) ids.push_back(e.record.run.id);
  return ids;
}

class HistoryConformanceTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  void SetUp() override {
    auto url = GetParam().fresh();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }

  std::unique_ptr<HistoryStore> OpenStore() {
    auto store = Open(url_, clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string Scalar(const std::string& query) {
    auto value = internal::QueryScalar(url_, query);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : "";
  }

  Page ListOrDie(HistoryStore& store, const Query& q) {
    auto page = store.List(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : Page{};
  }

  DbUrl url_;
  FakeClock clock_{At("2026-03-02T00:00:00Z")};
};

}  // namespace forest::history
