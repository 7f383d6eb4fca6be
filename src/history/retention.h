// Retention: keeps the history bounded by deleting executions older than a
// number of days, in small batches, in the background.
//
// Each pass deletes rows created before (now - days) with
// HistoryStore::DeleteOlderThan(cutoff, batch), one short transaction per
// batch with a pause between batches, until a batch comes back short: no
// long lock, and the collector's upserts interleave. Passes run at start and
// then every `interval`. A failed pass (database down) is counted and the
// next one tries again; nothing else depends on it.
//
// Every node runs its own: with a shared database the passes of several
// nodes only race to delete the same old rows (harmless); with each node's
// own SQLite file, each keeps its own file bounded.
//
// Threading: one thread of its own. Stop() (or the destructor) returns once
// the thread has finished, interrupting a pause or a wait, never a batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "history/history.h"

namespace forest::history {

struct RetentionOptions {
  int days = 30;     // rows older than this go; 1..36500
  int batch = 1000;  // rows per delete (1..100000)
  std::chrono::milliseconds interval = std::chrono::minutes(10);
  std::chrono::milliseconds pause{50};  // between two batches of a pass
  // Not owned: the cutoff is taken from its Now().
  Clock* clock = &SystemClock::Get();
};

struct RetentionStats {
  int64_t passes = 0;   // finished passes, failed ones included
  int64_t deleted = 0;  // rows, over every pass
  int64_t errors = 0;
  std::string last_error;  // empty after a good pass
};

class Retention {
 public:
  // InvalidArgument for options out of range. `history` must outlive the
  // Retention.
  static absl::StatusOr<std::unique_ptr<Retention>> Start(HistoryStore& history,
                                                          RetentionOptions options);
  ~Retention();
  void Stop();
  RetentionStats stats() const;

  // One pass, on the caller's thread: deletes everything created before
  // `cutoff`, `batch` rows at a time, pausing `pause` between batches.
  // Answers the rows deleted, or the first error (the rows deleted before
  // it stay deleted).
  static absl::StatusOr<int64_t> Prune(HistoryStore& history, Time cutoff, int batch,
                                       std::chrono::milliseconds pause);

 private:
  class Impl;
  explicit Retention(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::history
