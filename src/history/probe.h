// The execution history's metrics.
//
// CollectorProbe: what the leader's collector does (collector.h calls it):
// its backlog, the latency of each batch written to the database, rows
// stored, quarantines, errors, and executions finished by status, counted
// once each final record is stored and its key deleted from the
// coordination store (a record is counted once even when a new leader
// stores it again: only the delete that removes it counts).
//
// InstrumentedHistory: a HistoryStore that counts calls and errors by
// operation (upsert, quarantine, list, get, delete_older_than, statistics,
// summary) for every user (collector, API, retention). NotFound from get
// is an answer, not an error.
//
// Threads: thread-safe.
#pragma once

#include <chrono>
#include <memory>

#include "history/history.h"
#include "metrics/metrics.h"
#include "model/snapshot.h"

namespace forest::history {

class CollectorProbe {
 public:
  // `registry` must outlive the probe; null: a no-op probe.
  explicit CollectorProbe(metrics::Registry* registry = nullptr);

  // Rows and quarantines held in memory, not stored yet.
  void Backlog(size_t pending);
  // One Upsert of `rows` rows took `elapsed`; `ok`: it succeeded.
  void Wrote(size_t rows, std::chrono::nanoseconds elapsed, bool ok);
  void Quarantined();
  // A failed Range, Watch or delete on the coordination store.
  void StoreError();
  // A final record stored and removed from the coordination store.
  void Finished(model::RunStatus status);

 private:
  metrics::ProbeRegistry registry_;
  metrics::Gauge& backlog_;
  metrics::Histogram& write_seconds_;
  metrics::Histogram& batch_rows_;
  metrics::Counter& rows_;
  metrics::Counter& write_errors_;
  metrics::Counter& quarantined_;
  metrics::Counter& store_errors_;
  metrics::CounterFamily& finished_;
  metrics::Counter& success_;
  metrics::Counter& error_;
  metrics::Counter& unknown_;
};

class InstrumentedHistory final : public HistoryStore {
 public:
  // Owns `inner`. `registry` must outlive this; null: counts nowhere.
  InstrumentedHistory(std::unique_ptr<HistoryStore> inner, metrics::Registry* registry);
  ~InstrumentedHistory() override;

  absl::Status Upsert(const std::vector<Execution>& batch) override;
  absl::Status Quarantine(std::string_view key, std::string_view value,
                          std::string_view reason) override;
  absl::StatusOr<Page> List(const Query& query) override;
  absl::StatusOr<Execution> Get(std::string_view id) override;
  absl::StatusOr<int64_t> DeleteOlderThan(Time before, int limit) override;
  absl::StatusOr<std::vector<StatsRow>> Statistics(const StatsQuery& query) override;
  absl::StatusOr<Overview> Summary(Time now) override;

 private:
  class Probe;
  const std::unique_ptr<HistoryStore> inner_;
  const std::unique_ptr<Probe> probe_;
};

}  // namespace forest::history
