// The collector on the embedded store, with a fake history database that
// records every Upsert and can be switched to fail.
#include "history/collector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "coord/embedded/embedded_store.h"
#include "history/history_conformance.h"
#include "metrics/testing/exposition.h"
#include "model/keys.h"

namespace forest::history {
namespace {

using std::chrono::milliseconds;
namespace keys = model::keys;

// Polls `cond` every 2 ms until it holds (true) or `limit` passes (false).
bool WaitUntil(const std::function<bool()>& cond, milliseconds limit = milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

class FakeHistory final : public HistoryStore {
 public:
  struct Quarantined {
    std::string key, value, reason;
  };
  using Hook = std::function<void(const std::vector<Execution>&)>;

  absl::Status Upsert(const std::vector<Execution>& batch) override {
    Hook hook;
    {
      std::lock_guard lock(mu_);
      if (fail_) {
        ++failed_;
        return absl::UnavailableError("database down");
      }
      for (const Execution& e : batch) {
        if (refuse_.count(e.record.run.id) > 0) {
          return absl::InternalError("value too long for " + e.record.run.id);
        }
      }
      std::set<std::string> ids;
      for (const Execution& e : batch) {
        EXPECT_TRUE(ids.insert(e.record.run.id).second)
            << "id twice in one batch: " << e.record.run.id;
        auto it = rows_.find(e.record.run.id);
        // As the real store: never back from final to running.
        if (it != rows_.end() && model::IsFinal(it->second.record.status) &&
            !model::IsFinal(e.record.status)) {
          continue;
        }
        rows_[e.record.run.id] = e;
      }
      upserts_.push_back(batch.size());
      hook = hook_;
    }
    if (hook) hook(batch);
    return absl::OkStatus();
  }
  absl::Status Quarantine(std::string_view key, std::string_view value,
                          std::string_view reason) override {
    std::lock_guard lock(mu_);
    if (fail_) {
      ++failed_;
      return absl::UnavailableError("database down");
    }
    quarantined_.push_back({std::string(key), std::string(value), std::string(reason)});
    return absl::OkStatus();
  }
  absl::StatusOr<Page> List(const Query&) override { return absl::UnimplementedError("fake"); }
  absl::StatusOr<Execution> Get(std::string_view) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<int64_t> DeleteOlderThan(Time, int) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::vector<StatsRow>> Statistics(const StatsQuery&) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<Overview> Summary(Time) override { return absl::UnimplementedError("fake"); }

  void SetFail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  // Upsert fails (not as a lost connection) for a batch holding this id.
  void Refuse(const std::string& id) {
    std::lock_guard lock(mu_);
    refuse_.insert(id);
  }
  void SetHook(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  std::map<std::string, Execution> rows() const {
    std::lock_guard lock(mu_);
    return rows_;
  }
  std::vector<size_t> upserts() const {
    std::lock_guard lock(mu_);
    return upserts_;
  }
  std::vector<Quarantined> quarantined() const {
    std::lock_guard lock(mu_);
    return quarantined_;
  }
  int failed() const {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  mutable std::mutex mu_;
  bool fail_ = false;
  int failed_ = 0;
  Hook hook_;
  std::set<std::string> refuse_;
  std::map<std::string, Execution> rows_;
  std::vector<size_t> upserts_;  // the size of each successful batch
  std::vector<Quarantined> quarantined_;
};

std::string RecordJson(std::string_view group, std::string_view worker, std::string_view id,
                       model::RunStatus status, std::string_view result = "") {
  model::ExecutionRecord record;
  record.run.id = std::string(id);
  record.run.job_id = "job1";
  record.run.name = "job one";
  record.run.group = std::string(group);
  record.run.ip = std::string(worker);
  record.status = status;
  record.result = std::string(result);
  return record.ToJson();
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = coord::EmbeddedStore::Open({}).value(); }
  void TearDown() override {
    collector_.reset();
    store_.reset();
  }

  // Creates the leader key for `node`; answers its token.
  coord::Revision BecomeLeader(std::string_view node = "n1") {
    coord::TxnRequest txn;
    txn.compare.push_back(coord::Compare::Absent(std::string(coord::kLeaderKey)));
    txn.success.push_back(
        coord::PutRequest{std::string(coord::kLeaderKey), std::string(node), 0, false});
    const coord::TxnResponse r = store_->Txn(txn).value();
    EXPECT_TRUE(r.succeeded);
    return r.revision;
  }

  Collector& StartCollector(CollectorOptions options = {}) {
    options.node_id = "n1";
    options.retry_min = milliseconds(10);
    options.retry_max = milliseconds(40);
    collector_ = Collector::Start(*store_, history_, std::move(options)).value();
    return *collector_;
  }

  coord::Revision Put(const std::string& key, const std::string& value) {
    return store_->Put(coord::PutRequest{key, value, 0, false}).value().revision;
  }
  coord::Revision PutRecord(std::string_view id, model::RunStatus status,
                            std::string_view result = "", std::string_view worker = "w1") {
    return Put(keys::Execute("g1", worker, id), RecordJson("g1", worker, id, status, result));
  }

  std::vector<coord::KeyValue> Records() {
    const std::string prefix(keys::kExecutePrefix);
    return store_->Range(coord::RangeRequest{prefix, coord::PrefixEnd(prefix), 0, 0, false, false})
        .value()
        .kvs;
  }

  std::unique_ptr<coord::EmbeddedStore> store_;
  FakeHistory history_;
  // Outlive the collector (TearDown stops it first).
  metrics::Registry registry_;
  CollectorProbe probe_{&registry_};
  std::unique_ptr<Collector> collector_;
};

TEST_F(CollectorTest, FinalRecordsAreStoredThenDeleted) {
  PutRecord("r1", model::RunStatus::kSuccess);  // before leading: read by the range
  Collector& c = StartCollector();
  c.Lead(BecomeLeader());
  PutRecord("r2", model::RunStatus::kError, "boom", "w2");
  PutRecord("r3", model::RunStatus::kUnknown);
  ASSERT_TRUE(WaitUntil(
      [&] { return Records().empty() && history_.rows().size() == 3 && c.stats().deleted == 3; }));

  const auto rows = history_.rows();
  EXPECT_EQ(rows.at("r1").record.status, model::RunStatus::kSuccess);
  EXPECT_EQ(rows.at("r2").record.status, model::RunStatus::kError);
  EXPECT_EQ(rows.at("r2").record.result, "boom");
  EXPECT_EQ(rows.at("r2").worker, "w2");
  EXPECT_EQ(rows.at("r1").worker, "w1");
  EXPECT_EQ(rows.at("r3").leader_node, "n1");
  const CollectorStats s = c.stats();
  EXPECT_TRUE(s.leading);
  EXPECT_EQ(s.deleted, 3);
  EXPECT_EQ(s.collected, 3);
  EXPECT_GE(s.batches, 1);
  EXPECT_EQ(s.db_errors, 0);
  EXPECT_FALSE(s.retrying);
}

TEST_F(CollectorTest, RunningRecordsAreKeptUntilFinal) {
  Collector& c = StartCollector();
  c.Lead(BecomeLeader());
  PutRecord("r1", model::RunStatus::kRunning);
  ASSERT_TRUE(WaitUntil([&] { return history_.rows().count("r1") == 1; }));
  EXPECT_EQ(history_.rows().at("r1").record.status, model::RunStatus::kRunning);
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_EQ(Records().size(), 1u);  // running: kept

  PutRecord("r1", model::RunStatus::kSuccess, "done");
  ASSERT_TRUE(WaitUntil([&] { return Records().empty() && c.stats().deleted == 1; }));
  EXPECT_EQ(history_.rows().at("r1").record.status, model::RunStatus::kSuccess);
  EXPECT_EQ(history_.rows().at("r1").record.result, "done");
  EXPECT_EQ(c.stats().deleted, 1);
}

TEST_F(CollectorTest, MalformedRecordsAreQuarantinedAndDeleted) {
  Collector& c = StartCollector();
  c.Lead(BecomeLeader());
  const std::string bad_json = keys::Execute("g1", "w1", "r1");
  const std::string bad_key = std::string(keys::kExecutePrefix) + "g1/w1";
  Put(bad_json, "{not json");
  Put(bad_key, RecordJson("g1", "w1", "r2", model::RunStatus::kSuccess));
  ASSERT_TRUE(WaitUntil([&] { return Records().empty() && c.stats().deleted == 2; }));

  const auto q = history_.quarantined();
  ASSERT_EQ(q.size(), 2u);
  std::map<std::string, FakeHistory::Quarantined> by_key;
  for (const auto& e : q) by_key[e.key] = e;
  EXPECT_EQ(by_key.at(bad_json).value, "{not json");
  EXPECT_FALSE(by_key.at(bad_json).reason.empty());
  EXPECT_EQ(by_key.count(bad_key), 1u);
  EXPECT_TRUE(history_.rows().empty());
  EXPECT_EQ(c.stats().quarantined, 2);
  EXPECT_EQ(c.stats().deleted, 2);
}

TEST_F(CollectorTest, RecordsTheDatabaseRefusesAreQuarantinedNotRetriedForever) {
  history_.Refuse("r3");
  Collector& c = StartCollector();
  for (int i = 1; i <= 5; ++i) PutRecord("r" + std::to_string(i), model::RunStatus::kSuccess);
  const std::string long_id(100, 'x');  // wider than the id column: never sent
  PutRecord(long_id, model::RunStatus::kSuccess);
  c.Lead(BecomeLeader());
  ASSERT_TRUE(WaitUntil([&] { return Records().empty(); }));
  const auto rows = history_.rows();
  EXPECT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.count("r3"), 0u);
  std::map<std::string, std::string> reasons;
  for (const auto& q : history_.quarantined()) reasons[q.key] = q.reason;
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_NE(reasons.at(keys::Execute("g1", "w1", "r3")).find("refused"), std::string::npos);
  EXPECT_NE(reasons.at(keys::Execute("g1", "w1", long_id)).find("longer than 64"),
            std::string::npos);
  EXPECT_EQ(c.stats().quarantined, 2);
  // Later records still flow.
  PutRecord("r6", model::RunStatus::kSuccess);
  ASSERT_TRUE(WaitUntil([&] { return history_.rows().count("r6") == 1 && Records().empty(); }));
}

TEST_F(CollectorTest, DatabaseDownDeletesNothingAndRetries) {
  history_.SetFail(true);
  Collector& c = StartCollector();
  c.Lead(BecomeLeader());
  for (int i = 0; i < 10; ++i) {
    PutRecord("r" + std::to_string(i),
              i % 2 == 0 ? model::RunStatus::kSuccess : model::RunStatus::kRunning);
  }
  Put(keys::Execute("g1", "w1", "bad"), "nope");
  ASSERT_TRUE(WaitUntil([&] { return c.stats().db_errors >= 3; }));
  EXPECT_TRUE(c.stats().retrying);
  EXPECT_EQ(Records().size(), 11u);  // nothing deleted
  EXPECT_TRUE(history_.rows().empty());
  EXPECT_EQ(c.stats().deleted, 0);

  // A running record finishes while the database is down.
  PutRecord("r1", model::RunStatus::kError);
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_EQ(Records().size(), 11u);

  history_.SetFail(false);
  // r3, r5, r7, r9 still run.
  ASSERT_TRUE(WaitUntil([&] {
    const CollectorStats s = c.stats();
    return Records().size() == 4 && s.deleted == 7 && s.pending == 0;
  }));
  const auto rows = history_.rows();
  EXPECT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows.at("r1").record.status, model::RunStatus::kError);
  EXPECT_EQ(rows.at("r3").record.status, model::RunStatus::kRunning);
  EXPECT_EQ(history_.quarantined().size(), 1u);
  const CollectorStats s = c.stats();
  EXPECT_FALSE(s.retrying);
  EXPECT_EQ(s.deleted, 7);  // r0, r1, r2, r4, r6, r8, bad
  EXPECT_GE(s.db_errors, 3);
  EXPECT_EQ(s.pending, 0u);
}

// on_stored (the alarms' source) hears of every stored row before its key
// goes, and its failure holds the keys back like the database's would: the
// batch is stored and told again.
TEST_F(CollectorTest, OnStoredHearsOfEveryRowBeforeItsKeyIsDeletedAndCanHoldItBack) {
  std::mutex mu;
  std::vector<std::string> told;
  std::atomic<int> refusals{2};
  CollectorOptions options;
  options.on_stored = [&](const std::vector<Execution>& rows) -> absl::Status {
    // Nothing told here is gone from the store yet.
    for (const Execution& e : rows) {
      const std::string key = keys::Execute("g1", e.worker, e.record.run.id);
      EXPECT_EQ(store_->Range(coord::RangeRequest::Single(key)).value().kvs.size(), 1u) << key;
    }
    if (refusals.fetch_sub(1) > 0) return absl::UnavailableError("alarm log down");
    std::lock_guard lock(mu);
    for (const Execution& e : rows) told.push_back(e.record.run.id);
    return absl::OkStatus();
  };
  Collector& c = StartCollector(std::move(options));
  c.Lead(BecomeLeader());
  PutRecord("r1", model::RunStatus::kError, "boom");
  ASSERT_TRUE(WaitUntil([&] { return Records().empty(); }));
  EXPECT_GE(c.stats().db_errors, 2);
  std::lock_guard lock(mu);
  EXPECT_EQ(told, std::vector<std::string>{"r1"});
}

TEST_F(CollectorTest, BatchesHoldAtMostMaxBatchRows) {
  // 1,000 records before leading: read by the range, two full batches.
  for (int base = 0; base < 1000; base += 100) {
    coord::TxnRequest txn;
    for (int i = base; i < base + 100; ++i) {
      const std::string id = "a" + std::to_string(i);
      txn.success.push_back(
          coord::PutRequest{keys::Execute("g1", "w1", id),
                            RecordJson("g1", "w1", id, model::RunStatus::kSuccess), 0, false});
    }
    ASSERT_TRUE(store_->Txn(txn).value().succeeded);
  }
  Collector& c = StartCollector();
  c.Lead(BecomeLeader());
  ASSERT_TRUE(WaitUntil([&] { return Records().empty(); }));
  EXPECT_EQ(history_.upserts(), (std::vector<size_t>{500, 500}));

  // 1,000 more through the watch.
  for (int base = 0; base < 1000; base += 100) {
    coord::TxnRequest txn;
    for (int i = base; i < base + 100; ++i) {
      const std::string id = "b" + std::to_string(i);
      txn.success.push_back(
          coord::PutRequest{keys::Execute("g1", "w2", id),
                            RecordJson("g1", "w2", id, model::RunStatus::kSuccess), 0, false});
    }
    ASSERT_TRUE(store_->Txn(txn).value().succeeded);
  }
  ASSERT_TRUE(WaitUntil([&] {
    return Records().empty() && history_.rows().size() == 2000 && c.stats().deleted == 2000;
  }));
  const auto upserts = history_.upserts();
  EXPECT_LE(upserts.size(), 30u);
  size_t total = 0;
  for (size_t n : upserts) {
    EXPECT_LE(n, 500u);
    total += n;
  }
  EXPECT_EQ(total, 2000u);
  EXPECT_EQ(c.stats().deleted, 2000);
  EXPECT_EQ(c.stats().collected, 2000);
}

TEST_F(CollectorTest, RecordRewrittenAfterUpsertIsNotDeleted) {
  const std::string key = keys::Execute("g1", "w1", "r1");
  std::atomic<bool> rewritten{false};
  history_.SetHook([&](const std::vector<Execution>& batch) {
    // Between the Upsert and the delete: the worker writes a newer version.
    if (rewritten) return;
    for (const Execution& e : batch) {
      if (e.record.run.id == "r1") {
        rewritten = true;
        Put(key, RecordJson("g1", "w1", "r1", model::RunStatus::kSuccess, "second"));
      }
    }
  });
  Collector& c = StartCollector();
  c.Lead(BecomeLeader());
  PutRecord("r1", model::RunStatus::kSuccess, "first");
  ASSERT_TRUE(WaitUntil([&] { return Records().empty() && c.stats().deleted == 1; }));
  EXPECT_TRUE(rewritten);
  EXPECT_EQ(history_.rows().at("r1").record.result, "second");
  EXPECT_EQ(history_.upserts().size(), 2u);
  EXPECT_EQ(c.stats().deleted, 1);
}

TEST_F(CollectorTest, NotLeadingDoesNothing) {
  Collector& c = StartCollector();
  PutRecord("r1", model::RunStatus::kSuccess);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(history_.upserts().empty());
  EXPECT_EQ(Records().size(), 1u);
  EXPECT_FALSE(c.stats().leading);

  // Leading, then demoted: what comes after is left alone.
  c.Lead(BecomeLeader());
  ASSERT_TRUE(WaitUntil([&] { return Records().empty(); }));
  c.Follow();
  ASSERT_TRUE(WaitUntil([&] { return !c.stats().leading; }));
  PutRecord("r2", model::RunStatus::kSuccess);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(history_.upserts().size(), 1u);
  EXPECT_EQ(Records().size(), 1u);
}

TEST_F(CollectorTest, FencedOutCollectorDeletesNothing) {
  std::atomic<int> fenced{0};
  CollectorOptions options;
  options.on_fenced_out = [&] { ++fenced; };
  Collector& c = StartCollector(std::move(options));
  const coord::Revision token = BecomeLeader();
  // Another node took over: the leader key was recreated.
  ASSERT_EQ(store_->Delete(coord::DeleteRequest{std::string(coord::kLeaderKey), "", false})
                .value()
                .deleted,
            1);
  BecomeLeader("n2");
  c.Lead(token);
  PutRecord("r1", model::RunStatus::kSuccess);
  PutRecord("r2", model::RunStatus::kError);
  ASSERT_TRUE(WaitUntil([&] { return fenced.load() == 1; }));
  EXPECT_EQ(Records().size(), 2u);
  const CollectorStats s = c.stats();
  EXPECT_FALSE(s.leading);
  EXPECT_EQ(s.deleted, 0);
  EXPECT_EQ(s.fenced_out, 1);
  // Stopped: later records are left alone.
  const size_t upserts = history_.upserts().size();
  PutRecord("r3", model::RunStatus::kSuccess);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(history_.upserts().size(), upserts);
  EXPECT_EQ(Records().size(), 3u);
}

TEST_F(CollectorTest, ProbeCountsFinishedByStatusBacklogWritesAndErrors) {
  history_.SetFail(true);
  CollectorOptions options;
  options.probe = &probe_;
  Collector& c = StartCollector(options);
  c.Lead(BecomeLeader());
  PutRecord("r1", model::RunStatus::kSuccess);
  PutRecord("r2", model::RunStatus::kError);
  PutRecord("r3", model::RunStatus::kUnknown);
  PutRecord("r4", model::RunStatus::kRunning);
  PutRecord("r5", model::RunStatus::kSuccess);
  Put(keys::Execute("g1", "w1", "bad"), "nope");
  const auto scrape = [&] {
    auto parsed = metrics::testing::ParseExposition(registry_.Render());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : metrics::testing::Exposition{};
  };
  // Down: the records wait in memory, nothing is finished yet.
  ASSERT_TRUE(WaitUntil([&] {
    const auto e = scrape();
    return e.Value("forest_collector_backlog") == 6 &&
           e.Value("forest_collector_write_errors_total") >= 2;
  }));
  EXPECT_EQ(scrape().Sum("forest_executions_finished_total"), 0);
  history_.SetFail(false);
  ASSERT_TRUE(WaitUntil([&] { return c.stats().deleted == 5 && c.stats().pending == 0; }));
  const auto e = scrape();
  EXPECT_EQ(e.Value("forest_executions_finished_total", {{"status", "success"}}), 2);
  EXPECT_EQ(e.Value("forest_executions_finished_total", {{"status", "error"}}), 1);
  EXPECT_EQ(e.Value("forest_executions_finished_total", {{"status", "unknown"}}), 1);
  EXPECT_EQ(e.Value("forest_collector_backlog"), 0);
  EXPECT_EQ(e.Value("forest_collector_rows_total"), 5);
  EXPECT_EQ(e.Value("forest_collector_quarantined_total"), 1);
  EXPECT_GE(e.Value("forest_collector_write_duration_seconds_count"), 3);
  // The running one finishes: counted once, even when stored again.
  PutRecord("r4", model::RunStatus::kSuccess);
  ASSERT_TRUE(WaitUntil([&] { return c.stats().deleted == 6; }));
  EXPECT_EQ(scrape().Value("forest_executions_finished_total", {{"status", "success"}}), 3);
}

TEST(InstrumentedHistoryTest, CountsCallsAndErrorsByOperation) {
  metrics::Registry registry;
  auto fake = std::make_unique<FakeHistory>();
  FakeHistory* raw = fake.get();
  InstrumentedHistory history(std::move(fake), &registry);
  Execution row;
  row.record.run.id = "r1";
  row.record.status = model::RunStatus::kSuccess;
  EXPECT_TRUE(history.Upsert({row}).ok());
  raw->SetFail(true);
  EXPECT_FALSE(history.Upsert({row}).ok());
  EXPECT_FALSE(history.List(Query{}).ok());  // the fake has no queries
  auto e = metrics::testing::ParseExposition(registry.Render());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Value("forest_history_requests_total", {{"op", "upsert"}}), 2);
  EXPECT_EQ(e->Value("forest_history_requests_total", {{"op", "list"}}), 1);
  EXPECT_EQ(e->Value("forest_history_requests_total", {{"op", "summary"}}), 0);
  EXPECT_EQ(e->Value("forest_history_errors_total", {{"op", "upsert"}, {"code", "unavailable"}}),
            1);
  EXPECT_EQ(e->Value("forest_history_errors_total", {{"op", "list"}, {"code", "unimplemented"}}),
            1);
  EXPECT_EQ(raw->rows().size(), 1u);
}

TEST(CollectorStartTest, RejectsBadOptions) {
  auto store = coord::EmbeddedStore::Open({}).value();
  NullHistory history;
  EXPECT_EQ(Collector::Start(*store, history, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  CollectorOptions options;
  options.node_id = "n1";
  options.max_batch = 0;
  EXPECT_EQ(Collector::Start(*store, history, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace forest::history
