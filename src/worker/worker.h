// The worker runtime: registers in one or more groups, takes the
// assignments the leader writes for it, runs them through its executors and
// reports each run in its execution record, all on the original's protocol
// (protocol.md), so our leader drives it and the original's leader could too.
//
// Per group:
//   - registers /forest/client/{group}/clients/{name} = name under a
//     kept-alive lease (a name held by a live lease: AlreadyExists), and its
//     facts (version, host, capacity, labels; JSON) under
//     /forest/worker/{group}/{name}, same lease;
//   - ranges /forest/client/snapshot/{group}/{name}/ and watches it from
//     that revision + 1, so work written while it was away is picked up;
//   - claims an assignment in one transaction: delete the assignment and
//     create the running record (status 1) only if the assignment still
//     exists, so it never runs what it did not claim; the same transaction
//     creates /forest/worker/claim/{group}/{id} only if absent (under a
//     lease of two hours nobody renews), so a run written for two workers
//     runs once;
//   - runs it (at most `concurrency` at once across groups; when full it
//     leaves assignments unclaimed, for the leader to move), then rewrites
//     the record with status 2 / -1, result, times and our fields;
//   - stops a run when /forest/client/kill/{group}/{name}/{id} appears, and
//     at its timeout (timeoutSeconds; SIGTERM then SIGKILL for processes),
//     and deletes the kill key once the run has stopped.
// Resilience: a final record that cannot be written (store unreachable) is
// spooled to `spool_dir` and written when the store answers again; a lost
// lease is replaced by a new registration (assignments written meanwhile
// are picked up by the fresh range).
//
// Threads: Start returns once registered; watch callbacks only queue work;
// one dispatcher thread claims, one thread per running execution runs it.
// Public methods are thread-safe. The Store must outlive the Worker.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "coord/store.h"
#include "worker/executor.h"
#include "worker/probe.h"

namespace forest::worker {

struct WorkerOptions {
  std::vector<std::string> groups;  // at least one
  std::string name;                 // required (default in the CLI: MachineAddress())
  int concurrency = 4;              // runs at once, all groups together
  std::chrono::seconds lease_ttl{5};
  // Where whole run logs go ({log_dir}/{group}/{job}/{id}.log); "" = none.
  std::string log_dir;
  // Where final records wait while the store is unreachable; "" = memory.
  std::string spool_dir;
  size_t output_cap = 64 * 1024;  // bytes of output kept in the record
  std::map<std::string, std::string> labels;
  std::string version;
  // Not owned; must outlive the worker.
  Clock* clock = &SystemClock::Get();
  // Where the worker's metrics go (probe.h); not owned, must outlive the
  // worker. Null: nowhere.
  Probe* probe = nullptr;
};

struct WorkerStats {
  int64_t claimed = 0;
  int64_t claim_conflicts = 0;  // someone else (or the leader's move) was first
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t killed = 0;
  int64_t timed_out = 0;
  int64_t spooled = 0;  // final records written late from the spool
  int running = 0;
};

class Worker {
 public:
  static absl::StatusOr<std::unique_ptr<Worker>> Start(
      coord::Store& store, WorkerOptions options,
      std::vector<std::unique_ptr<Executor>> executors);
  // Stop(Drain with no wait).
  ~Worker();

  // Graceful stop: stop claiming, deregister (the leader moves what is still
  // assigned here), wait up to `timeout` for running executions, then
  // cancel the rest ("worker stopping") and record them. Idempotent.
  void Drain(std::chrono::milliseconds timeout);

  WorkerStats stats() const;

 private:
  class Impl;
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::worker
