// `forest worker` end to end: a real etcd, one `forest server` (the leader),
// real `forest worker` processes, jobs written to etcd as the API would, and
// the execution records read back. Covers shell output and run logs,
// timeouts that kill a whole process tree, kill keys, refused shell targets,
// HTTP targets against a local server, a worker SIGKILLed mid-run (unknown
// record, retry on the other worker), a SIGTERM drain, and a client of the
// original protocol written by hand from protocol.md driven by our server.
//
// One etcd and one server for the whole suite; every test has its own
// group, jobs, workers and temporary directory. Long-running job scripts
// append their process group id ($$) to the test's `pgids` file, so the
// teardown can kill what a SIGKILLed worker left behind.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/time_zone.h"
#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"
#include "coord/testing/watch_recorder.h"
#include "history/history.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "process.h"
#include "scheduler/run_request.h"

extern char** environ;

namespace forest {
namespace {

namespace fs = std::filesystem;
namespace keys = model::keys;
using model::ExecutionRecord;
using model::RunStatus;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

constexpr milliseconds kLimit{15000};

// Polls `cond` every 50 ms (these conditions read etcd) until it holds or
// `limit` passes.
bool Eventually(const std::function<bool()>& cond, milliseconds limit = kLimit) {
  return integration::Eventually(cond, limit);
}

using integration::ReadFile;
using integration::Tail;

// A child process (tests/integration/process.h), started at once.
class Child : public integration::Process {
 public:
  Child(std::vector<std::string> args, fs::path log) : Process(std::move(args), std::move(log)) {
    Start();
  }
};

// Dead: no such process, or a zombie nobody has reaped yet.
bool ProcessGone(pid_t pid) {
  waitpid(pid, nullptr, WNOHANG);  // ours (we are a subreaper): reap it
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  const std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

struct Found {
  std::string worker;
  ExecutionRecord record;
  coord::KeyValue kv;
};

class WorkerIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Orphans of the jobs (a SIGKILLed worker's, a killed shell's
    // background children) become our children, so they can be reaped and
    // checked for with kill(pid, 0).
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    auto cluster = coord::testing::EtcdCluster::Start(1);
    if (!cluster.ok()) {
      *setup_error_ = cluster.status();
      return;
    }
    cluster_ = cluster->release();
    coord::EtcdStoreOptions options;
    options.endpoints = {cluster_->endpoint(0)};
    auto store = coord::EtcdStore::Connect(options);
    if (!store.ok()) {
      *setup_error_ = store.status();
      return;
    }
    store_ = store->release();
    suite_dir_ =
        new fs::path(fs::temp_directory_path() / fmt::format("forest-worker-it-{}", ::getpid()));
    fs::create_directories(*suite_dir_);
    const int http_port = coord::testing::FreeLoopbackPorts(1).at(0);
    server_ = new Child(
        {FOREST_BINARY, "server", "--etcd-endpoints", cluster_->endpoint(0), "--node-id", "s1",
         "--lease-ttl", "2s", "--http-address", fmt::format("127.0.0.1:{}", http_port),
         "--data-dir", (*suite_dir_ / "s1-data").string()},
        *suite_dir_ / "s1.log");
    coord::RangeRequest leader;
    leader.key = "/forest/server/elect/leader";
    if (!Eventually([&] {
          auto r = store_->Range(leader);
          return r.ok() && !r->kvs.empty();
        })) {
      *setup_error_ = absl::UnavailableError("no leader within 15 s:\n" + Tail(server_->Log()));
    }
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete store_;
    store_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
    if (suite_dir_ != nullptr) {
      std::error_code ec;
      fs::remove_all(*suite_dir_, ec);
      delete suite_dir_;
      suite_dir_ = nullptr;
    }
  }

  void SetUp() override {
    if (!setup_error_->ok()) {
      if (setup_error_->code() == absl::StatusCode::kNotFound) {
        GTEST_SKIP() << "etcd is not installed: " << setup_error_->message();
      }
      FAIL() << "cannot set up: " << setup_error_->ToString();
    }
    dir_ = *suite_dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
  }

  void TearDown() override {
    if (store_ == nullptr || dir_.empty()) return;
    if (HasFailure()) {
      for (const auto& [name, worker] : workers_) {
        std::cout << "---- worker " << name << " log:\n" << Tail(worker->Log()) << "\n";
      }
      if (server_ != nullptr) std::cout << "---- server log:\n" << Tail(server_->Log()) << "\n";
    }
    workers_.clear();  // SIGKILL
    // What the jobs left running (a SIGKILLed worker's runs).
    std::istringstream pgids(ReadFile(dir_ / "pgids"));
    for (pid_t pgid; pgids >> pgid;) {
      if (pgid > 1) ::kill(-pgid, SIGKILL);
    }
    for (const std::string& job : jobs_) {
      coord::DeleteRequest del;
      del.key = keys::Conf(job);
      (void)store_->Delete(del);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts `forest worker` and waits until it has registered.
  Child& StartWorker(const std::string& group, const std::string& name, bool allow_shell = true,
                     const std::string& drain_timeout = "1s") {
    std::vector<std::string> args = {FOREST_BINARY,      "worker",
                                     "--etcd-endpoints", cluster_->endpoint(0),
                                     "--group",          group,
                                     "--name",           name,
                                     "--log-dir",        (dir_ / "logs").string(),
                                     "--spool-dir",      (dir_ / ("spool-" + name)).string(),
                                     "--lease-ttl",      "2s",
                                     "--kill-grace",     "1s",
                                     "--drain-timeout",  drain_timeout};
    if (allow_shell) args.push_back("--allow-shell");
    auto child = std::make_unique<Child>(args, dir_ / (name + ".log"));
    Child& ref = *child;
    workers_[name] = std::move(child);
    EXPECT_TRUE(ref.started());
    EXPECT_TRUE(Eventually([&] { return Exists(keys::Client(group, name)) || !ref.Running(); }));
    EXPECT_TRUE(Exists(keys::Client(group, name))) << "worker " << name << " did not register:\n"
                                                   << ref.Log();
    return ref;
  }

  static model::Job MakeJob(const std::string& id, const std::string& group,
                            const std::string& target) {
    model::Job job;
    job.id = id;
    job.name = id;
    job.group = group;
    job.cron = "0 0 0 1 1 ?";  // yearly: runs come from RequestRun
    job.target = target;
    return job;
  }
  void PutJob(const model::Job& job) {
    ASSERT_TRUE(job.Validate().ok()) << job.Validate().ToString();
    ASSERT_TRUE(store_->Put({keys::Conf(job.id), job.ToJson(), 0, false}).ok());
    jobs_.insert(job.id);
  }
  // A manual run; answers its snapshot id.
  static std::string RunNow(const std::string& job_id) {
    scheduler::RunRequest request;
    request.job_id = job_id;
    request.requested_by = "worker_integration_test";
    auto id = scheduler::RequestRun(*store_, SystemClock::Get(), request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  static bool Exists(const std::string& key) {
    coord::RangeRequest r;
    r.key = key;
    r.count_only = true;
    auto response = store_->Range(r);
    return response.ok() && response->count > 0;
  }

  // Every record of `group`: those still in etcd, and those the leader's
  // collector has moved into the history database (the server's SQLite
  // file), where a record goes once final.
  static std::vector<Found> Records(const std::string& group) {
    coord::RangeRequest r;
    r.key = std::string(keys::kExecutePrefix) + group + "/";
    r.range_end = coord::PrefixEnd(r.key);
    auto response = store_->Range(r);
    std::vector<Found> out;
    std::set<std::string> seen;
    if (response.ok()) {
      for (const coord::KeyValue& kv : response->kvs) {
        const auto parsed = keys::Parse(kv.key);
        auto record = ExecutionRecord::FromJson(kv.value);
        if (!parsed || parsed->kind != keys::Parsed::Kind::kExecute || !record.ok()) continue;
        seen.insert(record->run.id);
        out.push_back({std::string(parsed->b), *record, kv});
      }
    }
    history::DbUrl db;
    db.path = (*suite_dir_ / "s1-data" / "history.db").string();
    auto store = history::Open(db);
    if (!store.ok()) return out;
    history::Query q;
    q.group = group;
    q.page_size = 1000;
    auto page = (*store)->List(q);
    if (!page.ok()) return out;
    for (const history::Execution& row : page->rows) {
      if (seen.contains(row.record.run.id)) continue;
      auto full = (*store)->Get(row.record.run.id);  // with its output
      if (!full.ok()) continue;
      coord::KeyValue kv;
      kv.key = keys::Execute(group, full->worker, full->record.run.id);
      kv.value = full->record.ToJson();
      out.push_back({full->worker, full->record, kv});
    }
    return out;
  }
  static std::optional<Found> Record(const std::string& group, const std::string& id) {
    for (Found& f : Records(group)) {
      if (f.record.run.id == id) return f;
    }
    return std::nullopt;
  }
  // Waits for the record of run `id` to satisfy `pred`.
  static std::optional<Found> WaitRecord(const std::string& group, const std::string& id,
                                         const std::function<bool(const ExecutionRecord&)>& pred,
                                         milliseconds limit = kLimit) {
    std::optional<Found> found;
    Eventually(
        [&] {
          found = Record(group, id);
          return found && pred(found->record);
        },
        limit);
    if (found && !pred(found->record)) {
      ADD_FAILURE() << "record of " << id << " is still " << found->kv.value;
      return std::nullopt;
    }
    if (!found) ADD_FAILURE() << "no record of " << id << " in group " << group;
    return found;
  }
  static bool IsFinalRecord(const ExecutionRecord& r) { return model::IsFinal(r.status); }
  static bool IsRunning(const ExecutionRecord& r) { return r.status == RunStatus::kRunning; }

  std::string Pgids() const { return (dir_ / "pgids").string(); }

  static coord::testing::EtcdCluster* cluster_;
  static coord::Store* store_;
  static Child* server_;
  static fs::path* suite_dir_;
  static absl::Status* setup_error_;

  fs::path dir_;
  std::map<std::string, std::unique_ptr<Child>> workers_;
  std::set<std::string> jobs_;
};

coord::testing::EtcdCluster* WorkerIntegrationTest::cluster_ = nullptr;
coord::Store* WorkerIntegrationTest::store_ = nullptr;
Child* WorkerIntegrationTest::server_ = nullptr;
fs::path* WorkerIntegrationTest::suite_dir_ = nullptr;
absl::Status* WorkerIntegrationTest::setup_error_ = new absl::Status();

// 1. A cron job every second: its output reaches the record, the whole
// output the run log.
TEST_F(WorkerIntegrationTest, ShellOutputReachesTheRecordAndTheLog) {
  const std::string group = "g-shell";
  StartWorker(group, "w1");
  model::Job job = MakeJob("echo1", group, "sh: echo hello-$FOREST_JOB_ID");
  job.cron = "* * * * * ?";
  PutJob(job);

  std::optional<Found> done;
  ASSERT_TRUE(Eventually([&] {
    for (Found& f : Records(group)) {
      if (f.record.run.job_id == job.id && IsFinalRecord(f.record)) {
        done = f;
        return true;
      }
    }
    return false;
  })) << "no finished run of a job firing every second";
  (void)store_->Delete({keys::Conf(job.id), "", false});

  const ExecutionRecord& r = done->record;
  EXPECT_EQ(done->worker, "w1");
  EXPECT_EQ(r.status, RunStatus::kSuccess) << done->kv.value;
  EXPECT_EQ(r.run.trigger, model::Trigger::kCron);
  EXPECT_NE(r.output.find("hello-echo1"), std::string::npos) << r.output;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.result, "exit 0");
  EXPECT_FALSE(r.start_time.empty());
  EXPECT_FALSE(r.finish_time.empty());
  EXPECT_GE(r.times, 0);
  ASSERT_TRUE(r.duration_ms.has_value()) << done->kv.value;
  EXPECT_GE(*r.duration_ms, 0);
  EXPECT_LT(*r.duration_ms, 10000);
  // startedAt travels in etcd; the history keeps start_time (and created_at).
  if (done->kv.version != 0) {
    EXPECT_TRUE(r.started_at.has_value());
  }
  EXPECT_EQ(r.run.ip, "w1");
  ASSERT_TRUE(r.run.scheduled_time.has_value());

  // The leader's collector stores the final record in the history
  // database, then removes it from etcd.
  EXPECT_TRUE(Eventually([&] {
    if (Exists(keys::Execute(group, "w1", r.run.id))) return false;
    history::DbUrl db;
    db.path = (*suite_dir_ / "s1-data" / "history.db").string();
    auto store = history::Open(db);
    if (!store.ok()) return false;
    auto row = (*store)->Get(r.run.id);
    return row.ok() && row->record.status == RunStatus::kSuccess &&
           row->record.output.find("hello-echo1") != std::string::npos && row->leader_node == "s1";
  })) << "the record of "
      << r.run.id << " was not collected into the history";

  const fs::path log = dir_ / "logs" / group / job.id / (r.run.id + ".log");
  ASSERT_TRUE(fs::exists(log)) << log;
  EXPECT_NE(ReadFile(log).find("hello-echo1"), std::string::npos) << ReadFile(log);
}

// 2. timeoutSeconds kills the whole process tree, a grandchild that
// ignores SIGTERM included (SIGKILL after --kill-grace).
TEST_F(WorkerIntegrationTest, TimeoutKillsTheWholeProcessTree) {
  const std::string group = "g-timeout";
  StartWorker(group, "w1");
  const fs::path pid_file = dir_ / "grandchild";
  model::Job job = MakeJob(
      "slow1", group,
      fmt::format("sh: echo $$ >> {}; sh -c 'trap \"\" TERM; sleep 30 & echo $! > {}; wait'; "
                  "echo unreachable",
                  Pgids(), pid_file.string()));
  job.timeout_seconds = 1;
  PutJob(job);
  const std::string id = RunNow(job.id);

  const auto done = WaitRecord(group, id, IsFinalRecord);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->record.status, RunStatus::kError) << done->kv.value;
  EXPECT_NE(done->record.result.find("timed out"), std::string::npos) << done->record.result;
  EXPECT_EQ(done->record.output.find("unreachable"), std::string::npos);
  ASSERT_TRUE(done->record.duration_ms.has_value());
  EXPECT_LT(*done->record.duration_ms, 8000);

  pid_t grandchild = 0;
  std::istringstream(ReadFile(pid_file)) >> grandchild;
  ASSERT_GT(grandchild, 1) << "the job did not get to start its grandchild";
  EXPECT_TRUE(Eventually([&] { return ProcessGone(grandchild); }, milliseconds(5000)))
      << "grandchild " << grandchild << " survived the timeout";
}

// 3. A kill key stops a running job; the worker deletes the key.
TEST_F(WorkerIntegrationTest, KillKeyStopsARunningJob) {
  const std::string group = "g-kill";
  StartWorker(group, "w1");
  PutJob(MakeJob("long1", group, fmt::format("sh: echo $$ >> {}; sleep 30", Pgids())));
  const std::string id = RunNow("long1");
  const auto running = WaitRecord(group, id, IsRunning);
  ASSERT_TRUE(running);
  ASSERT_EQ(running->worker, "w1");

  const std::string kill_key = keys::Kill(group, "w1", id);
  ASSERT_TRUE(store_->Put({kill_key, R"({"reason":"test"})", 0, false}).ok());
  const auto done = WaitRecord(group, id, IsFinalRecord);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->record.status, RunStatus::kError) << done->kv.value;
  EXPECT_NE(done->record.result.find("killed: test"), std::string::npos) << done->record.result;
  EXPECT_TRUE(Eventually([&] { return !Exists(kill_key); })) << "the kill key stayed";
}

// 4. Without --allow-shell a command target is refused and never run.
TEST_F(WorkerIntegrationTest, WithoutAllowShellCommandsAreRefused) {
  const std::string group = "g-noshell";
  StartWorker(group, "w1", /*allow_shell=*/false);
  const fs::path marker = dir_ / "ran";
  const fs::path marker2 = dir_ / "ran2";
  PutJob(MakeJob("touch1", group, "sh: touch " + marker.string()));
  PutJob(MakeJob("touch2", group, "touch " + marker2.string()));
  const std::string id1 = RunNow("touch1");
  const std::string id2 = RunNow("touch2");
  for (const std::string& id : {id1, id2}) {
    const auto done = WaitRecord(group, id, IsFinalRecord);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->record.status, RunStatus::kError) << done->kv.value;
    EXPECT_NE(done->record.result.find("refused"), std::string::npos) << done->record.result;
  }
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(marker2));
}

// 5. HTTP targets: 2xx succeeds, 500 fails, a request past the timeout fails.
TEST_F(WorkerIntegrationTest, HttpTargets) {
  httplib::Server http;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  http.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("all fine", "text/plain");
  });
  http.Get("/fail", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("boom", "text/plain");
  });
  http.Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, seconds(10), [&] { return released; });
    res.set_content("late", "text/plain");
  });
  const int port = http.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { http.listen_after_bind(); });
  struct Stop {
    std::function<void()> f;
    ~Stop() { f(); }
  } stop{[&] {
    {
      std::lock_guard lock(mu);
      released = true;
    }
    cv.notify_all();
    http.stop();
    serving.join();
  }};

  const std::string group = "g-http";
  StartWorker(group, "w1");
  const std::string base = fmt::format("http://127.0.0.1:{}", port);
  PutJob(MakeJob("http-ok", group, base + "/ok"));
  PutJob(MakeJob("http-fail", group, base + "/fail"));
  model::Job slow = MakeJob("http-slow", group, base + "/slow");
  slow.timeout_seconds = 1;
  PutJob(slow);
  const std::string ok = RunNow("http-ok");
  const std::string fail = RunNow("http-fail");
  const std::string late = RunNow("http-slow");

  const auto ok_done = WaitRecord(group, ok, IsFinalRecord);
  ASSERT_TRUE(ok_done);
  EXPECT_EQ(ok_done->record.status, RunStatus::kSuccess) << ok_done->kv.value;
  EXPECT_EQ(ok_done->record.result, "HTTP 200");
  EXPECT_EQ(ok_done->record.exit_code, 200);
  EXPECT_NE(ok_done->record.output.find("all fine"), std::string::npos);

  const auto fail_done = WaitRecord(group, fail, IsFinalRecord);
  ASSERT_TRUE(fail_done);
  EXPECT_EQ(fail_done->record.status, RunStatus::kError) << fail_done->kv.value;
  EXPECT_EQ(fail_done->record.result, "HTTP 500");
  EXPECT_EQ(fail_done->record.exit_code, 500);

  const auto late_done = WaitRecord(group, late, IsFinalRecord);
  ASSERT_TRUE(late_done);
  EXPECT_EQ(late_done->record.status, RunStatus::kError) << late_done->kv.value;
  EXPECT_NE(late_done->record.result.find("timed out"), std::string::npos)
      << late_done->record.result;
  ASSERT_TRUE(late_done->record.duration_ms.has_value());
  EXPECT_LT(*late_done->record.duration_ms, 8000);
}

// 6. A worker SIGKILLed mid-run: the leader marks its run unknown once the
// worker's lease expires, and the retry runs on the other worker.
TEST_F(WorkerIntegrationTest, SigkilledWorkerRunIsUnknownAndRetriedElsewhere) {
  const std::string group = "g-crash";
  StartWorker(group, "w1");
  StartWorker(group, "w2");
  model::Job job = MakeJob("crash1", group, fmt::format("sh: echo $$ >> {}; sleep 30", Pgids()));
  job.routing = model::Routing::kConsistentHash;
  job.retry.max_attempts = 2;
  job.retry.backoff_seconds = 0;
  PutJob(job);
  const std::string id = RunNow(job.id);

  const auto running = WaitRecord(group, id, IsRunning);
  ASSERT_TRUE(running);
  const std::string victim = running->worker;
  const std::string other = victim == "w1" ? "w2" : "w1";
  ASSERT_TRUE(workers_.contains(victim)) << victim;
  const auto killed_at = Steady::now();
  workers_.at(victim)->Kill();

  const auto lost = WaitRecord(group, id, IsFinalRecord);
  ASSERT_TRUE(lost);
  std::cout << "marked unknown "
            << std::chrono::duration_cast<milliseconds>(Steady::now() - killed_at).count()
            << " ms after the SIGKILL (lease 2 s)\n";
  EXPECT_EQ(lost->worker, victim);
  EXPECT_EQ(lost->record.status, RunStatus::kUnknown) << lost->kv.value;

  auto key = model::ParseSnapshotId(id);
  ASSERT_TRUE(key.ok()) << id;
  key->attempt = 2;
  const std::string retry_id = model::SnapshotId(*key);
  const auto retry = WaitRecord(group, retry_id, [](const ExecutionRecord&) { return true; });
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->worker, other);
  EXPECT_EQ(retry->record.run.attempt, 2);
  EXPECT_EQ(retry->record.run.trigger, model::Trigger::kRetry);
  EXPECT_NE(retry->record.status, RunStatus::kError) << retry->kv.value;
}

// 7. SIGTERM drains: the registration goes at once, the running job
// finishes, the process exits 0.
TEST_F(WorkerIntegrationTest, SigtermDrainsRunningJobs) {
  const std::string group = "g-drain";
  Child& worker = StartWorker(group, "w1", true, "10s");
  PutJob(MakeJob("drain1", group, "sh: sleep 3; echo drained"));
  const std::string id = RunNow("drain1");

  // Every status the record goes through.
  coord::testing::WatchRecorder history;
  coord::WatchRequest watch;
  watch.key = keys::Execute(group, "w1", id);
  watch.start_revision = 1;
  auto handle = store_->Watch(watch, history.Callback());
  ASSERT_TRUE(handle.ok());

  ASSERT_TRUE(WaitRecord(group, id, IsRunning));
  const auto signalled = Steady::now();
  worker.Signal(SIGTERM);
  EXPECT_TRUE(Eventually([&] { return !Exists(keys::Client(group, "w1")); }, milliseconds(2000)))
      << "the client key outlived the SIGTERM by 2 s";
  std::cout << "client key gone "
            << std::chrono::duration_cast<milliseconds>(Steady::now() - signalled).count()
            << " ms after SIGTERM\n";

  const auto exited = worker.WaitExit(kLimit);
  ASSERT_TRUE(exited.has_value()) << "the worker did not exit";
  EXPECT_TRUE(WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << "wait status " << *exited;
  const auto done = WaitRecord(
      group, id, [](const ExecutionRecord& r) { return r.status == RunStatus::kSuccess; });
  ASSERT_TRUE(done);
  EXPECT_NE(done->record.output.find("drained"), std::string::npos) << done->record.output;

  std::vector<int> statuses;
  for (const coord::WatchEvent& e : history.events()) {
    if (e.type != coord::WatchEvent::Type::kPut) continue;
    if (auto r = ExecutionRecord::FromJson(e.kv.value); r.ok()) {
      statuses.push_back(static_cast<int>(r->status));
    }
  }
  std::cout << "record statuses during the drain: " << fmt::format("{}", fmt::join(statuses, " "))
            << "\n";
}

// A drained run is not lost: the worker deregisters first (worker.h) but
// goes on running it, so the leader must not mark it unknown nor retry it
// elsewhere. Fails today (see the report): the leader treats the deleted
// client key as a lost worker, writes status 3, and a retry runs the job a
// second time on w2 while w1 is still running it. Disabled until fixed; run
// it with --gtest_also_run_disabled_tests.
TEST_F(WorkerIntegrationTest, DrainedRunIsNeitherUnknownNorRetried) {
  const std::string group = "g-drain-retry";
  Child& worker = StartWorker(group, "w1", true, "10s");
  model::Job job = MakeJob("drain2", group, "sh: sleep 3; echo drained");
  job.retry.max_attempts = 2;
  PutJob(job);
  const std::string id = RunNow(job.id);
  coord::testing::WatchRecorder history;
  coord::WatchRequest watch;
  watch.key = keys::Execute(group, "w1", id);
  watch.start_revision = 1;
  auto handle = store_->Watch(watch, history.Callback());
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(WaitRecord(group, id, IsRunning));
  StartWorker(group, "w2");  // somewhere a retry could go
  worker.Signal(SIGTERM);
  ASSERT_TRUE(worker.WaitExit(kLimit).has_value());
  ASSERT_TRUE(WaitRecord(group, id, IsFinalRecord));
  for (const coord::WatchEvent& e : history.events()) {
    if (e.type != coord::WatchEvent::Type::kPut) continue;
    auto r = ExecutionRecord::FromJson(e.kv.value);
    ASSERT_TRUE(r.ok());
    EXPECT_NE(static_cast<int>(r->status), 3) << e.kv.value;
  }
  auto key = model::ParseSnapshotId(id);
  ASSERT_TRUE(key.ok());
  key->attempt = 2;
  const std::string retry_id = model::SnapshotId(*key);
  // A retry (backoff 0) would have been dispatched while the job still ran.
  EXPECT_FALSE(Record(group, retry_id).has_value()) << "the drained run was run again";
}

// 8. A client of the original protocol (protocol.md only): registers,
// watches its snapshots, writes the running record, deletes the snapshot,
// then writes the final record. No claim transaction, none of our fields.
class LegacyClient {
 public:
  LegacyClient(coord::Store& store, std::string group, std::string name)
      : store_(store), group_(std::move(group)), name_(std::move(name)) {
    lease_ = store_.GrantLease(seconds(2)).value().id;
    keeper_ = store_.KeepAlive(lease_, {}).value();
    store_.Put({keys::Client(group_, name_), name_, lease_, false}).value();
    coord::RangeRequest range;
    range.key = keys::SnapshotPrefix(group_, name_);
    range.range_end = coord::PrefixEnd(range.key);
    const coord::RangeResponse pending = store_.Range(range).value();
    for (const coord::KeyValue& kv : pending.kvs) queue_.push_back(kv);
    coord::WatchRequest watch;
    watch.key = range.key;
    watch.range_end = range.range_end;
    watch.start_revision = pending.revision + 1;
    watch_ = store_
                 .Watch(watch,
                        [this](coord::WatchUpdate update) {
                          std::lock_guard lock(mu_);
                          for (coord::WatchEvent& e : update.events) {
                            if (e.type == coord::WatchEvent::Type::kPut) {
                              queue_.push_back(std::move(e.kv));
                            }
                          }
                          cv_.notify_all();
                        })
                 .value();
    thread_ = std::thread([this] { Loop(); });
  }
  ~LegacyClient() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    watch_.reset();
    keeper_.reset();
    (void)store_.RevokeLease(lease_);
  }
  int completed() {
    std::lock_guard lock(mu_);
    return completed_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  void Loop() {
    while (true) {
      coord::KeyValue kv;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        kv = std::move(queue_.front());
        queue_.pop_front();
      }
      Handle(kv);
    }
  }
  void Fail(std::string what) {
    std::lock_guard lock(mu_);
    errors_.push_back(std::move(what));
  }
  void Handle(const coord::KeyValue& kv) {
    // What a Go client unmarshals into its JobSnapshot: the original's
    // fields, all strings; anything else is ignored.
    const auto snapshot = nlohmann::json::parse(kv.value, nullptr, false);
    if (!snapshot.is_object()) return Fail("snapshot is not a JSON object: " + kv.value);
    nlohmann::json record = nlohmann::json::object();
    for (const char* field : {"id", "jobId", "name", "ip", "group", "cron", "target", "params",
                              "mobile", "remark", "createTime"}) {
      if (!snapshot.contains(field)) {
        record[field] = "";
      } else if (!snapshot[field].is_string()) {
        return Fail(fmt::format("snapshot field {} is not a string: {}", field, kv.value));
      } else {
        record[field] = snapshot[field];
      }
    }
    const std::string id = record["id"].get<std::string>();
    const std::string key = keys::Execute(group_, name_, id);
    const Time start = SystemClock::Get().Now();
    record["startTime"] = model::FormatLegacyTime(start, TimeZone::Local());
    record["finishTime"] = "";
    record["times"] = 0;
    record["status"] = 1;
    record["result"] = "";
    if (!store_.Put({key, record.dump(), 0, false}).ok()) return Fail("cannot write " + key);
    coord::DeleteRequest del;
    del.key = kv.key;
    if (!store_.Delete(del).ok()) return Fail("cannot delete " + kv.key);
    // The handler runs here (instantly).
    const Time end = SystemClock::Get().Now();
    record["status"] = 2;
    record["result"] = "ok";
    record["finishTime"] = model::FormatLegacyTime(end, TimeZone::Local());
    record["times"] = std::chrono::duration_cast<seconds>(end - start).count();
    if (!store_.Put({key, record.dump(), 0, false}).ok()) return Fail("cannot finish " + key);
    std::lock_guard lock(mu_);
    ++completed_;
  }

  coord::Store& store_;
  const std::string group_, name_;
  coord::LeaseId lease_ = 0;
  std::unique_ptr<coord::LeaseKeeper> keeper_;
  std::unique_ptr<coord::WatchHandle> watch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<coord::KeyValue> queue_;
  bool stop_ = false;
  int completed_ = 0;
  std::vector<std::string> errors_;
  std::thread thread_;
};

TEST_F(WorkerIntegrationTest, ClientOfTheOriginalProtocol) {
  const std::string group = "g2";
  // Every assignment ever written to the group.
  coord::testing::WatchRecorder assignments;
  coord::WatchRequest all;
  all.key = std::string(keys::kSnapshotPrefix) + group + "/";
  all.range_end = coord::PrefixEnd(all.key);
  all.start_revision = 1;
  auto assignment_watch = store_->Watch(all, assignments.Callback());
  ASSERT_TRUE(assignment_watch.ok());

  LegacyClient client(*store_, group, "legacy");
  model::Job job = MakeJob("legacy1", group, "legacyHandler");
  job.cron = "* * * * * ?";
  PutJob(job);
  ASSERT_TRUE(Eventually([&] { return client.completed() >= 4; }))
      << "completed " << client.completed();
  ASSERT_TRUE(store_->Delete({keys::Conf(job.id), "", false}).ok());
  // Whatever was dispatched before the job went is taken and finished.
  const std::string snapshots = keys::SnapshotPrefix(group, "legacy");
  EXPECT_TRUE(Eventually([&] {
    coord::RangeRequest r;
    r.key = snapshots;
    r.range_end = coord::PrefixEnd(r.key);
    r.count_only = true;
    auto response = store_->Range(r);
    if (!response.ok() || response->count != 0) return false;
    for (const Found& f : Records(group)) {
      if (!IsFinalRecord(f.record)) return false;
    }
    return true;
  })) << "snapshots or running records left";
  EXPECT_TRUE(client.errors().empty()) << fmt::format("{}", fmt::join(client.errors(), "\n"));

  // Each scheduled second exactly once, no gaps.
  coord::RangeRequest head;
  head.key = keys::Conf(job.id);
  const coord::Revision now = store_->Range(head).value().revision;
  (void)assignments.WaitForRevision(now, milliseconds(2000));
  std::map<Time, int> per_second;
  for (const coord::WatchEvent& e : assignments.events()) {
    if (e.type != coord::WatchEvent::Type::kPut) continue;
    auto a = model::Assignment::FromJson(e.kv.value);
    ASSERT_TRUE(a.ok()) << e.kv.value;
    auto key = model::ParseSnapshotId(a->id);
    ASSERT_TRUE(key.ok()) << a->id;
    EXPECT_EQ(key->job_id, job.id);
    EXPECT_EQ(a->ip, "legacy");
    ++per_second[key->scheduled];
  }
  ASSERT_GE(per_second.size(), 4u);
  for (Time t = per_second.begin()->first; t <= per_second.rbegin()->first; t += seconds(1)) {
    EXPECT_EQ(per_second[t], 1) << FormatIso8601(t);
  }

  // Every record: the client's two writes only (the server never rewrote
  // one), status 2, and the snapshot gone.
  std::set<Time> recorded;
  for (const Found& f : Records(group)) {
    EXPECT_EQ(f.worker, "legacy");
    EXPECT_EQ(f.record.status, RunStatus::kSuccess) << f.kv.value;
    // Still in etcd (not collected yet): written by the client only.
    if (f.kv.version != 0) {
      EXPECT_EQ(f.kv.version, 2) << f.kv.key << " was written " << f.kv.version << " times";
    }
    EXPECT_FALSE(Exists(keys::Snapshot(group, "legacy", f.record.run.id))) << f.record.run.id;
    auto key = model::ParseSnapshotId(f.record.run.id);
    ASSERT_TRUE(key.ok());
    EXPECT_TRUE(recorded.insert(key->scheduled).second) << "two records for " << f.record.run.id;
  }
  EXPECT_EQ(recorded.size(), per_second.size());
  std::cout << per_second.size() << " scheduled seconds, each dispatched and completed once\n";
}

}  // namespace
}  // namespace forest
