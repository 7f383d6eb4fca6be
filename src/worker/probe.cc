#include "worker/probe.h"

namespace forest::worker {

Probe::Probe(metrics::Registry* registry)
    : registry_(registry),
      claimed_(registry_.get().AddCounter("forest_worker_claims_total",
                                          "Assignments this worker claimed.")),
      conflicts_(registry_.get().AddCounter(
          "forest_worker_claim_conflicts_total",
          "Claims lost: another worker or the leader's move was first.")),
      finished_(registry_.get().AddCounterFamily(
          "forest_worker_runs_finished_total",
          "Runs this worker finished, by status (success, error) and reason (killed, timeout, "
          "or empty when the run ended by itself).",
          {"status", "reason"})),
      seconds_(registry_.get().AddHistogram(
          "forest_worker_run_duration_seconds", "How long runs took on this worker.",
          {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400})),
      running_(
          registry_.get().AddGauge("forest_worker_running", "Runs in progress on this worker.")),
      spooled_(registry_.get().AddCounter(
          "forest_worker_spooled_total",
          "Final records that could not be written at once and went to the spool.")) {}

void Probe::Claimed() { claimed_.Increment(); }
void Probe::ClaimConflict() { conflicts_.Increment(); }

void Probe::Finished(bool success, std::string_view reason, std::chrono::nanoseconds took) {
  finished_.WithLabels({success ? "success" : "error", reason}).Increment();
  seconds_.Observe(took);
}

void Probe::Running(int n) { running_.Set(n); }
void Probe::Spooled() { spooled_.Increment(); }

}  // namespace forest::worker
