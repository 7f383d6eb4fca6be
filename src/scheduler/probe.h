// The scheduler's metrics: what the leader fires and writes, and the node's
// role and view. The Leader and the Node call these methods at the points
// where things happen; the probe owns the metric handles and their names
// (docs/metrics.md lists them).
//
// Threads: thread-safe (the Leader calls from the node's loop thread, the
// scrape renders from any).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "metrics/metrics.h"
#include "model/snapshot.h"

namespace forest::scheduler {

class Probe {
 public:
  // `registry` must outlive the probe; null: a no-op probe.
  explicit Probe(metrics::Registry* registry = nullptr);

  // Fires committed, by trigger: cron (scheduled times), manual and api
  // (run requests served), retry (retries dispatched), failover (unclaimed
  // assignments moved to another worker).
  void Fired(model::Trigger trigger, int64_t n = 1);
  // Assignments written (a broadcast or shard fire writes several).
  void Assigned(int64_t n);
  // A cron fire committed `lag` after its scheduled time.
  void FireLag(std::chrono::milliseconds lag);
  // Scheduled times dropped by the misfire policy.
  void Misfired(int64_t n);
  // Fires skipped by the concurrency policy (forbid, replace).
  void ConcurrencySkipped(int64_t n);
  // Runs recorded as errors: no live worker in the group.
  void NoWorker();
  // Running runs marked unknown (worker lost), timed out.
  void RunLost();
  void RunTimedOut();
  // One batch of leader writes: `units` atomic units in `txns` committed
  // transactions, `conflicts` refused by their compares, `errors` failed,
  // over `elapsed`.
  void Wrote(size_t units, int64_t txns, int64_t conflicts, int64_t errors,
             std::chrono::nanoseconds elapsed);

  // The node's role, after each loop iteration: the leader gauge, and a
  // leadership change counted when it differs from the last call.
  void Leading(bool leading);
  // The leader's view: runs with a running record, live workers per group,
  // jobs in the plan table. Followers call ClearView (their series go: only
  // the leader reports them, so sums over nodes are right).
  void View(int64_t running, const std::vector<std::pair<std::string, int>>& workers,
            size_t planned);
  void ClearView();

 private:
  metrics::ProbeRegistry registry_;
  metrics::CounterFamily& fires_;
  std::map<model::Trigger, metrics::Counter*> fires_by_trigger_;
  metrics::Counter& assignments_;
  metrics::Histogram& fire_lag_;
  metrics::Counter& misfires_;
  metrics::Counter& concurrency_skips_;
  metrics::Counter& no_worker_;
  metrics::Counter& lost_;
  metrics::Counter& timed_out_;
  metrics::Histogram& batch_units_;
  metrics::Histogram& batch_seconds_;
  metrics::CounterFamily& transactions_;
  metrics::Counter& txn_committed_;
  metrics::Counter& txn_conflicts_;
  metrics::Counter& txn_errors_;
  metrics::Gauge& leader_;
  metrics::Counter& leadership_changes_;
  metrics::GaugeFamily& running_;
  metrics::GaugeFamily& workers_;
  metrics::GaugeFamily& planned_;

  std::mutex mu_;
  bool leading_ ABSL_GUARDED_BY(mu_) = false;
  bool view_shown_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, int> groups_shown_ ABSL_GUARDED_BY(mu_);
};

}  // namespace forest::scheduler
