// Planning and firing: the plan table, cursors, misfire and concurrency
// rules, routing of fires (leader_impl.h).
#include <spdlog/spdlog.h>

#include <deque>

#include "common/log.h"
#include "scheduler/leader_impl.h"

namespace forest::scheduler::internal {
namespace {

namespace keys = model::keys;
using model::Concurrency;
using model::Misfire;
using model::Routing;

// A broadcast or shard fire is one transaction: at most this many workers.
constexpr size_t kMaxFanOut = coord::kMaxTxnOps - 2;

bool SingleWorker(Routing r) { return r != Routing::kBroadcast && r != Routing::kShard; }

// Reads a cursor straight from the store (after a conflict).
std::optional<CursorEntry> ReadCursor(coord::Store& store, const std::string& job_id) {
  coord::RangeRequest request;
  request.key = keys::Cursor(job_id);
  auto response = store.Range(request);
  if (!response.ok()) return std::nullopt;
  if (response->kvs.empty()) return CursorEntry{};
  auto cursor = Cursor::FromJson(response->kvs[0].value);
  if (!cursor.ok()) return std::nullopt;
  return CursorEntry{*cursor, response->kvs[0].mod_revision};
}

}  // namespace

void LeaderImpl::Replan(const std::string& job_id) {
  const auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.enabled()) {
    plan_.Remove(job_id);
    return;
  }
  const JobEntry& entry = it->second;
  const auto cursor = cursors_.find(job_id);
  // A new, edited or resumed job starts now: its cursor is for another
  // version (the leader records the new start in InitCursors).
  // (Never before the old cursor: what it covers was handled.)
  const bool has_cursor = cursor != cursors_.end() && cursor->second.mod_revision != 0;
  Time after = clock_.Now();
  if (has_cursor && cursor->second.cursor.conf_revision == entry.mod_revision) {
    after = cursor->second.cursor.scheduled_time;
  } else if (has_cursor) {
    after = std::max(after, cursor->second.cursor.scheduled_time);
  }
  plan_.Upsert(job_id, *entry.schedule, after, entry.job.start_at, entry.job.end_at);
}

void LeaderImpl::InitCursors(Time now, std::vector<WriteUnit>& units, bool all) {
  std::vector<std::string> ids;
  if (all) {
    for (const auto& [id, entry] : jobs_) ids.push_back(id);
    for (const auto& [id, cursor] : cursors_) {
      if (!jobs_.contains(id)) ids.push_back(id);
    }
  } else {
    ids.assign(dirty_jobs_.begin(), dirty_jobs_.end());
    dirty_jobs_.clear();
  }
  for (const std::string& id : ids) {
    const auto job = jobs_.find(id);
    const auto cursor = cursors_.find(id);
    const coord::Revision cursor_revision =
        cursor == cursors_.end() ? 0 : cursor->second.mod_revision;
    WriteUnit unit;
    unit.compares.push_back(
        coord::Compare::ModRevision(keys::Cursor(id), coord::Compare::Result::kEqual,
                                    cursor_revision));
    if (job == jobs_.end()) {
      // Deleted: its cursor goes too.
      if (cursor_revision == 0) continue;
      unit.ops.push_back(DeleteOp(keys::Cursor(id)));
      unit.on_commit = [this, id](coord::Revision) { cursors_.erase(id); };
    } else {
      Replan(id);
      if (!job->second.enabled()) continue;
      if (cursor_revision != 0 && cursor->second.cursor.conf_revision == job->second.mod_revision) {
        continue;
      }
      // New, edited or resumed: it starts now (Replan planned it so).
      // Never behind the old cursor (a leader whose clock is behind the last
      // one's must not fire a handled time again).
      const Time start =
          cursor_revision != 0 ? std::max(now, cursor->second.cursor.scheduled_time) : now;
      const Cursor fresh{start, job->second.mod_revision};
      unit.ops.push_back(PutOp(keys::Cursor(id), fresh.ToJson()));
      unit.on_commit = [this, id, fresh](coord::Revision r) { cursors_[id] = {fresh, r}; };
    }
    unit.on_conflict = [this, id] {
      if (auto read = ReadCursor(store_, id)) {
        if (read->mod_revision == 0) {
          cursors_.erase(id);
        } else {
          cursors_[id] = *read;
        }
      }
      dirty_jobs_.insert(id);
    };
    unit.on_error = [this, id](const absl::Status&) { dirty_jobs_.insert(id); };
    units.push_back(std::move(unit));
  }
}

std::vector<dispatch::LiveWorker> LeaderImpl::LiveWorkers(const std::string& group) const {
  std::vector<dispatch::LiveWorker> out;
  const auto g = workers_.find(group);
  if (g == workers_.end()) return out;
  out.reserve(g->second.size());
  for (const auto& [name, revision] : g->second) {
    const auto busy = busy_.find(fmt::format("{}/{}", group, name));
    out.push_back({name, busy == busy_.end() ? 0 : busy->second});
  }
  return out;
}

bool LeaderImpl::Active(const std::string& job_id) const {
  return active_by_job_.contains(job_id) || recent_dispatch_.contains(job_id);
}

model::Assignment LeaderImpl::MakeAssignment(const model::Job& job, const model::RunKey& key,
                                             model::Trigger trigger, std::string_view worker,
                                             int shard_total, Time now) const {
  model::Assignment a;
  a.id = model::SnapshotId(key);
  a.job_id = job.id;
  a.name = job.name;
  a.ip = std::string(worker);
  a.group = job.group;
  a.cron = job.cron;
  a.target = job.target;
  a.params = job.params;
  a.mobile = job.mobile;
  a.remark = job.remark;
  a.create_time = model::FormatLegacyTime(now, options_.legacy_zone);
  a.scheduled_time = key.scheduled;
  a.trigger = trigger;
  a.attempt = key.attempt;
  a.shard_index = shard_total > 1 ? key.shard_index : 0;
  a.shard_total = shard_total;
  a.timeout_seconds = job.timeout_seconds;
  return a;
}

void LeaderImpl::Route(const model::Job& job, const model::RunKey& key, model::Trigger trigger,
                       std::string_view avoid, bool single, std::optional<std::string> params,
                       Time now, WriteUnit& unit, int& assigned, int keep_shard_total) {
  const std::vector<dispatch::LiveWorker> workers = LiveWorkers(job.group);
  const Routing routing =
      single && !SingleWorker(job.routing) ? Routing::kLeastBusy : job.routing;
  const std::vector<dispatch::Pick> picks = router_.Route(routing, job.id, workers, avoid);
  if (picks.empty() || picks.size() > kMaxFanOut) {
    // Nobody to run it: an error record says so, and the retry policy
    // decides what follows (as for any failed run).
    model::ExecutionRecord record;
    record.run = MakeAssignment(job, key, trigger, "", 1, now);
    if (params) record.run.params = *params;
    record.status = model::RunStatus::kError;
    record.result =
        picks.empty()
            ? fmt::format("no live worker in group '{}'", job.group)
            : fmt::format("group '{}' has {} workers; one {} reaches at most {} atomically",
                          job.group, picks.size(), model::Name(routing), kMaxFanOut);
    record.start_time = record.finish_time = record.run.create_time;
    record.started_at = now;
    record.duration_ms = 0;
    unit.ops.push_back(PutOp(
        keys::Execute(job.group, keys::kNoWorker, record.run.id), record.ToJson()));
    ++stats_.no_worker;
    probe_.NoWorker();
    LogEvent(spdlog::level::info, {.job = job.id, .execution = record.run.id}, "run of job {}: {}",
             job.id, record.result);
    return;
  }
  for (size_t i = 0; i < picks.size(); ++i) {
    const dispatch::Pick& pick = picks[i];
    model::RunKey k = key;
    // Every worker's run needs its own id: the shard index for shards,
    // the worker's position for a broadcast.
    if (picks.size() > 1) k.shard_index = routing == Routing::kShard ? pick.shard_index : int(i);
    model::Assignment a = MakeAssignment(job, k, trigger, workers[pick.worker].name,
                                         routing == Routing::kShard ? pick.shard_total : 1, now);
    if (keep_shard_total > 1) {
      a.shard_index = key.shard_index;
      a.shard_total = keep_shard_total;
    }
    if (params) a.params = *params;
    unit.ops.push_back(PutOp(keys::Snapshot(job.group, a.ip, a.id), a.ToJson()));
    ++assigned;
  }
}

void LeaderImpl::FireDue(Time now, std::vector<WriteUnit>& units) {
  std::vector<Fire> fires;
  plan_.TakeDue(now, options_.max_fires_per_tick, fires);
  if (fires.empty()) return;
  // One unit per job (its cursor can be written once a transaction), its
  // times in order.
  std::vector<std::pair<std::string, std::vector<Time>>> by_job;
  absl::flat_hash_map<std::string, size_t> index;
  for (Fire& fire : fires) {
    auto [it, fresh] = index.emplace(fire.job_id, by_job.size());
    if (fresh) by_job.emplace_back(std::move(fire.job_id), std::vector<Time>{});
    by_job[it->second].second.push_back(fire.scheduled);
  }
  const Time boundary = now - options_.misfire_threshold;
  for (auto& [id, times] : by_job) {
    const auto found = jobs_.find(id);
    if (found == jobs_.end() || !found->second.enabled()) continue;
    const JobEntry& entry = found->second;
    const model::Job& job = entry.job;
    Time consumed = times.back();
    std::vector<Time> due;  // the times to dispatch
    std::optional<MisfireEvent> misfire;  // told once the cursor is written
    size_t old = 0;
    while (old < times.size() && times[old] <= boundary) ++old;
    if (old > 0) {
      // Missed by more than the threshold: the misfire policy decides. The
      // plan table may hold more such times; skip them all at once.
      std::deque<Time> keep;
      if (job.misfire == Misfire::kFireOnce) {
        keep.push_back(times[0]);
      } else if (job.misfire == Misfire::kFireAll) {
        const size_t cap = static_cast<size_t>(std::max(1, options_.fire_all_cap));
        for (size_t i = 0; i < old; ++i) {
          keep.push_back(times[i]);
          if (keep.size() > cap) keep.pop_front();
        }
        // The rest of the missed times still in the plan, latest `cap` kept.
        Time t = times[old - 1];
        for (int guard = 0; guard < 10'000'000; ++guard) {
          const auto next = entry.schedule->Next(t);
          if (!next || *next > boundary || (job.end_at && *next >= *job.end_at)) break;
          t = *next;
          if (times.size() == old || t < times[old]) {
            keep.push_back(t);
            if (keep.size() > cap) keep.pop_front();
          }
        }
      }
      const int64_t missed = static_cast<int64_t>(old);
      const int64_t dropped = std::max<int64_t>(0, missed - static_cast<int64_t>(keep.size()));
      stats_.skipped_misfire += dropped;
      probe_.Misfired(dropped);
      if (dropped > 0) {
        LogEvent(spdlog::level::info, {.job = id},
                 "job {}: {} missed scheduled times dropped by its misfire policy", id, dropped);
      }
      if (options_.observer != nullptr) {
        misfire.emplace();
        misfire->job_id = id;
        misfire->job_name = job.name;
        misfire->group = job.group;
        misfire->missed = missed;
        misfire->fired = static_cast<int64_t>(keep.size());
        misfire->first_missed = times[0];
        misfire->last_missed = times[old - 1];
        misfire->policy = job.misfire;
      }
      due.assign(keep.begin(), keep.end());
      consumed = std::max(consumed, boundary);
      plan_.Upsert(id, *entry.schedule, consumed, job.start_at, job.end_at);
    }
    due.insert(due.end(), times.begin() + static_cast<std::ptrdiff_t>(old), times.end());

    WriteUnit unit;
    const std::string cursor_key = keys::Cursor(id);
    const auto cursor = cursors_.find(id);
    unit.compares.push_back(coord::Compare::ModRevision(
        cursor_key, coord::Compare::Result::kEqual,
        cursor == cursors_.end() ? 0 : cursor->second.mod_revision));
    const Time previous = cursor == cursors_.end() ? Time{} : cursor->second.cursor.scheduled_time;

    // Operations one fire takes; the cursor put takes one more.
    const size_t per_fire =
        SingleWorker(job.routing) ? 1 : std::max<size_t>(1, LiveWorkers(job.group).size());

    // Concurrency.
    if (job.concurrency == Concurrency::kForbid) {
      if (Active(id)) {
        stats_.skipped_forbid += static_cast<int64_t>(due.size());
        probe_.ConcurrencySkipped(static_cast<int64_t>(due.size()));
        due.clear();
      } else if (due.size() > 1) {
        stats_.skipped_forbid += static_cast<int64_t>(due.size() - 1);
        probe_.ConcurrencySkipped(static_cast<int64_t>(due.size() - 1));
        due.erase(due.begin() + 1, due.end());
      }
    } else if (job.concurrency == Concurrency::kReplace && !due.empty()) {
      if (due.size() > 1) {
        stats_.skipped_forbid += static_cast<int64_t>(due.size() - 1);
        probe_.ConcurrencySkipped(static_cast<int64_t>(due.size() - 1));
        due.erase(due.begin(), due.end() - 1);
      }
      const size_t budget = coord::kMaxTxnOps - 1 - std::min(per_fire, coord::kMaxTxnOps - 1);
      if (const auto active = active_by_job_.find(id); active != active_by_job_.end()) {
        for (const std::string& key : active->second) {
          if (unit.ops.size() >= budget || unit.compares.size() >= coord::kMaxTxnOps / 2) break;
          if (const auto a = assignments_.find(key); a != assignments_.end()) {
            // Not claimed yet: withdraw it (if it is being claimed right now,
            // the compare fails and the next tick sees the running record).
            unit.compares.push_back(coord::Compare::CreateRevision(
                key, coord::Compare::Result::kEqual, a->second.create_revision));
            unit.ops.push_back(DeleteOp(key));
          } else if (const auto r = records_.find(key); r != records_.end()) {
            unit.ops.push_back(PutOp(
                keys::Kill(r->second.group, r->second.worker, r->second.id),
                nlohmann::json{{"reason", "replaced by the next run"},
                               {"at", FormatRfc3339Millis(now)}}
                    .dump()));
          }
        }
      }
    }

    int assigned = 0;
    size_t taken = 0;
    for (const Time t : due) {
      if (taken > 0 && unit.ops.size() + per_fire + 1 > coord::kMaxTxnOps) break;
      Route(job, model::RunKey{id, t}, model::Trigger::kCron, {}, false, std::nullopt, now, unit,
            assigned);
      ++taken;
    }
    if (taken < due.size()) {
      // No room for the rest in one transaction: they come back next tick
      // (apart from missed times the policy dropped).
      consumed = due[taken - 1];
      if (old > 0 && job.misfire != Misfire::kFireAll) consumed = std::max(consumed, boundary);
      plan_.Upsert(id, *entry.schedule, consumed, job.start_at, job.end_at);
    }
    if (consumed <= previous) continue;  // nothing new (defensive)
    const Cursor next{consumed, entry.mod_revision};
    unit.ops.push_back(PutOp(cursor_key, next.ToJson()));
    const int64_t fired = static_cast<int64_t>(times.size());
    std::vector<std::string> assignment_keys;
    for (const coord::Op& op : unit.ops) {
      if (const auto* put = std::get_if<coord::PutRequest>(&op); put && put->key != cursor_key) {
        assignment_keys.push_back(put->key);
      }
    }
    due.resize(taken);  // the times dispatched, for the lag
    unit.on_commit = [this, id, next, fired, assigned, misfire = std::move(misfire),
                      dispatched = std::move(due),
                      assignment_keys = std::move(assignment_keys)](coord::Revision r) {
      cursors_[id] = {next, r};
      if (misfire) options_.observer->OnMisfire(*misfire);
      if (assigned > 0 && r > revision_) {
        recent_dispatch_[id] = r;
        recent_order_.emplace(r, id);
      }
      for (const std::string& key : assignment_keys) MarkWritten(key, r);
      stats_.fires += fired;
      stats_.assignments += assigned;
      probe_.Fired(model::Trigger::kCron, static_cast<int64_t>(dispatched.size()));
      probe_.Assigned(assigned);
      const Time committed = clock_.Now();
      for (const Time t : dispatched) {
        probe_.FireLag(std::chrono::duration_cast<std::chrono::milliseconds>(committed - t));
        LogEvent(spdlog::level::debug, {.job = id}, "job {}: fired {} ({} assignments)", id,
                 FormatRfc3339Millis(t), assigned);
      }
    };
    unit.on_conflict = [this, id] {
      // Someone wrote the cursor (an earlier write of ours whose answer was
      // lost): take the store's word and plan from there.
      if (auto read = ReadCursor(store_, id)) {
        if (read->mod_revision == 0) {
          cursors_.erase(id);
        } else {
          cursors_[id] = *read;
        }
      }
      Replan(id);
    };
    unit.on_error = [this, id, now](const absl::Status& status) {
      // Not written (or not known to be): plan from the cursor again, so the
      // times come back, late, next tick.
      Replan(id);
      if (!absl::IsFailedPrecondition(status)) {
        retry_after_ = now + std::chrono::milliseconds(200);
        LogEvent(spdlog::level::warn, {.job = id}, "dispatch of job {} failed: {}", id,
                 std::string(status.message()));
      }
    };
    units.push_back(std::move(unit));
  }
}

}  // namespace forest::scheduler::internal
