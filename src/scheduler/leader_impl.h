// Internal to src/scheduler: the Leader's state and the pieces of its work,
// split over leader.cc (the view and the role), leader_plan.cc (planning
// and firing) and leader_runs.cc (runs: failover, timeouts, retries, run
// requests).
#pragma once

#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "dispatch/router.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "scheduler/leader.h"
#include "scheduler/plan_table.h"
#include "scheduler/run_request.h"
#include "scheduler/writer.h"

namespace forest::scheduler::internal {

// /forest/server/cursor/{job}: every scheduled time of the job up to
// `scheduled_time` is handled (fired or dropped by the misfire policy), for
// the job's configuration as of `conf_revision` (its key's mod revision).
struct Cursor {
  Time scheduled_time{};
  coord::Revision conf_revision = 0;

  static absl::StatusOr<Cursor> FromJson(std::string_view json);
  std::string ToJson() const;
};

// /forest/server/retry/{job}/{id}: run `id` (an attempt after the first) is
// due at `due_at`; `dispatched_at` once its assignment is written. Kept
// until the failed run's record (`previous_key`) is gone, so the retry is
// decided once however often that record is seen again.
struct RetryIntent {
  model::RunKey run;  // the new attempt
  std::string previous_id;
  std::string previous_key;  // the failed run's execution record
  std::string avoid;  // the worker of the failed attempt
  std::string params;
  model::Trigger origin = model::Trigger::kCron;  // the first attempt's trigger
  int shard_total = 1;
  Time due_at{};
  std::optional<Time> dispatched_at;

  static absl::StatusOr<RetryIntent> FromJson(std::string_view json);
  std::string ToJson() const;
};

struct CursorEntry {
  Cursor cursor;
  coord::Revision mod_revision = 0;  // of its key; 0 = absent
};

struct JobEntry {
  model::Job job;
  std::optional<cron::Schedule> schedule;  // nullopt when the document is invalid
  coord::Revision mod_revision = 0;
  bool enabled() const { return schedule && job.status == model::JobStatus::kEnabled; }
};

struct RunDoc {  // an assignment or an execution record, by key
  std::string group, worker, id;
  coord::Revision create_revision = 0, mod_revision = 0;

  void Set(std::string_view g, std::string_view w, std::string_view i, const coord::KeyValue& kv) {
    group = g;
    worker = w;
    id = i;
    create_revision = kv.create_revision;
    mod_revision = kv.mod_revision;
  }
};
struct AssignmentEntry : RunDoc {
  model::Assignment doc;
};
struct RecordEntry : RunDoc {
  model::ExecutionRecord doc;
};
struct RetryEntry {
  RetryIntent intent;
  std::string value;
  coord::Revision mod_revision = 0;
};
struct RunEntry {
  RunRequest request;
  coord::Revision create_revision = 0;
};

inline coord::Op PutOp(std::string key, std::string value) {
  coord::PutRequest put;
  put.key = std::move(key);
  put.value = std::move(value);
  return put;
}
inline coord::Op DeleteOp(std::string key) {
  coord::DeleteRequest del;
  del.key = std::move(key);
  return del;
}

// Timers: (when, key); checked against the view when they go off.
using Timer = std::pair<Time, std::string>;
using TimerQueue = std::priority_queue<Timer, std::vector<Timer>, std::greater<>>;

class LeaderImpl {
 public:
  LeaderImpl(coord::Store& store, LeaderOptions options);

  // leader.cc: the view and the role.
  void Load(const coord::RangeResponse& snapshot);
  void Apply(const std::vector<coord::WatchEvent>& events);
  void Elected(coord::Revision token);
  void Demoted();
  bool leading() const;
  Time Tick();

  coord::Store& store_;
  const LeaderOptions options_;
  Clock& clock_;
  std::unique_ptr<Probe> own_probe_;  // when options_.probe is null
  Probe& probe_;
  LeaderStats stats_;
  PlanTable plan_;
  dispatch::Router router_;
  Writer writer_;

  // --- The view (every node) ---
  coord::Revision revision_ = 0;
  absl::flat_hash_map<std::string, JobEntry> jobs_;
  absl::flat_hash_map<std::string, CursorEntry> cursors_;  // by job id
  // group -> live workers (name -> create revision), sorted by name.
  absl::flat_hash_map<std::string, std::map<std::string, coord::Revision>> workers_;
  // "group/worker" of workers whose facts key (ours) exists: alive, even
  // while draining with the client key withdrawn.
  absl::flat_hash_set<std::string> alive_;
  std::map<std::string, AssignmentEntry> assignments_;  // by key
  std::map<std::string, RecordEntry> records_;          // by key
  int64_t running_ = 0;                                 // records_ whose status is running
  std::map<std::string, RetryEntry> retries_;           // by key
  std::map<std::string, RunEntry> runs_;                // by key
  // job id -> keys of its assignments and running records.
  absl::flat_hash_map<std::string, std::set<std::string>> active_by_job_;
  // "group/worker" -> its assignments + running records.
  absl::flat_hash_map<std::string, int> busy_;
  absl::flat_hash_set<std::string> invalid_keys_;  // reported once

  // --- Leadership ---
  std::optional<coord::Revision> token_;
  bool fenced_out_ = false;
  bool reconcile_ = false;  // a full pass is due (just elected, or reloaded)
  // Work found by Apply, done by the next Tick while leading.
  std::set<std::string> dirty_jobs_;
  std::set<std::pair<std::string, std::string>> lost_workers_;  // (group, worker)
  std::set<std::string> joined_groups_;
  std::set<std::string> final_records_;  // keys
  std::set<std::string> new_runs_;       // keys
  TimerQueue retry_timers_;    // (due, retry key)
  TimerQueue timeout_timers_;  // (deadline, record key)
  TimerQueue unclaimed_timers_;  // (when to look, assignment key)
  // Keys this leader wrote at a revision the view has not reached yet: work
  // on them waits for the view (it would act on stale data).
  absl::flat_hash_map<std::string, coord::Revision> written_;
  std::multimap<coord::Revision, std::string> written_order_;
  // Jobs dispatched at a revision the view has not reached (for `forbid`).
  absl::flat_hash_map<std::string, coord::Revision> recent_dispatch_;
  std::multimap<coord::Revision, std::string> recent_order_;
  Time retry_after_{};  // after a store error, when to try again

  // leader.cc: applying one change to the view.
  void PutKey(const coord::KeyValue& kv);
  void DeleteKey(std::string_view key);
  void Report(std::string_view key, const absl::Status& status);
  void AddActive(const std::string& job_id, const std::string& key, const RunDoc& doc);
  void RemoveActive(const std::string& job_id, const std::string& key, const RunDoc& doc);
  bool Live(const std::string& group, const std::string& worker) const;
  bool Stale(const std::string& key) const;  // written by us, not yet seen
  void MarkWritten(const std::string& key, coord::Revision r);
  // Runs the units; on a broken fence, stops leading.
  void Commit(std::vector<WriteUnit>& units);

  // leader_plan.cc
  // Plans a job from its cursor (or `now` without one / after an edit).
  void Replan(const std::string& job_id);
  // Leader: cursors for jobs that have none or whose configuration changed.
  // `all`: every job (else the dirty ones).
  void InitCursors(Time now, std::vector<WriteUnit>& units, bool all = false);
  void FireDue(Time now, std::vector<WriteUnit>& units);
  model::Assignment MakeAssignment(const model::Job& job, const model::RunKey& key,
                                   model::Trigger trigger, std::string_view worker, int shard_total,
                                   Time now) const;
  // Picks workers and adds the assignments (or a "no live worker" record) to
  // `unit`. `single`: one worker whatever the job's routing (retries);
  // `keep_shard_total` > 0: the run is shard key.shard_index of that many.
  void Route(const model::Job& job, const model::RunKey& key, model::Trigger trigger,
             std::string_view avoid, bool single, std::optional<std::string> params, Time now,
             WriteUnit& unit, int& assigned, int keep_shard_total = 0);
  std::vector<dispatch::LiveWorker> LiveWorkers(const std::string& group) const;
  bool Active(const std::string& job_id) const;

  // leader_runs.cc
  void Reconcile(Time now, std::vector<WriteUnit>& units);
  void FailOver(Time now, std::vector<WriteUnit>& units);
  void MoveOrphans(const std::string& group, std::vector<WriteUnit>& units);
  // Assignments left unclaimed on a live worker past unclaimed_move_after.
  void MoveUnclaimed(Time now, std::vector<WriteUnit>& units);
  // Adds a unit moving assignment `key` to the least busy of `live`;
  // false when it stays (claimed, a broadcast copy, nowhere better to go).
  bool Move(const std::string& key, const AssignmentEntry& a,
            std::vector<dispatch::LiveWorker>& live, bool only_if_less_busy,
            std::vector<WriteUnit>& units);
  void MarkLost(const std::string& group, const std::string& worker, Time now,
                std::vector<WriteUnit>& units);
  void DecideRetries(Time now, std::vector<WriteUnit>& units);
  void DecideRetry(const RecordEntry& record, Time now, std::vector<WriteUnit>& units);
  void DispatchRetries(Time now, std::vector<WriteUnit>& units);
  void CheckTimeouts(Time now, std::vector<WriteUnit>& units);
  void ServeRuns(Time now, std::vector<WriteUnit>& units);
  void ArmTimeout(const std::string& key, const RecordEntry& record);
  std::optional<Time> NextTimer();
};

}  // namespace forest::scheduler::internal
