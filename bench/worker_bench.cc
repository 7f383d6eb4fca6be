// One worker's executions per second and claim-to-start latency, against a
// real single-member etcd started for the run (EtcdCluster: data dir under
// $TMPDIR or /tmp, fsync on, as etcd always does), the worker on an
// EtcdStore of its own as in production. Prints one line per figure:
//   - executions/s through forest::Worker (the SDK, its public path) with a
//     no-op handler, and through the worker runtime with the shell executor
//     running /bin/true (allow_shell): N assignments written straight to
//     /forest/client/snapshot/{group}/{worker}/ in transactions of 100, timed
//     from the first write to the N-th final record (seen by a watch);
//   - claim-to-start latency, p50 and p99: one assignment at a time on an
//     idle worker, from the put to the moment the handler (for the shell:
//     the executor, before it forks) starts; covers watch delivery, the
//     claim transaction and the run's thread.
// Every record must be a success; the run fails otherwise.
// A full run takes about 15 s; --quick (the CTest smoke test) about 1 s.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/etcd/etcd_store.h"
#include "coord/testing/etcd_cluster.h"
#include "forest/worker.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "worker/shell_executor.h"
#include "worker/worker.h"

namespace forest {
namespace {

namespace keys = model::keys;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kBatch = 100;  // assignments per transaction (etcd allows 128 operations)
constexpr milliseconds kWaitLimit{120000};

struct Config {
  int sdk_executions = 5000;
  int shell_executions = 2000;
  int latency_samples = 300;
  int concurrency = 8;
};

double Millis(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}

// When each run started (handler or executor entered), by run id.
class StartTimes {
 public:
  void Record(const std::string& id) {
    const auto now = Steady::now();
    {
      std::lock_guard lock(mu_);
      starts_[id] = now;
    }
    cv_.notify_all();
  }
  std::optional<Steady::time_point> WaitFor(const std::string& id, milliseconds limit) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [&] { return starts_.contains(id); })) return std::nullopt;
    return starts_[id];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Steady::time_point> starts_;
};

// Counts the final records under one worker's execute prefix, as a watch
// delivers them.
class FinalRecords {
 public:
  static absl::StatusOr<std::unique_ptr<FinalRecords>> Watch(coord::Store& store,
                                                             const std::string& group,
                                                             const std::string& worker) {
    auto self = std::unique_ptr<FinalRecords>(new FinalRecords);
    coord::WatchRequest request;
    request.key = keys::Execute(group, worker, "");
    request.range_end = coord::PrefixEnd(request.key);
    ASSIGN_OR_RETURN(self->watch_, store.Watch(request, [raw = self.get()](coord::WatchUpdate u) {
      raw->OnUpdate(u);
    }));
    return self;
  }
  // Waits until `n` final records have arrived; when the last came.
  std::optional<Steady::time_point> WaitFor(int n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kWaitLimit, [&] { return final_ >= n; })) return std::nullopt;
    return last_;
  }
  int failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }
  std::string first_failure() {
    std::lock_guard lock(mu_);
    return first_failure_;
  }

 private:
  FinalRecords() = default;
  void OnUpdate(const coord::WatchUpdate& update) {
    const auto now = Steady::now();
    std::lock_guard lock(mu_);
    for (const coord::WatchEvent& e : update.events) {
      if (e.type != coord::WatchEvent::Type::kPut) continue;
      auto record = model::ExecutionRecord::FromJson(e.kv.value);
      if (!record.ok() || !model::IsFinal(record->status)) continue;
      ++final_;
      last_ = now;
      if (record->status != model::RunStatus::kSuccess) {
        if (failed_++ == 0) first_failure_ = record->run.id + ": " + record->result;
      }
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int final_ = 0;
  int failed_ = 0;
  std::string first_failure_;
  Steady::time_point last_;
  std::unique_ptr<coord::WatchHandle> watch_;
};

model::Assignment MakeAssignment(const std::string& group, const std::string& worker,
                                 const std::string& id, const std::string& target) {
  model::Assignment a;
  a.id = id;
  a.job_id = "bench";
  a.name = "bench";
  a.group = group;
  a.ip = worker;
  a.target = target;
  a.trigger = model::Trigger::kApi;
  return a;
}

// A worker under test: where its assignments go and what they run.
struct Subject {
  std::string label;
  std::string group;
  std::string worker;
  std::string target;
  StartTimes* starts;
};

struct Figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  size_t samples = 0;
};

absl::StatusOr<Figures> Measure(coord::EtcdStore& writer, const Subject& subject, int executions,
                                int latency_samples) {
  ASSIGN_OR_RETURN(auto finals, FinalRecords::Watch(writer, subject.group, subject.worker));
  Figures figures;
  // Throughput: everything written as fast as transactions go.
  const auto start = Steady::now();
  for (int first = 0; first < executions; first += kBatch) {
    coord::TxnRequest txn;
    for (int i = first; i < std::min(executions, first + kBatch); ++i) {
      const auto a =
          MakeAssignment(subject.group, subject.worker, fmt::format("t{}", i), subject.target);
      txn.success.push_back(coord::PutRequest{keys::Snapshot(subject.group, subject.worker, a.id),
                                              a.ToJson(), 0, false});
    }
    RETURN_IF_ERROR(writer.Txn(txn).status());
  }
  const auto last = finals->WaitFor(executions);
  if (!last)
    return absl::DeadlineExceededError(fmt::format("{}: not every run finished", subject.label));
  figures.per_second = executions / (Millis(*last - start) / 1000);

  // Latency: one at a time, the worker idle.
  std::vector<double> latencies;
  for (int i = 0; i < latency_samples; ++i) {
    const auto a =
        MakeAssignment(subject.group, subject.worker, fmt::format("l{}", i), subject.target);
    const auto put = Steady::now();
    RETURN_IF_ERROR(
        writer.Put({keys::Snapshot(subject.group, subject.worker, a.id), a.ToJson(), 0, false})
            .status());
    const auto started = subject.starts->WaitFor(a.id, kWaitLimit);
    if (!started)
      return absl::DeadlineExceededError(fmt::format("{}: {} never started", subject.label, a.id));
    latencies.push_back(Millis(*started - put));
    if (!finals->WaitFor(executions + i + 1)) {
      return absl::DeadlineExceededError(fmt::format("{}: {} never finished", subject.label, a.id));
    }
  }
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  figures.samples = latencies.size();
  if (finals->failed() > 0) {
    return absl::InternalError(fmt::format("{}: {} runs failed, the first {}", subject.label,
                                           finals->failed(), finals->first_failure()));
  }
  return figures;
}

// The shell executor, noting when each run reaches it.
class TimedShell final : public worker::Executor {
 public:
  TimedShell(worker::ShellOptions options, StartTimes& starts)
      : shell_(std::move(options)), starts_(starts) {}
  std::string_view name() const override { return shell_.name(); }
  bool Accepts(const model::Assignment& a) const override { return shell_.Accepts(a); }
  worker::Outcome Run(const worker::Execution& e, worker::CancelToken& cancel) override {
    starts_.Record(e.assignment.id);
    return shell_.Run(e, cancel);
  }

 private:
  worker::ShellExecutor shell_;
  StartTimes& starts_;
};

void Print(std::string_view label, int executions, const Figures& f) {
  fmt::print(
      "{:<28} {:8.0f} executions/s (n={}); claim-to-start p50 {:.2f} ms, p99 {:.2f} ms (n={})\n",
      label, f.per_second, executions, f.p50_ms, f.p99_ms, f.samples);
}

int Run(const Config& config) {
  spdlog::set_level(spdlog::level::warn);
  auto cluster = coord::testing::EtcdCluster::Start(1);
  if (!cluster.ok()) {
    fmt::print(stderr, "worker_bench: cannot start etcd: {}\n", cluster.status().ToString());
    return 1;
  }
  coord::EtcdStoreOptions store_options;
  store_options.endpoints = (*cluster)->endpoints();
  auto writer = coord::EtcdStore::Connect(store_options);
  if (!writer.ok()) {
    fmt::print(stderr, "worker_bench: {}\n", writer.status().ToString());
    return 1;
  }
  fmt::print(
      "worker_bench: one worker (concurrency {}) on its own EtcdStore -> etcd, one member on "
      "127.0.0.1 (fsync on); assignments written in Txns of {}\n",
      config.concurrency, kBatch);

  // The SDK, as an application uses it.
  StartTimes sdk_starts;
  Figures sdk;
  try {
    forest::WorkerOptions options;
    options.etcd_endpoints = (*cluster)->endpoints();
    options.groups = {"sdk"};
    options.name = "bench-sdk";
    options.concurrency = config.concurrency;
    options.handle_signals = false;
    forest::Worker worker(options);
    worker.Handle("noop", [&](forest::JobContext& ctx) {
      sdk_starts.Record(ctx.execution_id());
      return forest::JobResult::Success();
    });
    worker.Start();
    auto figures = Measure(**writer, {"sdk no-op handler", "sdk", "bench-sdk", "noop", &sdk_starts},
                           config.sdk_executions, config.latency_samples);
    worker.Stop(milliseconds(1000));
    if (!figures.ok()) {
      fmt::print(stderr, "worker_bench: {}\n", figures.status().ToString());
      return 1;
    }
    sdk = *figures;
  } catch (const forest::Error& e) {
    fmt::print(stderr, "worker_bench: {}\n", e.what());
    return 1;
  }
  Print("sdk no-op handler:", config.sdk_executions, sdk);

  // The runtime with the shell executor, as `forest worker --allow-shell` runs it.
  StartTimes shell_starts;
  auto shell_store = coord::EtcdStore::Connect(store_options);
  if (!shell_store.ok()) {
    fmt::print(stderr, "worker_bench: {}\n", shell_store.status().ToString());
    return 1;
  }
  worker::WorkerOptions options;
  options.groups = {"shell"};
  options.name = "bench-shell";
  options.concurrency = config.concurrency;
  worker::ShellOptions shell;
  shell.allow_shell = true;
  std::vector<std::unique_ptr<worker::Executor>> executors;
  executors.push_back(std::make_unique<TimedShell>(shell, shell_starts));
  auto runtime = worker::Worker::Start(**shell_store, options, std::move(executors));
  if (!runtime.ok()) {
    fmt::print(stderr, "worker_bench: {}\n", runtime.status().ToString());
    return 1;
  }
  auto figures =
      Measure(**writer, {"shell /bin/true", "shell", "bench-shell", "/bin/true", &shell_starts},
              config.shell_executions, config.latency_samples);
  (*runtime)->Drain(milliseconds(1000));
  if (!figures.ok()) {
    fmt::print(stderr, "worker_bench: {}\n", figures.status().ToString());
    return 1;
  }
  Print("shell executor, /bin/true:", config.shell_executions, *figures);
  return 0;
}

}  // namespace
}  // namespace forest

int main(int argc, char** argv) {
  forest::Config config;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      config.sdk_executions = 200;
      config.shell_executions = 100;
      config.latency_samples = 20;
    } else if (std::strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc) {
      config.concurrency = std::max(1, std::atoi(argv[++i]));
    } else {
      fmt::print(stderr, "usage: worker_bench [--quick] [--concurrency N]\n");
      return 2;
    }
  }
  return forest::Run(config);
}
