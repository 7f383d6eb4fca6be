// Runs after dispatch: failover of unclaimed assignments, lost and
// timed-out runs, retries, run requests (leader_impl.h).
#include <spdlog/spdlog.h>

#include <cmath>

#include "common/log.h"
#include "scheduler/leader_impl.h"

namespace forest::scheduler::internal {
namespace {

namespace keys = model::keys;
using coord::Compare;

std::string KillValue(std::string_view reason, Time now) {
  return nlohmann::json{{"reason", reason}, {"at", FormatRfc3339Millis(now)}}.dump();
}

// The run's identity, from our id (the original's ids carry none).
std::optional<model::RunKey> RunKeyOf(const model::Assignment& run) {
  auto key = model::ParseSnapshotId(run.id);
  if (!key.ok()) return std::nullopt;
  return *key;
}

}  // namespace

void LeaderImpl::Reconcile(Time now, std::vector<WriteUnit>& units) {
  InitCursors(now, units, /*all=*/true);
  std::set<std::string> orphan_groups;
  for (const auto& [key, a] : assignments_) {
    if (!Live(a.group, a.worker)) orphan_groups.insert(a.group);
  }
  for (const std::string& group : orphan_groups) MoveOrphans(group, units);
  for (const auto& [key, a] : assignments_) {
    unclaimed_timers_.emplace(now + options_.unclaimed_move_after, key);
  }
  std::set<std::pair<std::string, std::string>> lost;
  for (const auto& [key, r] : records_) {
    if (r.doc.status == model::RunStatus::kRunning) {
      if (Live(r.group, r.worker)) {
        ArmTimeout(key, r);
      } else {
        lost.emplace(r.group, r.worker);
      }
    } else {
      final_records_.insert(key);
    }
  }
  for (const auto& [group, worker] : lost) MarkLost(group, worker, now, units);
  DecideRetries(now, units);
  for (const auto& [key, retry] : retries_) {
    retry_timers_.emplace(retry.intent.dispatched_at ? now : retry.intent.due_at, key);
  }
  for (const auto& [key, run] : runs_) new_runs_.insert(key);
  ServeRuns(now, units);
}

void LeaderImpl::FailOver(Time now, std::vector<WriteUnit>& units) {
  for (const auto& [group, worker] : lost_workers_) {
    if (Live(group, worker)) continue;  // back already
    MarkLost(group, worker, now, units);
    joined_groups_.insert(group);  // its assignments are orphans now
  }
  lost_workers_.clear();
  for (const std::string& group : joined_groups_) MoveOrphans(group, units);
  joined_groups_.clear();
}

bool LeaderImpl::Move(const std::string& key, const AssignmentEntry& a,
                      std::vector<dispatch::LiveWorker>& live, bool only_if_less_busy,
                      std::vector<WriteUnit>& units) {
  if (Stale(key)) return false;
  // Claimed by a worker that writes its record before deleting the
  // assignment (the original's clients): not ours to move.
  const std::string record_key = keys::Execute(a.group, a.worker, a.id);
  if (records_.contains(record_key)) return false;
  // A broadcast copy belongs to its worker: every other worker has its own.
  if (const auto job = jobs_.find(a.doc.job_id);
      job != jobs_.end() && job->second.job.routing == model::Routing::kBroadcast &&
      a.doc.trigger != model::Trigger::kRetry) {
    return false;
  }
  // Least busy among the live workers; ties spread by the router.
  const auto picks = router_.Route(model::Routing::kLeastBusy, a.doc.job_id, live, a.worker);
  if (picks.empty() || live[picks[0].worker].name == a.worker) return false;
  dispatch::LiveWorker& target = live[picks[0].worker];
  if (only_if_less_busy) {
    const auto source = busy_.find(fmt::format("{}/{}", a.group, a.worker));
    if (target.running >= (source == busy_.end() ? 0 : source->second) - 1) return false;
  }
  model::Assignment moved = a.doc;
  moved.ip = target.name;
  moved.trigger = model::Trigger::kFailover;
  const std::string to = keys::Snapshot(a.group, target.name, a.id);
  WriteUnit unit;
  // The source must still be unclaimed, the target alive and free.
  unit.compares.push_back(Compare::CreateRevision(key, Compare::Result::kEqual, a.create_revision));
  unit.compares.push_back(
      Compare::CreateRevision(keys::Client(a.group, target.name), Compare::Result::kGreater, 0));
  unit.compares.push_back(Compare::Absent(to));
  unit.compares.push_back(Compare::Absent(record_key));
  unit.ops.push_back(DeleteOp(key));
  unit.ops.push_back(PutOp(to, moved.ToJson()));
  ++target.running;
  unit.on_commit = [this, from = key, to, job = a.doc.job_id, id = a.id](coord::Revision r) {
    MarkWritten(from, r);
    MarkWritten(to, r);
    ++stats_.moved;
    probe_.Fired(model::Trigger::kFailover);
    probe_.Assigned(1);
    LogEvent(spdlog::level::info, {.job = job, .execution = id}, "failover: {} -> {}", from, to);
  };
  units.push_back(std::move(unit));
  return true;
}

void LeaderImpl::MoveOrphans(const std::string& group, std::vector<WriteUnit>& units) {
  std::vector<dispatch::LiveWorker> live = LiveWorkers(group);
  if (live.empty()) return;  // they wait for a worker to join
  const std::string prefix = std::string(keys::kSnapshotPrefix) + group + "/";
  for (auto it = assignments_.lower_bound(prefix);
       it != assignments_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (Live(it->second.group, it->second.worker)) continue;
    if (Move(it->first, it->second, live, /*only_if_less_busy=*/false, units)) {
      units.back().on_error = [this, group](const absl::Status&) { joined_groups_.insert(group); };
    }
  }
}

void LeaderImpl::MoveUnclaimed(Time now, std::vector<WriteUnit>& units) {
  std::set<std::string> seen;
  std::vector<Timer> later;
  while (!unclaimed_timers_.empty() && unclaimed_timers_.top().first <= now) {
    const std::string key = unclaimed_timers_.top().second;
    unclaimed_timers_.pop();
    const auto it = assignments_.find(key);
    if (it == assignments_.end() || !seen.insert(key).second) continue;
    const AssignmentEntry& a = it->second;
    if (!Live(a.group, a.worker)) continue;  // an orphan: MoveOrphans' business
    // Still waiting on a live worker (full, or slow): elsewhere if someone
    // is less busy, else look again later.
    std::vector<dispatch::LiveWorker> live = LiveWorkers(a.group);
    if (!Move(key, a, live, /*only_if_less_busy=*/true, units)) {
      later.emplace_back(now + options_.unclaimed_move_after, key);
    } else {
      units.back().on_error = [this, key, now](const absl::Status&) {
        unclaimed_timers_.emplace(now + options_.unclaimed_move_after, key);
      };
    }
  }
  for (Timer& t : later) unclaimed_timers_.push(std::move(t));
}

void LeaderImpl::MarkLost(const std::string& group, const std::string& worker, Time now,
                          std::vector<WriteUnit>& units) {
  // Draining (client key withdrawn, facts alive): its runs are finishing.
  if (alive_.contains(fmt::format("{}/{}", group, worker))) return;
  const std::string prefix = keys::Execute(group, worker, "");
  for (auto it = records_.lower_bound(prefix);
       it != records_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const RecordEntry& r = it->second;
    if (r.doc.status != model::RunStatus::kRunning || Stale(it->first)) continue;
    model::ExecutionRecord lost = r.doc;
    lost.status = model::RunStatus::kUnknown;
    lost.result = fmt::format("worker '{}' was lost while running this (its registration expired)",
                              worker);
    lost.finish_time = model::FormatLegacyTime(now, options_.legacy_zone);
    WriteUnit unit;
    unit.compares.push_back(
        Compare::ModRevision(it->first, Compare::Result::kEqual, r.mod_revision));
    unit.compares.push_back(Compare::Absent(keys::Client(group, worker)));
    unit.compares.push_back(Compare::Absent(keys::WorkerFacts(group, worker)));
    unit.ops.push_back(PutOp(it->first, lost.ToJson()));
    unit.on_commit = [this, key = it->first, job = r.doc.run.job_id, id = r.id,
                      worker](coord::Revision rev) {
      MarkWritten(key, rev);
      ++stats_.lost_runs;
      probe_.RunLost();
      LogEvent(spdlog::level::warn, {.job = job, .execution = id},
               "run {} of job {}: unknown, worker '{}' was lost while running it", id, job, worker);
    };
    unit.on_error = [this, group, worker](const absl::Status&) {
      lost_workers_.emplace(group, worker);
    };
    units.push_back(std::move(unit));
  }
}

void LeaderImpl::ArmTimeout(const std::string& key, const RecordEntry& record) {
  int64_t timeout = record.doc.run.timeout_seconds;
  if (timeout <= 0) {
    const auto job = jobs_.find(record.doc.run.job_id);
    if (job != jobs_.end()) timeout = job->second.job.timeout_seconds;
  }
  if (timeout <= 0) return;
  Time start = clock_.Now();
  if (record.doc.started_at) {
    start = *record.doc.started_at;
  } else if (auto parsed = ParseIso8601(record.doc.start_time, options_.legacy_zone); parsed.ok()) {
    start = *parsed;
  }
  timeout_timers_.emplace(start + std::chrono::seconds(timeout) + options_.timeout_grace, key);
}

void LeaderImpl::CheckTimeouts(Time now, std::vector<WriteUnit>& units) {
  while (!timeout_timers_.empty() && timeout_timers_.top().first <= now) {
    const std::string key = timeout_timers_.top().second;
    timeout_timers_.pop();
    const auto it = records_.find(key);
    if (it == records_.end() || it->second.doc.status != model::RunStatus::kRunning ||
        Stale(key)) {
      continue;
    }
    const RecordEntry& r = it->second;
    model::ExecutionRecord timed_out = r.doc;
    timed_out.status = model::RunStatus::kError;
    timed_out.result = fmt::format(
        "timed out: no final status from worker '{}' {} s after the run's timeout", r.worker,
        std::chrono::duration_cast<std::chrono::seconds>(options_.timeout_grace).count());
    timed_out.finish_time = model::FormatLegacyTime(now, options_.legacy_zone);
    WriteUnit unit;
    unit.compares.push_back(Compare::ModRevision(key, Compare::Result::kEqual, r.mod_revision));
    unit.ops.push_back(PutOp(key, timed_out.ToJson()));
    // Ask the worker to stop it (workers of ours watch this key).
    unit.ops.push_back(
        PutOp(keys::Kill(r.group, r.worker, r.id), KillValue("timed out", now)));
    unit.on_commit = [this, key, job = r.doc.run.job_id, id = r.id](coord::Revision rev) {
      MarkWritten(key, rev);
      ++stats_.timed_out;
      probe_.RunTimedOut();
      LogEvent(spdlog::level::warn, {.job = job, .execution = id},
               "run {} of job {}: timed out (no final status from its worker)", id, job);
    };
    unit.on_error = [this, key, now](const absl::Status&) {
      timeout_timers_.emplace(now + std::chrono::seconds(1), key);
    };
    units.push_back(std::move(unit));
  }
}

void LeaderImpl::DecideRetries(Time now, std::vector<WriteUnit>& units) {
  for (const std::string& key : final_records_) {
    const auto it = records_.find(key);
    if (it == records_.end() || Stale(key)) continue;
    const RecordEntry& r = it->second;
    if (!model::IsFinal(r.doc.status)) continue;
    if (r.doc.status == model::RunStatus::kError || r.doc.status == model::RunStatus::kUnknown) {
      DecideRetry(r, now, units);
    }
  }
  final_records_.clear();
}

void LeaderImpl::DecideRetry(const RecordEntry& record, Time now, std::vector<WriteUnit>& units) {
  const std::optional<model::RunKey> key = RunKeyOf(record.doc.run);
  if (!key) return;
  const auto job = jobs_.find(key->job_id);
  if (job == jobs_.end() || !job->second.enabled()) return;
  const model::RetryPolicy& policy = job->second.job.retry;
  if (key->attempt >= policy.max_attempts) return;
  RetryIntent intent;
  intent.run = *key;
  intent.run.attempt = key->attempt + 1;
  const std::string retry_key = keys::Retry(key->job_id, model::SnapshotId(intent.run));
  if (retries_.contains(retry_key) || Stale(retry_key)) return;  // decided already
  intent.previous_id = record.id;
  intent.previous_key = keys::Execute(record.group, record.worker, record.id);
  intent.avoid = record.worker == keys::kNoWorker ? "" : record.worker;
  intent.params = record.doc.run.params;
  intent.origin = key->manual ? record.doc.run.trigger : model::Trigger::kCron;
  if (intent.origin == model::Trigger::kRetry || intent.origin == model::Trigger::kFailover) {
    intent.origin = key->manual ? model::Trigger::kManual : model::Trigger::kCron;
  }
  intent.shard_total = record.doc.run.shard_total;
  const double backoff =
      policy.backoff_seconds * std::pow(policy.factor, std::max(0, key->attempt - 1));
  intent.due_at = now + std::chrono::milliseconds(static_cast<int64_t>(backoff * 1000.0));
  WriteUnit unit;
  unit.compares.push_back(Compare::Absent(retry_key));
  unit.ops.push_back(PutOp(retry_key, intent.ToJson()));
  unit.on_commit = [this, retry_key, due = intent.due_at](coord::Revision r) {
    MarkWritten(retry_key, r);
    retry_timers_.emplace(due, retry_key);
  };
  unit.on_error = [this, key = intent.previous_key](const absl::Status&) {
    final_records_.insert(key);
  };
  units.push_back(std::move(unit));
}

void LeaderImpl::DispatchRetries(Time now, std::vector<WriteUnit>& units) {
  // Dispatched intents are forgotten after the retention.
  std::vector<Timer> later;
  std::set<std::string> seen;  // a key may have several timers
  while (!retry_timers_.empty() && retry_timers_.top().first <= now) {
    const std::string key = retry_timers_.top().second;
    retry_timers_.pop();
    if (!seen.insert(key).second) continue;
    const auto it = retries_.find(key);
    if (it == retries_.end()) {
      if (Stale(key)) later.emplace_back(now + std::chrono::milliseconds(100), key);
      continue;
    }
    const RetryEntry& retry = it->second;
    WriteUnit unit;
    unit.compares.push_back(Compare::ModRevision(key, Compare::Result::kEqual, retry.mod_revision));
    if (retry.intent.dispatched_at) {
      // Remembered while the failed run's record exists (until collected).
      if (records_.contains(retry.intent.previous_key)) {
        later.emplace_back(now + options_.retry_gc_interval, key);
        continue;
      }
      unit.ops.push_back(DeleteOp(key));
      unit.on_error = [this, key, now](const absl::Status&) {
        retry_timers_.emplace(now + options_.retry_gc_interval, key);
      };
      units.push_back(std::move(unit));
      continue;
    }
    const auto job = jobs_.find(retry.intent.run.job_id);
    RetryIntent done = retry.intent;
    done.dispatched_at = now;
    int assigned = 0;
    if (job != jobs_.end() && job->second.enabled()) {
      Route(job->second.job, retry.intent.run, model::Trigger::kRetry, retry.intent.avoid,
            /*single=*/true, retry.intent.params, now, unit, assigned, retry.intent.shard_total);
    }
    unit.ops.push_back(PutOp(key, done.ToJson()));
    unit.on_commit = [this, key, assigned, check = now + options_.retry_gc_interval,
                      job = retry.intent.run.job_id,
                      id = model::SnapshotId(retry.intent.run)](coord::Revision r) {
      MarkWritten(key, r);
      stats_.retries += assigned;
      stats_.assignments += assigned;
      retry_timers_.emplace(check, key);
      probe_.Fired(model::Trigger::kRetry);
      probe_.Assigned(assigned);
      LogEvent(spdlog::level::info, {.job = job, .execution = id}, "job {}: retry {} dispatched",
               job, id);
    };
    unit.on_error = [this, key, now, job = retry.intent.run.job_id](const absl::Status& status) {
      LogEvent(spdlog::level::warn, {.job = job}, "retry {} not dispatched: {}", key,
               std::string(status.message()));
      retry_timers_.emplace(now + std::chrono::seconds(1), key);
    };
    // An earlier attempt whose answer was lost landed: look again once the
    // view has it.
    unit.on_conflict = [this, key, now] {
      retry_timers_.emplace(now + std::chrono::seconds(1), key);
    };
    units.push_back(std::move(unit));
  }
  for (Timer& t : later) retry_timers_.push(std::move(t));
}

void LeaderImpl::ServeRuns(Time now, std::vector<WriteUnit>& units) {
  for (const std::string& key : new_runs_) {
    const auto it = runs_.find(key);
    if (it == runs_.end() || Stale(key)) continue;
    const RunRequest& request = it->second.request;
    WriteUnit unit;
    unit.compares.push_back(
        Compare::CreateRevision(key, Compare::Result::kEqual, it->second.create_revision));
    unit.ops.push_back(DeleteOp(key));
    int assigned = 0;
    const auto job = jobs_.find(request.job_id);
    if (job != jobs_.end() && job->second.schedule) {
      model::RunKey run{request.job_id, request.requested_at, /*manual=*/true};
      Route(job->second.job, run, request.trigger, {}, false, request.params, now, unit, assigned);
    } else {
      LogEvent(spdlog::level::warn, {.job = request.job_id},
               "run request {}: job {} is gone or invalid; dropped", key, request.job_id);
    }
    unit.on_commit = [this, key, assigned, trigger = request.trigger,
                      job = request.job_id](coord::Revision r) {
      MarkWritten(key, r);
      ++stats_.manual_runs;
      stats_.assignments += assigned;
      probe_.Fired(trigger);
      probe_.Assigned(assigned);
      LogEvent(spdlog::level::info, {.job = job}, "job {}: run request served ({} assignments)",
               job, assigned);
    };
    unit.on_error = [this, key](const absl::Status&) { new_runs_.insert(key); };
    units.push_back(std::move(unit));
  }
  new_runs_.clear();
}

}  // namespace forest::scheduler::internal
