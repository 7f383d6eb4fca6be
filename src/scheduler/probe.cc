#include "scheduler/probe.h"

namespace forest::scheduler {
namespace {

const std::vector<std::string> kNoLabels;

}  // namespace

Probe::Probe(metrics::Registry* registry)
    : registry_(registry),
      fires_(registry_.get().AddCounterFamily(
          "forest_scheduler_fires_total",
          "Fires the leader committed, by trigger: cron (scheduled times), manual and api (run "
          "requests), retry (retries), failover (assignments moved to another worker).",
          {"trigger"})),
      assignments_(registry_.get().AddCounter(
          "forest_scheduler_assignments_total",
          "Assignments the leader wrote (a broadcast or shard fire writes one per worker).")),
      fire_lag_(registry_.get().AddHistogram(
          "forest_scheduler_fire_lag_seconds",
          "From a cron fire's scheduled time to its assignment committed.",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})),
      misfires_(registry_.get().AddCounter(
          "forest_scheduler_misfires_total",
          "Scheduled times dropped by the job's misfire policy (missed by more than "
          "--misfire-threshold).")),
      concurrency_skips_(registry_.get().AddCounter(
          "forest_scheduler_concurrency_skips_total",
          "Fires skipped by the job's concurrency policy (forbid, replace).")),
      no_worker_(registry_.get().AddCounter(
          "forest_scheduler_no_worker_total",
          "Runs recorded as errors because their group had no live worker.")),
      lost_(
          registry_.get().AddCounter("forest_scheduler_runs_lost_total",
                                     "Running runs marked unknown because their worker was lost.")),
      timed_out_(registry_.get().AddCounter(
          "forest_scheduler_runs_timed_out_total",
          "Running runs the leader marked timed out (no final status after the timeout).")),
      batch_units_(registry_.get().AddHistogram(
          "forest_scheduler_dispatch_batch_size",
          "Atomic writes (one job's fires and cursor, one move, ...) per batch the leader "
          "commits.",
          {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000})),
      batch_seconds_(registry_.get().AddHistogram(
          "forest_scheduler_dispatch_duration_seconds",
          "Time to commit one batch of the leader's writes (its transactions run in parallel).",
          metrics::LatencyBuckets())),
      transactions_(registry_.get().AddCounterFamily(
          "forest_scheduler_transactions_total", "The leader's fenced transactions, by outcome.",
          {"outcome"})),
      txn_committed_(transactions_.WithLabels({"committed"})),
      txn_conflicts_(transactions_.WithLabels({"conflict"})),
      txn_errors_(transactions_.WithLabels({"error"})),
      leader_(
          registry_.get().AddGauge("forest_scheduler_leader", "1 while this node leads, else 0.")),
      leadership_changes_(
          registry_.get().AddCounter("forest_scheduler_leadership_changes_total",
                                     "Times this node started or stopped leading.")),
      running_(registry_.get().AddGaugeFamily(
          "forest_executions_running",
          "Runs with a running record, in the leader's view (the leader only).", {})),
      workers_(registry_.get().AddGaugeFamily(
          "forest_workers", "Live workers per group, in the leader's view (the leader only).",
          {"group"})),
      planned_(registry_.get().AddGaugeFamily(
          "forest_scheduler_planned_jobs",
          "Enabled jobs in the leader's plan table (the leader only).", {})) {
  for (const model::Trigger t :
       {model::Trigger::kCron, model::Trigger::kManual, model::Trigger::kApi,
        model::Trigger::kRetry, model::Trigger::kFailover}) {
    fires_by_trigger_[t] = &fires_.WithLabels({model::Name(t)});
  }
  // A follower reports no view; it shows one once it leads.
  running_.Remove(kNoLabels);
  planned_.Remove(kNoLabels);
}

void Probe::Fired(model::Trigger trigger, int64_t n) {
  if (n <= 0) return;
  const auto it = fires_by_trigger_.find(trigger);
  if (it != fires_by_trigger_.end()) it->second->Increment(static_cast<uint64_t>(n));
}

void Probe::Assigned(int64_t n) {
  if (n > 0) assignments_.Increment(static_cast<uint64_t>(n));
}

void Probe::FireLag(std::chrono::milliseconds lag) {
  fire_lag_.Observe(
      std::chrono::duration<double>(std::max(lag, std::chrono::milliseconds(0))).count());
}

void Probe::Misfired(int64_t n) {
  if (n > 0) misfires_.Increment(static_cast<uint64_t>(n));
}

void Probe::ConcurrencySkipped(int64_t n) {
  if (n > 0) concurrency_skips_.Increment(static_cast<uint64_t>(n));
}

void Probe::NoWorker() { no_worker_.Increment(); }
void Probe::RunLost() { lost_.Increment(); }
void Probe::RunTimedOut() { timed_out_.Increment(); }

void Probe::Wrote(size_t units, int64_t txns, int64_t conflicts, int64_t errors,
                  std::chrono::nanoseconds elapsed) {
  batch_units_.Observe(static_cast<double>(units));
  batch_seconds_.Observe(elapsed);
  if (txns > 0) txn_committed_.Increment(static_cast<uint64_t>(txns));
  if (conflicts > 0) txn_conflicts_.Increment(static_cast<uint64_t>(conflicts));
  if (errors > 0) txn_errors_.Increment(static_cast<uint64_t>(errors));
}

void Probe::Leading(bool leading) {
  std::lock_guard lock(mu_);
  leader_.Set(leading ? 1 : 0);
  if (leading != leading_) leadership_changes_.Increment();
  leading_ = leading;
}

void Probe::View(int64_t running, const std::vector<std::pair<std::string, int>>& workers,
                 size_t planned) {
  std::lock_guard lock(mu_);
  view_shown_ = true;
  running_.WithLabels(kNoLabels).Set(static_cast<double>(running));
  planned_.WithLabels(kNoLabels).Set(static_cast<double>(planned));
  std::map<std::string, int> now(workers.begin(), workers.end());
  for (const auto& [group, count] : groups_shown_) {
    if (!now.contains(group)) workers_.Remove({group});
  }
  for (const auto& [group, count] : now) {
    const auto shown = groups_shown_.find(group);
    if (shown == groups_shown_.end() || shown->second != count) {
      workers_.WithLabels({group}).Set(count);
    }
  }
  groups_shown_ = std::move(now);
}

void Probe::ClearView() {
  std::lock_guard lock(mu_);
  if (!view_shown_) return;
  view_shown_ = false;
  running_.Remove(kNoLabels);
  planned_.Remove(kNoLabels);
  for (const auto& [group, count] : groups_shown_) workers_.Remove({group});
  groups_shown_.clear();
}

}  // namespace forest::scheduler
