#include "history/probe.h"

#include <array>
#include <cctype>
#include <string>

namespace forest::history {

CollectorProbe::CollectorProbe(metrics::Registry* registry)
    : registry_(registry),
      backlog_(registry_.get().AddGauge(
          "forest_collector_backlog",
          "Execution records the leader's collector holds in memory, not stored yet.")),
      write_seconds_(registry_.get().AddHistogram(
          "forest_collector_write_duration_seconds",
          "Time one batch of execution records took to write to the history database.",
          metrics::LatencyBuckets())),
      batch_rows_(registry_.get().AddHistogram("forest_collector_batch_rows",
                                               "Execution records per batch written.",
                                               {1, 2, 5, 10, 20, 50, 100, 200, 500})),
      rows_(registry_.get().AddCounter("forest_collector_rows_total",
                                       "Execution records written to the history database.")),
      write_errors_(registry_.get().AddCounter(
          "forest_collector_write_errors_total",
          "Batches the history database refused or failed (retried with backoff).")),
      quarantined_(
          registry_.get().AddCounter("forest_collector_quarantined_total",
                                     "Records set aside: malformed, or refused by the database.")),
      store_errors_(registry_.get().AddCounter(
          "forest_collector_store_errors_total",
          "Failed reads, watches and deletes of execution records in the coordination store.")),
      finished_(registry_.get().AddCounterFamily(
          "forest_executions_finished_total",
          "Executions finished, by status (success, error, unknown), counted by the leader "
          "once stored.",
          {"status"})),
      success_(finished_.WithLabels({"success"})),
      error_(finished_.WithLabels({"error"})),
      unknown_(finished_.WithLabels({"unknown"})) {}

void CollectorProbe::Backlog(size_t pending) { backlog_.Set(static_cast<double>(pending)); }

void CollectorProbe::Wrote(size_t rows, std::chrono::nanoseconds elapsed, bool ok) {
  write_seconds_.Observe(elapsed);
  if (!ok) {
    write_errors_.Increment();
    return;
  }
  batch_rows_.Observe(static_cast<double>(rows));
  rows_.Increment(rows);
}

void CollectorProbe::Quarantined() { quarantined_.Increment(); }

void CollectorProbe::StoreError() { store_errors_.Increment(); }

void CollectorProbe::Finished(model::RunStatus status) {
  switch (status) {
    case model::RunStatus::kSuccess:
      success_.Increment();
      return;
    case model::RunStatus::kError:
      error_.Increment();
      return;
    case model::RunStatus::kUnknown:
      unknown_.Increment();
      return;
    case model::RunStatus::kRunning:
      return;
  }
}

// --- InstrumentedHistory ---------------------------------------------------------

namespace {

enum HistoryOp { kUpsert, kQuarantine, kList, kGet, kDeleteOlder, kStatistics, kSummary, kOps };
constexpr std::array<std::string_view, kOps> kOpNames = {
    "upsert", "quarantine", "list", "get", "delete_older_than", "statistics", "summary"};

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

class InstrumentedHistory::Probe {
 public:
  explicit Probe(metrics::Registry* registry)
      : registry_(registry),
        errors_(registry_.get().AddCounterFamily(
            "forest_history_errors_total",
            "History database calls that failed, by operation and status code.", {"op", "code"})) {
    metrics::CounterFamily& calls = registry_.get().AddCounterFamily(
        "forest_history_requests_total", "History database calls, by operation.", {"op"});
    for (int op = 0; op < kOps; ++op) calls_[op] = &calls.WithLabels({kOpNames[op]});
  }
  void Done(HistoryOp op, const absl::Status& status) {
    calls_[op]->Increment();
    if (status.ok() || (op == kGet && absl::IsNotFound(status))) return;
    errors_.WithLabels({kOpNames[op], CodeName(status.code())}).Increment();
  }

 private:
  metrics::ProbeRegistry registry_;
  metrics::CounterFamily& errors_;
  std::array<metrics::Counter*, kOps> calls_{};
};

InstrumentedHistory::InstrumentedHistory(std::unique_ptr<HistoryStore> inner,
                                         metrics::Registry* registry)
    : inner_(std::move(inner)), probe_(std::make_unique<Probe>(registry)) {}

InstrumentedHistory::~InstrumentedHistory() = default;

absl::Status InstrumentedHistory::Upsert(const std::vector<Execution>& batch) {
  absl::Status s = inner_->Upsert(batch);
  probe_->Done(kUpsert, s);
  return s;
}

absl::Status InstrumentedHistory::Quarantine(std::string_view key, std::string_view value,
                                             std::string_view reason) {
  absl::Status s = inner_->Quarantine(key, value, reason);
  probe_->Done(kQuarantine, s);
  return s;
}

absl::StatusOr<Page> InstrumentedHistory::List(const Query& query) {
  auto r = inner_->List(query);
  probe_->Done(kList, r.status());
  return r;
}

absl::StatusOr<Execution> InstrumentedHistory::Get(std::string_view id) {
  auto r = inner_->Get(id);
  probe_->Done(kGet, r.status());
  return r;
}

absl::StatusOr<int64_t> InstrumentedHistory::DeleteOlderThan(Time before, int limit) {
  auto r = inner_->DeleteOlderThan(before, limit);
  probe_->Done(kDeleteOlder, r.status());
  return r;
}

absl::StatusOr<std::vector<StatsRow>> InstrumentedHistory::Statistics(const StatsQuery& query) {
  auto r = inner_->Statistics(query);
  probe_->Done(kStatistics, r.status());
  return r;
}

absl::StatusOr<Overview> InstrumentedHistory::Summary(Time now) {
  auto r = inner_->Summary(now);
  probe_->Done(kSummary, r.status());
  return r;
}

}  // namespace forest::history
