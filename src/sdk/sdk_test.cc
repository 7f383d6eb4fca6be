// forest::Worker on the embedded store (through sdk::WorkerAccess): what a
// handler sees, what its record says, cancellation, and the API's errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "coord/embedded/embedded_store.h"
#include "coord/testing/watch_recorder.h"
#include "forest/worker.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "sdk/internal.h"

namespace forest::sdk {
namespace {

namespace keys = model::keys;
using coord::testing::WaitUntil;
using std::chrono::milliseconds;
using std::chrono::seconds;

// What a handler saw, copied out of its JobContext.
struct Seen {
  std::string job_id, execution_id, target, params, group, worker, trigger;
  int shard_index = -1, shard_total = -1, attempt = -1;
  std::chrono::system_clock::time_point scheduled;
  seconds timeout{-1};
};

class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = coord::EmbeddedStore::Open({}).value(); }

  static forest::WorkerOptions Options() {
    forest::WorkerOptions options;
    options.groups = {"g"};
    options.name = "w1";
    options.lease_ttl = seconds(1);
    options.handle_signals = false;
    return options;
  }

  model::Assignment Assign(std::string id, std::string target, std::string params = "",
                           int64_t timeout = 0) {
    model::Assignment a;
    a.id = std::move(id);
    a.job_id = "j1";
    a.name = "job";
    a.group = "g";
    a.ip = "w1";
    a.target = std::move(target);
    a.params = std::move(params);
    a.attempt = 2;
    a.shard_index = 3;
    a.shard_total = 5;
    a.trigger = model::Trigger::kRetry;
    a.scheduled_time = ParseIso8601("2026-01-01T00:00:30.250Z", TimeZone::Utc()).value();
    a.timeout_seconds = timeout;
    store_->Put({keys::Snapshot("g", "w1", a.id), a.ToJson(), 0, false}).value();
    return a;
  }

  std::optional<model::ExecutionRecord> Record(const std::string& id) {
    coord::RangeRequest r;
    r.key = keys::Execute("g", "w1", id);
    auto response = store_->Range(r).value();
    if (response.kvs.empty()) return std::nullopt;
    return model::ExecutionRecord::FromJson(response.kvs[0].value).value();
  }
  // The final record of run `id`, waited for.
  model::ExecutionRecord Final(const std::string& id, milliseconds limit = milliseconds(5000)) {
    std::optional<model::ExecutionRecord> record;
    const bool done = WaitUntil(
        [&] {
          record = Record(id);
          return record && model::IsFinal(record->status);
        },
        limit);
    EXPECT_TRUE(done) << "run " << id << " did not finish";
    return record.value_or(model::ExecutionRecord{});
  }

  std::unique_ptr<coord::EmbeddedStore> store_;
};

TEST_F(SdkTest, HandlerSeesTheRunAndItsResultIsRecorded) {
  forest::Worker worker(Options());
  std::mutex mu;
  Seen seen;
  worker.Handle("trade.daily", [&](forest::JobContext& ctx) {
    std::lock_guard lock(mu);
    seen = {ctx.job_id(),      ctx.execution_id(), ctx.target(),         ctx.params(),
            ctx.group(),       ctx.worker_name(),  ctx.trigger(),        ctx.shard_index(),
            ctx.shard_total(), ctx.attempt(),      ctx.scheduled_time(), ctx.timeout()};
    return forest::JobResult::Success("done", 0);
  });
  WorkerAccess::StartOn(worker, *store_);
  EXPECT_TRUE(worker.running());
  EXPECT_EQ(worker.name(), "w1");
  Assign("r1", "trade.daily", R"({"date":"2026-01-01"})", /*timeout=*/60);

  const auto record = Final("r1");
  EXPECT_EQ(record.status, model::RunStatus::kSuccess);
  EXPECT_EQ(record.result, "done");
  EXPECT_EQ(record.exit_code, 0);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.job_id, "j1");
  EXPECT_EQ(seen.execution_id, "r1");
  EXPECT_EQ(seen.target, "trade.daily");
  EXPECT_EQ(seen.params, R"({"date":"2026-01-01"})");
  EXPECT_EQ(seen.group, "g");
  EXPECT_EQ(seen.worker, "w1");
  EXPECT_EQ(seen.trigger, "retry");
  EXPECT_EQ(seen.shard_index, 3);
  EXPECT_EQ(seen.shard_total, 5);
  EXPECT_EQ(seen.attempt, 2);
  EXPECT_EQ(seen.timeout, seconds(60));
  // 2026-01-01T00:00:30.250Z
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(seen.scheduled.time_since_epoch()).count(),
            1767225630250);
}

TEST_F(SdkTest, LogLinesReachTheRecordAndTheRunLog) {
  forest::WorkerOptions options = Options();
  options.log_dir = ::testing::TempDir() + "/forest-sdk-logs-" + std::to_string(::getpid());
  options.output_cap = 32;
  std::filesystem::remove_all(options.log_dir);
  forest::Worker worker(options);
  worker.Handle("talk", [](forest::JobContext& ctx) {
    ctx.log("first line");
    ctx.log() << "shard " << ctx.shard_index() << "/" << ctx.shard_total();
    std::thread([&ctx] { ctx.log("from a thread of the handler's"); }).join();
    ctx.log() << "last";
    return forest::JobResult::Failure();
  });
  WorkerAccess::StartOn(worker, *store_);
  Assign("r1", "talk");

  const auto record = Final("r1");
  EXPECT_EQ(record.status, model::RunStatus::kError);
  EXPECT_EQ(record.result, "failed");
  EXPECT_FALSE(record.exit_code.has_value());
  const std::string all = "first line\nshard 3/5\nfrom a thread of the handler's\nlast\n";
  EXPECT_EQ(record.output, all.substr(all.size() - 32));  // the end, output_cap bytes
  std::ifstream file(options.log_dir + "/g/j1/r1.log");
  const std::string logged((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(logged, all);
  std::filesystem::remove_all(options.log_dir);
}

TEST_F(SdkTest, AnExceptionBecomesAnErrorRecord) {
  forest::Worker worker(Options());
  worker.Handle("throws", [](forest::JobContext& ctx) -> forest::JobResult {
    ctx.log("about to fail");
    throw std::runtime_error("no quotes for 2026-01-01");
  });
  worker.Handle("throws.int", [](forest::JobContext&) -> forest::JobResult { throw 42; });
  WorkerAccess::StartOn(worker, *store_);
  Assign("r1", "throws");
  Assign("r2", "throws.int");

  const auto r1 = Final("r1");
  EXPECT_EQ(r1.status, model::RunStatus::kError);
  EXPECT_EQ(r1.result, "handler threw: no quotes for 2026-01-01");
  EXPECT_EQ(r1.output, "about to fail\n");
  const auto r2 = Final("r2");
  EXPECT_EQ(r2.status, model::RunStatus::kError);
  EXPECT_EQ(r2.result, "handler threw: an exception that is not a std::exception");
  EXPECT_TRUE(worker.running());  // the worker goes on
}

TEST_F(SdkTest, KillReachesTheHandlerAsCancellation) {
  forest::Worker worker(Options());
  std::atomic<bool> started{false};
  std::string reason_seen;
  worker.Handle("long", [&](forest::JobContext& ctx) {
    started = true;
    const bool cancelled = ctx.wait_cancelled(seconds(30));
    EXPECT_TRUE(ctx.cancelled());
    reason_seen = ctx.cancel_reason();
    return cancelled ? forest::JobResult::Failure("stopped early")
                     : forest::JobResult::Success("ran out the clock");
  });
  WorkerAccess::StartOn(worker, *store_);
  Assign("r1", "long");
  ASSERT_TRUE(WaitUntil([&] { return started.load(); }));
  store_->Put({keys::Kill("g", "w1", "r1"), R"({"reason":"replaced by the next run"})", 0, false})
      .value();

  const auto record = Final("r1");
  EXPECT_EQ(record.status, model::RunStatus::kError);
  EXPECT_EQ(record.result, "killed: replaced by the next run");
  EXPECT_NE(record.output.find("the handler answered: stopped early"), std::string::npos);
  EXPECT_EQ(reason_seen, "killed: replaced by the next run");
  EXPECT_EQ(WorkerAccess::Stats(worker).killed, 1);
}

TEST_F(SdkTest, TimeoutReachesTheHandlerAsCancellation) {
  forest::Worker worker(Options());
  worker.Handle("slow", [](forest::JobContext& ctx) {
    while (!ctx.cancelled()) std::this_thread::sleep_for(milliseconds(5));
    // Claims success, but the run was stopped: the record says so.
    return forest::JobResult::Success("finished anyway");
  });
  WorkerAccess::StartOn(worker, *store_);
  Assign("r1", "slow", "", /*timeout=*/1);

  const auto record = Final("r1", milliseconds(5000));
  EXPECT_EQ(record.status, model::RunStatus::kError);
  EXPECT_EQ(record.result, "timed out after 1 s");
}

TEST_F(SdkTest, AnUnregisteredTargetEndsAsAnError) {
  forest::Worker worker(Options());
  worker.Handle("known", [](forest::JobContext&) { return forest::JobResult::Success(); });
  WorkerAccess::StartOn(worker, *store_);
  Assign("r1", "unknown");
  Assign("r2", "known");

  const auto r1 = Final("r1");
  EXPECT_EQ(r1.status, model::RunStatus::kError);
  EXPECT_EQ(r1.result, "no executor on this worker takes target 'unknown'");
  const auto r2 = Final("r2");
  EXPECT_EQ(r2.status, model::RunStatus::kSuccess);
  EXPECT_EQ(r2.result, "success");
}

TEST_F(SdkTest, StopCancelsRunningHandlersAndEndsRun) {
  forest::Worker worker(Options());
  std::atomic<bool> started{false};
  worker.Handle("long", [&](forest::JobContext& ctx) {
    started = true;
    ctx.wait_cancelled(seconds(30));
    return forest::JobResult::Failure("interrupted");
  });
  WorkerAccess::StartOn(worker, *store_);
  std::thread run([&] { worker.Run(); });  // already started: only waits
  Assign("r1", "long");
  ASSERT_TRUE(WaitUntil([&] { return started.load(); }));
  worker.Stop(milliseconds(50));
  run.join();
  EXPECT_FALSE(worker.running());
  EXPECT_EQ(Record("r1")->result, "worker stopping");
  coord::RangeRequest r;
  r.key = keys::Client("g", "w1");
  EXPECT_TRUE(store_->Range(r).value().kvs.empty());  // deregistered
  worker.Run();                                       // stopped: returns at once
  worker.Stop();                                      // idempotent
}

TEST_F(SdkTest, RunStopsOnSigtermWhenAskedTo) {
  forest::WorkerOptions options = Options();
  options.handle_signals = true;
  forest::Worker worker(options);
  worker.Handle("x", [](forest::JobContext&) { return forest::JobResult::Success(); });
  WorkerAccess::StartOn(worker, *store_);
  // Until Run() installs its handler, SIGTERM must not end the test: ignore
  // it meanwhile (Run restores this on return), and send it until Run ends.
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGTERM, &ignore, &old), 0);
  std::atomic<bool> returned{false};
  std::thread killer([&] {
    while (!returned) {
      ::kill(::getpid(), SIGTERM);
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  worker.Run();
  returned = true;
  killer.join();
  EXPECT_FALSE(worker.running());
  struct sigaction now = {};
  sigaction(SIGTERM, &old, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN);  // Run put back what it found
}

TEST_F(SdkTest, MisuseThrowsWithAClearMessage) {
  const auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const forest::Error& e) {
      return e.what();
    }
    return "no exception";
  };
  forest::Worker empty(Options());
  EXPECT_EQ(message([&] { WorkerAccess::StartOn(empty, *store_); }),
            "forest::Worker: no handler registered: call Handle() before Start()");

  const auto ok = [](forest::JobContext&) { return forest::JobResult::Success(); };
  forest::WorkerOptions options = Options();
  options.groups.clear();
  forest::Worker no_groups(options);
  no_groups.Handle("a", ok);
  EXPECT_EQ(message([&] { WorkerAccess::StartOn(no_groups, *store_); }),
            "forest::Worker: invalid options: groups is empty: name at least one group");

  forest::Worker worker(Options());
  worker.Handle("a", ok);
  EXPECT_EQ(message([&] { worker.Handle("a", ok); }),
            "forest::Worker: Handle('a'): registered already");
  EXPECT_EQ(message([&] { worker.Handle("", ok); }), "forest::Worker: Handle(): empty target");
  WorkerAccess::StartOn(worker, *store_);
  EXPECT_EQ(message([&] { worker.Handle("b", ok); }),
            "forest::Worker: Handle() after Start(); register every handler first");

  forest::Worker twin(Options());  // the same name, held by a live worker
  twin.Handle("a", ok);
  const std::string taken = message([&] { WorkerAccess::StartOn(twin, *store_); });
  EXPECT_NE(taken.find("cannot start: worker name 'w1' is held"), std::string::npos) << taken;
  EXPECT_NE(taken.find("WorkerOptions::name"), std::string::npos) << taken;

  worker.Stop();
  EXPECT_EQ(message([&] { WorkerAccess::StartOn(worker, *store_); }),
            "forest::Worker: stopped; a Worker starts once (make a new one)");
}

TEST_F(SdkTest, UnreachableEtcdIsAClearError) {
  forest::WorkerOptions options = Options();
  options.etcd_endpoints = {"127.0.0.1:1"};
  options.etcd_dial_timeout = milliseconds(300);
  forest::Worker worker(options);
  worker.Handle("a", [](forest::JobContext&) { return forest::JobResult::Success(); });
  try {
    worker.Start();
    FAIL() << "started without etcd";
  } catch (const forest::Error& e) {
    EXPECT_NE(std::string(e.what()).find("forest::Worker: cannot connect to etcd (127.0.0.1:1)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(worker.running());
}

}  // namespace
}  // namespace forest::sdk
