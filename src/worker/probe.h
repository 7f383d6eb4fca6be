// The worker's metrics: claims, runs finished by status, their duration,
// runs in progress, records spooled. The runtime (worker.h) calls these
// where things happen; the probe owns the metric handles. A `forest worker`
// serves them with --metrics-address; the embedded worker of a standalone
// server records into the server's registry.
//
// Threads: thread-safe.
#pragma once

#include <chrono>
#include <string_view>

#include "metrics/metrics.h"

namespace forest::worker {

class Probe {
 public:
  // `registry` must outlive the probe; null: a no-op probe.
  explicit Probe(metrics::Registry* registry = nullptr);

  void Claimed();
  // Another worker (or the leader's move) took the assignment first.
  void ClaimConflict();
  // A run ended: `status` success or error; `reason` "killed", "timeout"
  // or "" (it ended by itself).
  void Finished(bool success, std::string_view reason, std::chrono::nanoseconds took);
  // Runs in progress now.
  void Running(int n);
  // A final record could not be written now and waits in the spool.
  void Spooled();

 private:
  metrics::ProbeRegistry registry_;
  metrics::Counter& claimed_;
  metrics::Counter& conflicts_;
  metrics::CounterFamily& finished_;
  metrics::Histogram& seconds_;
  metrics::Gauge& running_;
  metrics::Counter& spooled_;
};

}  // namespace forest::worker
