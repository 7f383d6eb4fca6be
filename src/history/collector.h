// The collector: moves execution records from the coordination store into
// the history database, then deletes the final ones from the store.
//
// It runs beside the leader and acts only while told it leads: it does
// nothing until Lead(token) (the node calls it when elected, with the
// election's fencing token) and stops collecting on Follow() (demoted).
//
// While leading:
//  - It ranges keys::kExecutePrefix at a revision R (in pages, pinned to R),
//    handles every record, then watches from R + 1; a compacted or ended
//    watch ranges again (re-reading is harmless, see below).
//  - Each put is parsed as a model::ExecutionRecord. One that does not parse
//    (or whose key is not /forest/client/execute/snapshot/{group}/{worker}/{id})
//    goes to HistoryStore::Quarantine(key, value, reason) and its key is then
//    deleted. One that parses joins the open batch as
//    Execution{record, worker = the key's worker segment, leader_node =
//    node_id}; a later put of the same key in the same batch replaces it.
//  - A batch is flushed when it reaches max_batch rows, or max_delay after
//    its first row: HistoryStore::Upsert(batch), one transaction. Rows with
//    the same record id (two keys for one run) are sent once, the final one
//    winning.
//  - Only once Upsert (and the batch's quarantines) succeeded: the keys of
//    final rows (model::IsFinal) and of quarantined values are deleted, in
//    transactions of at most 127 deletes, each fenced (Election::Fence with
//    leader_key and the token) and comparing mod_revision(key) with the
//    revision of the version stored: a version written meanwhile is not
//    lost, it comes through the watch and is stored later. Keys of running
//    rows stay.
//  - A record no database could store (history::CheckStorable: an empty
//    id, a key field too long or not UTF-8) is quarantined like one that
//    does not parse. A batch the database refuses twice with an error that
//    is not a lost connection is stored row by row, and the rows it still
//    refuses are quarantined with the database's message: one bad record
//    never holds back the others.
//  - Database errors: the failed batch and every later one stay in memory,
//    in order, and Upsert is retried with exponential backoff
//    (retry_min..retry_max); stats().db_errors counts them and
//    stats().retrying is true meanwhile. Nothing is deleted from the store
//    before it is stored. Upsert is idempotent by id, so re-applying after
//    an unknown outcome, or a new leader upserting again everything still in
//    the store, is harmless. Store errors on a delete are retried the same
//    way (same compares, so a delete that landed is not repeated).
//  - After each successful Upsert, on_stored (if set) is told of the rows,
//    before their keys are deleted; its error counts as a database error.
//  - A delete refused by the fence (another node leads) stops the collector
//    as Follow() would, drops what it holds in memory (still in the store,
//    for the next leader) and calls on_fenced_out: the node decides.
//
// Threading: one collector thread does every store and database call; the
// store's watch thread only queues events. All public methods are
// thread-safe; Lead and Follow return at once (the thread acts on them in
// order). on_fenced_out runs on the collector thread and must not destroy
// the collector.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "coord/election.h"
#include "coord/store.h"
#include "history/history.h"
#include "history/probe.h"

namespace forest::history {

struct CollectorOptions {
  std::string node_id;  // required; stored as each row's leader_node
  std::string leader_key = std::string(coord::kLeaderKey);
  size_t max_batch = 500;                   // rows per Upsert (1..)
  std::chrono::milliseconds max_delay{20};  // from a batch's first row to its flush
  // Backoff after a database (or store) error: doubles from min up to max.
  std::chrono::milliseconds retry_min{200};
  std::chrono::milliseconds retry_max{5000};
  // Not owned; batch delays and backoffs are measured on its Monotonic().
  Clock* clock = &SystemClock::Get();
  // Called (on the collector thread) when a fenced delete found another
  // leader; the collector has already stopped collecting.
  std::function<void()> on_fenced_out;
  // Told of every batch the database stored (on the collector thread),
  // before any of its keys is deleted: what alarms are raised from
  // (alarm/). An error is handled as the database's would be: the batch
  // is stored again later (Upsert is idempotent) and told again, so the
  // callee must be idempotent too. Unset: nothing is told.
  std::function<absl::Status(const std::vector<Execution>& stored)> on_stored;
  // Where the collector's metrics go (probe.h); not owned, must outlive the
  // collector. Null: nowhere.
  CollectorProbe* probe = nullptr;
};

struct CollectorStats {
  bool leading = false;   // collecting (Lead seen, no Follow or fence failure since)
  bool retrying = false;  // the database is failing: batches wait in memory
  int64_t collected = 0;  // rows upserted (a row upserted again counts again)
  int64_t deleted = 0;    // keys deleted from the store
  int64_t quarantined = 0;
  int64_t db_errors = 0;     // failed Upsert / Quarantine calls
  int64_t store_errors = 0;  // failed ranges, watches and deletes
  int64_t batches = 0;       // successful Upserts
  int64_t fenced_out = 0;    // times a delete found another leader
  size_t pending = 0;        // rows and quarantines held in memory, not stored yet
  std::chrono::milliseconds last_batch_latency{0};  // of the last successful Upsert
};

class Collector {
 public:
  // Starts the collector thread (idle until Lead). InvalidArgument without a
  // node id, a clock, or with max_batch 0. `store` and `history` must outlive
  // the collector.
  static absl::StatusOr<std::unique_ptr<Collector>> Start(coord::Store& store,
                                                          HistoryStore& history,
                                                          CollectorOptions options);
  // Stops.
  ~Collector();

  // Collect from now on, fencing deletes with `token` (the create revision
  // of leader_key). Called again with a new token: starts over with it.
  void Lead(coord::Revision token);
  // Stop collecting; batches not stored yet are dropped (they are still in
  // the store, for whoever leads next).
  void Follow();
  // Stops the thread; idempotent. Nothing happens after it returns.
  void Stop();

  CollectorStats stats() const;

 private:
  class Impl;
  explicit Collector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::history
