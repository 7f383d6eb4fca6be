// Forest C++ SDK: a worker process whose jobs are functions of the
// application instead of command lines.
//
//   forest::WorkerOptions options;
//   options.etcd_endpoints = {"10.0.0.1:2379"};
//   options.groups = {"trade"};
//   forest::Worker worker(options);
//   worker.Handle("trade.daily", [](forest::JobContext& ctx) {
//     ctx.log() << "shard " << ctx.shard_index() << " of " << ctx.shard_total();
//     return forest::JobResult::Success("done");
//   });
//   worker.Run();  // until SIGINT/SIGTERM or Stop()
//
// The worker registers in its groups as any Forest worker does (the
// original's protocol: a scheduler of either kind sees it), takes the runs
// the leader assigns it, and calls the handler registered under the job's
// `target`, exactly; a run whose target has no handler ends as an error
// ("no executor on this worker takes target '...'"). Each run's record gets
// the handler's JobResult, its log lines (the end of them), start, finish
// and duration. Kill requests, timeouts and drains reach the handler as
// cancellation (JobContext::cancelled).
//
// Errors: this API throws forest::Error (a std::runtime_error) with a
// message that says what failed: etcd unreachable or refusing the
// credentials, a worker name held by a live worker, bad options, Handle()
// after Start(). Nothing here returns error codes. An exception that escapes
// a handler does not reach the application: the run is recorded as an error
// ("handler threw: <what()>").
//
// Threads: each run calls its handler on a thread of its own, up to
// `concurrency` at once, so handlers must be thread-safe. Worker's methods
// may be called from any thread; Handle() only before Start()/Run().
//
// Public API: standard C++17 only; link Forest::sdk (find_package(Forest)).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "forest/job.h"

namespace forest {

// What every failure of this API throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WorkerOptions {
  // etcd: "host:port", "http://host:port" or "https://host:port"; at least one.
  std::vector<std::string> etcd_endpoints = {"127.0.0.1:2379"};
  // How long Start() waits for an endpoint to answer.
  std::chrono::milliseconds etcd_dial_timeout{5000};
  // etcd authentication, when etcd_user is set.
  std::string etcd_user;
  std::string etcd_password;
  // TLS to etcd when etcd_ca_file is set (PEM files); client cert and key optional.
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;

  // The groups this worker works for; at least one.
  std::vector<std::string> groups;
  // This worker's name, unique among a group's live workers. "" = the
  // machine's first non-loopback IPv4 address (as the original names workers).
  std::string name;
  // Runs at once, all groups together; at least 1.
  int concurrency = 4;
  // TTL of the registration (whole seconds, at least 1): how soon the
  // scheduler notices a worker that died.
  std::chrono::seconds lease_ttl{5};
  // Where whole run logs go ({log_dir}/{group}/{job}/{id}.log); "" = none.
  std::string log_dir;
  // Where final records wait while etcd is unreachable; "" = memory only
  // (lost if the process exits meanwhile).
  std::string spool_dir;
  // Bytes of a run's log lines (the end) kept in its execution record.
  size_t output_cap = 64 * 1024;
  // Facts shown in the UI (key=value).
  std::map<std::string, std::string> labels;

  // Run(): stop on SIGINT/SIGTERM (handlers installed for the duration of
  // Run, the previous ones restored after). One Worker per process should
  // use it. false: only Stop() ends Run().
  bool handle_signals = true;
  // Run(), on a signal: how long running handlers may finish before they
  // are cancelled ("worker stopping").
  std::chrono::milliseconds drain_timeout{30000};
};

using Handler = std::function<JobResult(JobContext&)>;

namespace sdk {
struct WorkerAccess;  // internal (tests and benchmarks)
}  // namespace sdk

class Worker {
 public:
  // Keeps the options; connects nothing yet (Start does).
  explicit Worker(WorkerOptions options);
  // Stop(0): running handlers are cancelled and waited for.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Registers `handler` for jobs whose target is `target`. Throws Error for
  // an empty target, a target registered already, an empty handler, or a
  // worker that was started.
  void Handle(std::string target, Handler handler);

  // Connects to etcd, registers in every group and starts taking runs;
  // returns once registered. Throws Error when etcd cannot be reached (or
  // refuses the credentials), the name is held by a live worker, the options
  // are invalid, no handler is registered, or the worker was started or
  // stopped before.
  void Start();

  // Start() unless started, then blocks until Stop() is called from
  // another thread or, with handle_signals, SIGINT or SIGTERM arrives (which
  // stops it as Stop() does). Returns once the worker has stopped; at once
  // if it was stopped already. Throws as Start().
  void Run();

  // Graceful stop: takes no more runs, deregisters (the scheduler moves what
  // is still assigned here to other workers), waits up to `drain_timeout`
  // for running handlers, then cancels the rest ("worker stopping") and
  // waits for them to return. Idempotent; a stopped worker cannot start again.
  // REQUIRES: not called from a handler (it would wait for itself).
  void Stop(std::chrono::milliseconds drain_timeout);
  // Stop(WorkerOptions::drain_timeout).
  void Stop();

  // True between a successful Start() and Stop().
  bool running() const;
  // The name it registered under (after Start: the resolved default).
  std::string name() const;

 private:
  friend struct sdk::WorkerAccess;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest
