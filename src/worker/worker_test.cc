// The worker runtime on the embedded store with executors of the test's:
// registration, claims, records, kill, timeout, capacity, drain, spool.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "coord/embedded/embedded_store.h"
#include "coord/testing/forwarding_store.h"
#include "coord/testing/watch_recorder.h"
#include "model/keys.h"

namespace forest::worker {
namespace {

namespace keys = model::keys;
using coord::testing::WaitUntil;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs "ok:<text>" (success, output text), "fail:<text>", "block" (until
// cancelled), "throw".
class TestExecutor final : public Executor {
 public:
  std::string_view name() const override { return "test"; }
  bool Accepts(const model::Assignment& a) const override { return a.target != "nobody"; }
  Outcome Run(const Execution& e, CancelToken& cancel) override {
    ++started;
    const std::string& t = e.assignment.target;
    Outcome o;
    if (t.starts_with("ok:")) {
      o.success = true;
      o.exit_code = 0;
      o.result = "exit 0";
      o.output = t.substr(3);
    } else if (t.starts_with("fail:")) {
      o.exit_code = 3;
      o.result = "exit 3";
      o.output = t.substr(5);
    } else if (t == "block") {
      cancel.WaitFor(milliseconds(60000));
      o.result = cancel.reason();
    } else if (t == "throw") {
      throw std::runtime_error("boom");
    }
    return o;
  }
  std::atomic<int> started{0};
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = coord::EmbeddedStore::Open({}).value(); }

  std::unique_ptr<Worker> StartWorker(std::string name, WorkerOptions options = {},
                                      coord::Store* store = nullptr) {
    options.groups = {"g"};
    options.name = std::move(name);
    options.lease_ttl = seconds(1);
    auto executor = std::make_unique<TestExecutor>();
    executor_ = executor.get();
    std::vector<std::unique_ptr<Executor>> executors;
    executors.push_back(std::move(executor));
    return Worker::Start(store ? *store : *store_, options, std::move(executors)).value();
  }

  void Assign(std::string worker, std::string id, std::string target, int64_t timeout = 0) {
    model::Assignment a;
    a.id = std::move(id);
    a.job_id = "j1";
    a.name = "job";
    a.group = "g";
    a.ip = worker;
    a.target = std::move(target);
    a.params = "p=1";
    a.attempt = 2;
    a.trigger = model::Trigger::kRetry;
    a.scheduled_time = ParseIso8601("2026-01-01T00:00:30Z", TimeZone::Utc()).value();
    a.timeout_seconds = timeout;
    store_->Put({keys::Snapshot("g", worker, a.id), a.ToJson(), 0, false}).value();
  }

  std::optional<model::ExecutionRecord> Record(std::string worker, std::string id) {
    coord::RangeRequest r;
    r.key = keys::Execute("g", worker, id);
    auto response = store_->Range(r).value();
    if (response.kvs.empty()) return std::nullopt;
    return model::ExecutionRecord::FromJson(response.kvs[0].value).value();
  }
  bool Final(std::string worker, std::string id) {
    auto r = Record(worker, id);
    return r && model::IsFinal(r->status);
  }
  size_t Count(std::string prefix) {
    coord::RangeRequest r;
    r.key = prefix;
    r.range_end = coord::PrefixEnd(prefix);
    r.count_only = true;
    return store_->Range(r).value().count;
  }

  std::unique_ptr<coord::EmbeddedStore> store_;
  TestExecutor* executor_ = nullptr;
};

TEST_F(WorkerTest, ClaimsRunsAndRecordsInTheOriginalsFormat) {
  auto w = StartWorker("w1");
  EXPECT_EQ(Count(keys::Client("g", "w1")), 1u);
  Assign("w1", "r1", "ok:hello");
  ASSERT_TRUE(WaitUntil([&] { return Final("w1", "r1"); }));
  const auto record = *Record("w1", "r1");
  EXPECT_EQ(record.status, model::RunStatus::kSuccess);
  EXPECT_EQ(record.result, "exit 0");
  EXPECT_EQ(record.output, "hello");
  EXPECT_EQ(record.exit_code, 0);
  EXPECT_EQ(record.run.ip, "w1");
  EXPECT_EQ(record.run.attempt, 2);
  EXPECT_EQ(record.run.trigger, model::Trigger::kRetry);
  EXPECT_TRUE(record.run.scheduled_time.has_value());
  EXPECT_FALSE(record.start_time.empty());
  EXPECT_FALSE(record.finish_time.empty());
  EXPECT_TRUE(record.duration_ms.has_value());
  EXPECT_EQ(Count(keys::SnapshotPrefix("g", "w1")), 0u);  // claimed: the assignment is gone
  EXPECT_EQ(Count("/forest/worker/claim/"), 1u);  // the claim stays, for an hour or two
  // Counted just after the record is written (the run's thread may not be there yet).
  EXPECT_TRUE(WaitUntil([&] { return w->stats().succeeded == 1; }));
}

TEST_F(WorkerTest, FailuresAndExceptionsAreErrors) {
  auto w = StartWorker("w1");
  Assign("w1", "r1", "fail:bad");
  Assign("w1", "r2", "throw");
  Assign("w1", "r3", "nobody");
  ASSERT_TRUE(WaitUntil([&] { return Final("w1", "r1") && Final("w1", "r2") && Final("w1", "r3"); }));
  EXPECT_EQ(Record("w1", "r1")->status, model::RunStatus::kError);
  EXPECT_EQ(Record("w1", "r1")->result, "exit 3");
  EXPECT_EQ(Record("w1", "r2")->result, "test executor failed: boom");
  EXPECT_EQ(Record("w1", "r3")->result, "no executor on this worker takes target 'nobody'");
}

TEST_F(WorkerTest, PicksUpWorkWrittenWhileAway) {
  Assign("w1", "early", "ok:");
  auto w = StartWorker("w1");
  EXPECT_TRUE(WaitUntil([&] { return Final("w1", "early"); }));
}

TEST_F(WorkerTest, RefusesANameHeldByALiveWorker) {
  auto w = StartWorker("w1");
  WorkerOptions options;
  options.groups = {"g"};
  options.name = "w1";
  options.lease_ttl = seconds(1);
  const auto start = std::chrono::steady_clock::now();
  auto second = Worker::Start(*store_, options, {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(second.status().message()).find("--name"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(4));
}

TEST_F(WorkerTest, KillStopsARunAndTheRequestGoes) {
  auto w = StartWorker("w1");
  Assign("w1", "r1", "block");
  ASSERT_TRUE(WaitUntil([&] { return w->stats().running == 1; }));
  store_->Put({keys::Kill("g", "w1", "r1"), R"({"reason":"replaced by the next run"})", 0, false})
      .value();
  ASSERT_TRUE(WaitUntil([&] { return Final("w1", "r1"); }));
  EXPECT_EQ(Record("w1", "r1")->status, model::RunStatus::kError);
  EXPECT_EQ(Record("w1", "r1")->result, "killed: replaced by the next run");
  EXPECT_TRUE(WaitUntil([&] { return Count(std::string(keys::kKillPrefix)) == 0; }));
  EXPECT_EQ(w->stats().killed, 1);
}

TEST_F(WorkerTest, TimeoutCancelsTheRun) {
  auto w = StartWorker("w1");
  Assign("w1", "r1", "block", /*timeout=*/1);
  ASSERT_TRUE(WaitUntil([&] { return Final("w1", "r1"); }, milliseconds(5000)));
  EXPECT_EQ(Record("w1", "r1")->result, "timed out after 1 s");
  EXPECT_EQ(w->stats().timed_out, 1);
}

TEST_F(WorkerTest, ClaimsNoMoreThanItsConcurrency) {
  WorkerOptions options;
  options.concurrency = 1;
  auto w = StartWorker("w1", options);
  Assign("w1", "r1", "block");
  Assign("w1", "r2", "block");
  ASSERT_TRUE(WaitUntil([&] { return w->stats().running == 1; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(w->stats().claimed, 1);
  EXPECT_EQ(Count(keys::SnapshotPrefix("g", "w1")), 1u);  // left for later (or the leader)
  store_->Put({keys::Kill("g", "w1", "r1"), "{}", 0, false}).value();
  EXPECT_TRUE(WaitUntil([&] { return w->stats().claimed == 2; }));
  w->Drain(milliseconds(0));
}

TEST_F(WorkerTest, DrainDeregistersWaitsThenStopsTheRest) {
  auto w = StartWorker("w1");
  Assign("w1", "r1", "block");
  ASSERT_TRUE(WaitUntil([&] { return w->stats().running == 1; }));
  const auto start = std::chrono::steady_clock::now();
  w->Drain(milliseconds(300));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_EQ(Count(keys::Client("g", "w1")), 0u);  // the leader can move work away
  ASSERT_TRUE(Final("w1", "r1"));
  EXPECT_EQ(Record("w1", "r1")->result, "worker stopping");
  Assign("w1", "r2", "ok:");
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(Record("w1", "r2").has_value());  // no more claims
}

TEST_F(WorkerTest, ARunWrittenToTwoWorkersRunsOnce) {
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  for (int i = 0; i < 20; ++i) {
    const std::string id = "dup" + std::to_string(i);
    Assign("w1", id, "ok:");
    Assign("w2", id, "ok:");
  }
  ASSERT_TRUE(WaitUntil([&] {
    return w1->stats().claimed + w2->stats().claimed + w1->stats().claim_conflicts +
               w2->stats().claim_conflicts ==
           40;
  }));
  EXPECT_EQ(w1->stats().claimed + w2->stats().claimed, 20);
}

// A store that can refuse writes, as an unreachable etcd would.
class FlakyStore final : public coord::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> down{false};
  absl::StatusOr<coord::PutResponse> Put(const coord::PutRequest& r) override {
    if (down) return absl::UnavailableError("etcd unreachable");
    return inner_.Put(r);
  }
  absl::StatusOr<coord::TxnResponse> Txn(const coord::TxnRequest& r) override {
    if (down) return absl::UnavailableError("etcd unreachable");
    return inner_.Txn(r);
  }
};

TEST_F(WorkerTest, FinalRecordsWaitOnDiskWhileTheStoreIsAway) {
  FlakyStore flaky(*store_);
  WorkerOptions options;
  options.spool_dir = ::testing::TempDir() + "/forest-spool-" + std::to_string(::getpid());
  std::filesystem::remove_all(options.spool_dir);
  auto w = StartWorker("w1", options, &flaky);
  Assign("w1", "r1", "block");
  // Claimed (not merely registered while its claim is in flight), then the
  // store goes away.
  ASSERT_TRUE(WaitUntil([&] { return w->stats().claimed == 1 && w->stats().running == 1; }));
  flaky.down = true;
  store_->Put({keys::Kill("g", "w1", "r1"), "{}", 0, false}).value();
  ASSERT_TRUE(WaitUntil([&] { return w->stats().running == 0; }));
  EXPECT_EQ(Record("w1", "r1")->status, model::RunStatus::kRunning);  // not written yet
  EXPECT_FALSE(std::filesystem::is_empty(options.spool_dir));
  flaky.down = false;
  ASSERT_TRUE(WaitUntil([&] { return Final("w1", "r1"); }));
  EXPECT_EQ(w->stats().spooled, 1);
  EXPECT_TRUE(std::filesystem::is_empty(options.spool_dir));
}

TEST_F(WorkerTest, ALostLeaseIsReplacedByANewRegistration) {
  auto w = StartWorker("w1");
  coord::RangeRequest r;
  r.key = keys::Client("g", "w1");
  const coord::LeaseId lease = store_->Range(r).value().kvs.at(0).lease;
  ASSERT_TRUE(store_->RevokeLease(lease).ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto kvs = store_->Range(r).value().kvs;
    return !kvs.empty() && kvs[0].lease != lease;
  }));
  Assign("w1", "after", "ok:");
  EXPECT_TRUE(WaitUntil([&] { return Final("w1", "after"); }));
}

}  // namespace
}  // namespace forest::worker

namespace forest::worker {
namespace {

// Applies a transaction, then answers as if its answer was lost (once, for
// the first claim it sees).
class LostAnswerStore final : public coord::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> armed{true};
  absl::StatusOr<coord::TxnResponse> Txn(const coord::TxnRequest& r) override {
    auto response = inner_.Txn(r);
    const bool claim = r.success.size() == 3;
    if (claim && armed.exchange(false)) return absl::UnknownError("connection reset");
    return response;
  }
};

// Regression (review): a claim that applied but whose answer was lost must
// still be run, not left "running" with nobody running it.
TEST_F(WorkerTest, AClaimWhoseAnswerIsLostStillRuns) {
  LostAnswerStore lossy(*store_);
  auto w = StartWorker("w1", {}, &lossy);
  Assign("w1", "r1", "ok:done");
  ASSERT_TRUE(WaitUntil([&] { return Final("w1", "r1"); }));
  EXPECT_EQ(Record("w1", "r1")->status, model::RunStatus::kSuccess);
  EXPECT_FALSE(lossy.armed);
}

// Lets the test end the worker's watches as a server would (compaction).
class EndableStore final : public coord::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<std::unique_ptr<coord::WatchHandle>> Watch(
      const coord::WatchRequest& r, std::function<void(coord::WatchUpdate)> callback) override {
    {
      std::lock_guard lock(mu);
      callbacks.push_back(callback);
    }
    return inner_.Watch(r, std::move(callback));
  }
  void EndAll() {
    std::vector<std::function<void(coord::WatchUpdate)>> all;
    {
      std::lock_guard lock(mu);
      all.swap(callbacks);
    }
    for (auto& cb : all) {
      coord::WatchUpdate end;
      end.ended = true;
      end.status = absl::AbortedError("canceled by the server");
      cb(end);
    }
  }
  std::mutex mu;
  std::vector<std::function<void(coord::WatchUpdate)>> callbacks;
};

// Regression (review): an ended watch is set up again, and the registration
// (lease) is left alone, so running work is not taken for lost.
TEST_F(WorkerTest, AnEndedWatchIsSetUpAgainWithoutReregistering) {
  EndableStore endable(*store_);
  auto w = StartWorker("w1", {}, &endable);
  coord::RangeRequest r;
  r.key = keys::Client("g", "w1");
  const coord::LeaseId lease = store_->Range(r).value().kvs.at(0).lease;
  endable.EndAll();
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(endable.mu);
    return endable.callbacks.size() >= 2;  // watched again
  }));
  Assign("w1", "after", "ok:");
  EXPECT_TRUE(WaitUntil([&] { return Final("w1", "after"); }));
  EXPECT_EQ(store_->Range(r).value().kvs.at(0).lease, lease);
}

// Regression (review): a final record never brings back a record that was
// collected meanwhile.
TEST_F(WorkerTest, ALateFinalRecordDoesNotRecreateACollectedOne) {
  auto w = StartWorker("w1");
  Assign("w1", "r1", "block");
  ASSERT_TRUE(WaitUntil([&] { return w->stats().running == 1 && Record("w1", "r1"); }));
  coord::DeleteRequest collect;
  collect.key = keys::Execute("g", "w1", "r1");
  store_->Delete(collect).value();
  store_->Put({keys::Kill("g", "w1", "r1"), "{}", 0, false}).value();
  ASSERT_TRUE(WaitUntil([&] { return w->stats().running == 0; }));
  EXPECT_FALSE(Record("w1", "r1").has_value());
}

}  // namespace
}  // namespace forest::worker
