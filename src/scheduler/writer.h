// Internal to src/scheduler: commits the leader's writes as fenced
// transactions, packed within etcd's limits and several in flight at once.
//
// A WriteUnit is what must commit atomically (one job's fires and cursor,
// one failover move, ...). Units are packed into transactions of at most
// kMaxTxnOps operations and kMaxTxnOps - 1 compares (the fence takes one);
// a packed transaction whose compares fail, or whose outcome is unknown, is
// retried unit by unit so one stale unit cannot sink the others. The fence
// is checked through the failure branch (it reads the leader key), so a
// refused write tells "someone else leads" apart from "a compare of mine
// failed".
//
// Threads: Commit is called from one thread (the leader's) and blocks until
// every unit has an outcome; the transactions run on the writer's threads;
// the units' callbacks run on the caller's thread before Commit returns.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "coord/store.h"

namespace forest::scheduler::internal {

struct WriteUnit {
  std::vector<coord::Compare> compares;
  std::vector<coord::Op> ops;
  // Committed at revision `r`.
  std::function<void(coord::Revision r)> on_commit;
  // One of the unit's own compares failed: the leader's view of those keys
  // is stale.
  std::function<void()> on_conflict;
  // Not applied, or unknown after retrying: a store error (or fenced out).
  std::function<void(const absl::Status&)> on_error;
};

struct WriteCounts {
  int64_t txns = 0;
  int64_t conflicts = 0;
  int64_t errors = 0;
};

class Writer {
 public:
  Writer(coord::Store& store, std::string leader_key, int parallel);
  ~Writer();

  // Commits `units` fenced on `token`. Answers false when the fence failed
  // (another node leads): the caller must stop acting as leader; units that
  // were refused got on_error(FailedPrecondition).
  bool Commit(coord::Revision token, std::vector<WriteUnit>& units, WriteCounts& counts);

 private:
  struct Txn {
    std::vector<size_t> units;  // indexes into the batch
    coord::TxnRequest request;
    absl::StatusOr<coord::TxnResponse> response = absl::UnknownError("not sent");
  };
  // Runs the transactions, `parallel_` at a time.
  void RunAll(std::vector<Txn>& txns);
  void Worker();
  coord::TxnRequest Build(coord::Revision token, const std::vector<WriteUnit>& units,
                          const std::vector<size_t>& which) const;
  // Whether a failed transaction's failure branch shows the fence broken.
  bool FencedOut(const coord::TxnResponse& response, coord::Revision token) const;

  coord::Store& store_;
  const std::string leader_key_;
  const int parallel_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Txn*> queue_ ABSL_GUARDED_BY(mu_);
  size_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace forest::scheduler::internal
