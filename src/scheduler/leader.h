// The scheduler's logic: one node's view of the cluster and, while the node
// leads, everything the leader does. Single-threaded and free of I/O
// except through the Store, so tests drive it with a FakeClock and the
// embedded store, and the node (node.h) only adds threads around it.
//
// Feeding: every node, leader or not, keeps the view warm: Load() a range
// of /forest/ at revision R, then Apply() the watch's events from R + 1.
//
// Leading: after Elected(token) the leader waits until its view has reached
// the token's revision (so it has seen every write of every earlier leader),
// reconciles once (plans every job from its cursor, fails over work of
// workers that are gone, finds runs that timed out, retries that are due),
// and from then on each Tick():
//   - takes the fires due now from the plan table, applies the misfire,
//     concurrency and routing rules, and writes assignments + cursor of each
//     job in fenced transactions (several in parallel, each within etcd's
//     128-operation limit);
//   - moves unclaimed assignments of workers that left (and of live workers
//     that leave them unclaimed too long, to a less busy one); marks running runs
//     of workers that left as unknown and runs past their timeout as timed
//     out; decides and dispatches retries; serves run requests.
// Every write is fenced on the token: a leader that lost its key writes
// nothing, and the first failed fence makes it stop acting until elected
// again.
//
// Exactly once: a job's cursor (/forest/server/cursor/{job}) says "every
// scheduled time up to here is handled" and is written in the transaction
// that dispatches, guarded by a compare on its previous value; snapshot ids
// are derived from (job, scheduled time, attempt, shard). So a fire is
// either written with its cursor or not at all, and a new leader resumes
// exactly where the last committed write left off. Missed times: those late
// by less than `misfire_threshold` all fire; older ones follow the job's
// misfire policy. A job that is new, edited or resumed starts from the time
// the leader first sees that version (recorded in its cursor), so edits do
// not replay the past.
//
// Threads: none of its own; not thread-safe. Owner: the node's loop thread
// (or a test).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/time_zone.h"
#include "coord/store.h"
#include "model/job.h"
#include "scheduler/probe.h"

namespace forest::scheduler {

// Scheduled times of a job that the leader reached later than the misfire
// threshold (all nodes were down, or the leader was stalled), and what the
// job's misfire policy did with them.
struct MisfireEvent {
  std::string job_id;
  std::string job_name;
  std::string group;
  int64_t missed = 0;  // times found later than the threshold
  int64_t fired = 0;   // of those (or of the older ones the policy reached), dispatched
  Time first_missed{};
  Time last_missed{};
  model::Misfire policy = model::Misfire::kFireOnce;
};

// What the leader tells the rest of the node about as it happens (alarms).
// Called on the thread that drives the Leader, only once the write the
// event is about has committed; it must return at once (queue the event,
// never wait on I/O): the leader's loop is waiting.
class LeaderObserver {
 public:
  virtual ~LeaderObserver() = default;
  virtual void OnMisfire(const MisfireEvent& event) = 0;
};

struct LeaderOptions {
  // Not owned; must outlive the Leader.
  Clock* clock = &SystemClock::Get();
  // This node's id; the leader key's value while it leads.
  std::string node_id;
  std::string leader_key = "/forest/server/elect/leader";
  // Scheduled times later than this when the leader gets to them follow the
  // job's misfire policy; earlier ones fire, late.
  std::chrono::milliseconds misfire_threshold{60000};
  // fire_all fires at most this many missed times of one job (the latest).
  int fire_all_cap = 100;
  // An assignment a live worker leaves unclaimed this long (it is full, or
  // stuck) moves to a less busy worker of the group.
  std::chrono::milliseconds unclaimed_move_after{30000};
  // A run with no final status this long after its timeout is timed out.
  std::chrono::milliseconds timeout_grace{10000};
  // A dispatched retry is remembered while the failed run's record exists
  // (so a rewrite of that record cannot start a second retry); this is how
  // often the leader checks whether the record is gone (collected).
  std::chrono::milliseconds retry_gc_interval{60000};
  // Fires taken from the plan table per Tick (the rest wait for the next).
  size_t max_fires_per_tick = 20000;
  // Transactions in flight at once while dispatching.
  int parallel_writes = 8;
  // The zone of the original's "2006-01-02 15:04:05" timestamps.
  TimeZone legacy_zone = TimeZone::Local();
  // Seed for random routing (0 = from the system).
  uint64_t seed = 0;
  // Told of misfires (alarms); none by default. Not owned; must outlive
  // the Leader.
  LeaderObserver* observer = nullptr;
  // Where the leader's metrics go (probe.h); not owned, must outlive the
  // Leader. Null: nowhere.
  Probe* probe = nullptr;
};

// What the leader did, for logs, metrics and tests. Monotonic counters.
struct LeaderStats {
  int64_t fires = 0;            // scheduled times consumed (dispatched or not)
  int64_t assignments = 0;      // assignments written (fires, retries, runs, moves)
  int64_t skipped_misfire = 0;  // times dropped by the misfire policy
  int64_t skipped_forbid = 0;   // fires skipped: previous run still running
  int64_t no_worker = 0;        // runs recorded as errors: no live worker
  int64_t moved = 0;            // assignments failed over
  int64_t lost_runs = 0;        // running runs marked unknown (worker gone)
  int64_t timed_out = 0;        // runs marked timed out
  int64_t retries = 0;          // retries dispatched
  int64_t manual_runs = 0;      // run requests served
  int64_t txns = 0;             // transactions committed
  int64_t txn_conflicts = 0;    // transactions whose compares failed (not the fence)
  int64_t fenced_out = 0;       // writes refused because another node leads
  int64_t write_errors = 0;     // transactions that failed with a store error
  int64_t invalid_docs = 0;     // documents under /forest/ that do not parse
};

class Leader {
 public:
  // `store` must outlive the Leader.
  Leader(coord::Store& store, LeaderOptions options);
  ~Leader();
  Leader(const Leader&) = delete;
  Leader& operator=(const Leader&) = delete;

  // Replaces the view with `snapshot` (a range of every key under /forest/).
  // While leading, it also re-reconciles (after a compacted watch).
  void Load(const coord::RangeResponse& snapshot);
  // Applies watch events, in revision order.
  void Apply(const std::vector<coord::WatchEvent>& events);
  // The revision the view has reached.
  coord::Revision revision() const;

  // This node leads with `token` (the leader key's create revision).
  void Elected(coord::Revision token);
  // This node no longer leads. Idempotent.
  void Demoted();
  // Elected, caught up with the token and not fenced out.
  bool leading() const;

  // Does everything due at clock->Now() (nothing unless leading) and answers
  // when it should be called next at the latest (sooner when Apply changed
  // something; Time::max() when nothing is planned).
  Time Tick();

  const LeaderStats& stats() const;
  // The next planned fire of a job, while leading (for /plan/list and tests).
  std::optional<Time> NextFire(std::string_view job_id) const;
  // Jobs in the plan table.
  size_t planned() const;
  // Runs whose record says running, in the view.
  int64_t running() const;
  // Live workers per group, in the view, by group name.
  std::vector<std::pair<std::string, int>> workers() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::scheduler
