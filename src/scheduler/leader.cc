// The Leader's view of the cluster, its role, and Tick (leader_impl.h).
#include "scheduler/leader.h"

#include <spdlog/spdlog.h>

#include <random>

#include "common/log.h"
#include "scheduler/leader_impl.h"

namespace forest::scheduler {
namespace internal {
namespace {

using nlohmann::json;

absl::StatusOr<json> ParseJsonObject(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  return j;
}

absl::StatusOr<Time> TimeField(const json& j, const char* field) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_string()) {
    return absl::InvalidArgumentError(fmt::format("{}: expected a time", field));
  }
  return ParseIso8601(it->get<std::string>(), TimeZone::Utc());
}

int64_t IntField(const json& j, const char* field, int64_t fallback) {
  const auto it = j.find(field);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

std::string StringField(const json& j, const char* field) {
  const auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string BusyKey(std::string_view group, std::string_view worker) {
  return fmt::format("{}/{}", group, worker);
}

}  // namespace

absl::StatusOr<Cursor> Cursor::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(const json j, ParseJsonObject(text));
  Cursor c;
  ASSIGN_OR_RETURN(c.scheduled_time, TimeField(j, "scheduledTime"));
  c.conf_revision = IntField(j, "confRevision", 0);
  return c;
}

std::string Cursor::ToJson() const {
  return json{{"scheduledTime", FormatRfc3339Millis(scheduled_time)},
              {"confRevision", conf_revision}}
      .dump();
}

absl::StatusOr<RetryIntent> RetryIntent::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(const json j, ParseJsonObject(text));
  RetryIntent r;
  ASSIGN_OR_RETURN(r.run, model::ParseSnapshotId(StringField(j, "id")));
  r.previous_id = StringField(j, "previousId");
  r.previous_key = StringField(j, "previousKey");
  r.avoid = StringField(j, "avoid");
  r.params = StringField(j, "params");
  if (auto origin = model::ParseTrigger(StringField(j, "origin")); origin.ok()) r.origin = *origin;
  r.shard_total = static_cast<int>(IntField(j, "shardTotal", 1));
  ASSIGN_OR_RETURN(r.due_at, TimeField(j, "dueAt"));
  if (j.contains("dispatchedAt")) {
    ASSIGN_OR_RETURN(r.dispatched_at, TimeField(j, "dispatchedAt"));
  }
  return r;
}

std::string RetryIntent::ToJson() const {
  json j{{"id", model::SnapshotId(run)},
         {"jobId", run.job_id},
         {"attempt", run.attempt},
         {"scheduledTime", FormatRfc3339Millis(run.scheduled)},
         {"previousId", previous_id},
         {"previousKey", previous_key},
         {"avoid", avoid},
         {"params", params},
         {"origin", std::string(model::Name(origin))},
         {"shardTotal", shard_total},
         {"dueAt", FormatRfc3339Millis(due_at)}};
  if (dispatched_at) j["dispatchedAt"] = FormatRfc3339Millis(*dispatched_at);
  return j.dump();
}

LeaderImpl::LeaderImpl(coord::Store& store, LeaderOptions options)
    : store_(store),
      options_(std::move(options)),
      clock_(*options_.clock),
      own_probe_(options_.probe == nullptr ? std::make_unique<Probe>() : nullptr),
      probe_(options_.probe == nullptr ? *own_probe_ : *options_.probe),
      router_(options_.seed != 0 ? options_.seed : std::random_device{}()),
      writer_(store, options_.leader_key, options_.parallel_writes) {}

// --- The view ----------------------------------------------------------------

void LeaderImpl::Report(std::string_view key, const absl::Status& status) {
  ++stats_.invalid_docs;
  if (invalid_keys_.insert(std::string(key)).second) {
    spdlog::warn("ignoring {}: {}", key, std::string(status.message()));
  }
}

void LeaderImpl::AddActive(const std::string& job_id, const std::string& key, const RunDoc& doc) {
  active_by_job_[job_id].insert(key);
  ++busy_[BusyKey(doc.group, doc.worker)];
}

void LeaderImpl::RemoveActive(const std::string& job_id, const std::string& key,
                              const RunDoc& doc) {
  if (auto it = active_by_job_.find(job_id); it != active_by_job_.end()) {
    if (it->second.erase(key) > 0) {
      if (it->second.empty()) active_by_job_.erase(it);
      if (auto b = busy_.find(BusyKey(doc.group, doc.worker)); b != busy_.end() && --b->second <= 0) {
        busy_.erase(b);
      }
    }
  }
}

void LeaderImpl::PutKey(const coord::KeyValue& kv) {
  const auto parsed = model::keys::Parse(kv.key);
  if (!parsed) return;
  using Kind = model::keys::Parsed::Kind;
  const std::string a(parsed->a), b(parsed->b), c(parsed->c);
  switch (parsed->kind) {
    case Kind::kConf: {
      JobEntry entry;
      entry.mod_revision = kv.mod_revision;
      auto job = model::Job::FromJson(kv.value);
      absl::Status status = job.status();
      if (job.ok()) {
        entry.job = std::move(*job);
        status = entry.job.id == a ? entry.job.Validate()
                                   : absl::InvalidArgumentError(fmt::format(
                                         "id '{}' does not match its key", entry.job.id));
        if (status.ok()) {
          auto schedule = entry.job.Schedule();
          if (schedule.ok()) entry.schedule = std::move(*schedule);
          status = schedule.status();
        }
      }
      if (!status.ok()) {
        Report(kv.key, status);
        entry.job.id = a;
      } else {
        invalid_keys_.erase(kv.key);
      }
      jobs_[a] = std::move(entry);
      dirty_jobs_.insert(a);
      if (!leading()) Replan(a);
      return;
    }
    case Kind::kCursor: {
      if (leading()) return;  // this node's own write: its table is ahead
      auto cursor = Cursor::FromJson(kv.value);
      if (!cursor.ok()) {
        Report(kv.key, cursor.status());
        return;
      }
      cursors_[a] = CursorEntry{*cursor, kv.mod_revision};
      Replan(a);
      return;
    }
    case Kind::kClient: {
      auto& group = workers_[a];
      const bool joined = group.emplace(b, kv.create_revision).second;
      if (joined) joined_groups_.insert(a);
      return;
    }
    case Kind::kSnapshot: {
      auto doc = model::Assignment::FromJson(kv.value);
      if (!doc.ok()) {
        Report(kv.key, doc.status());
        return;
      }
      if (auto old = assignments_.find(kv.key); old != assignments_.end()) {
        RemoveActive(old->second.doc.job_id, kv.key, old->second);
      }
      AssignmentEntry& entry = assignments_[kv.key];
      entry.Set(parsed->a, parsed->b, parsed->c, kv);
      entry.doc = std::move(*doc);
      AddActive(entry.doc.job_id, kv.key, entry);
      if (!Live(a, b)) joined_groups_.insert(a);  // an orphan to move
      if (leading()) unclaimed_timers_.emplace(clock_.Now() + options_.unclaimed_move_after, kv.key);
      return;
    }
    case Kind::kExecute: {
      auto doc = model::ExecutionRecord::FromJson(kv.value);
      if (!doc.ok()) {
        Report(kv.key, doc.status());
        return;
      }
      if (auto old = records_.find(kv.key); old != records_.end()) {
        RemoveActive(old->second.doc.run.job_id, kv.key, old->second);
        if (old->second.doc.status == model::RunStatus::kRunning) --running_;
      }
      RecordEntry& entry = records_[kv.key];
      entry.Set(parsed->a, parsed->b, parsed->c, kv);
      entry.doc = std::move(*doc);
      if (entry.doc.status == model::RunStatus::kRunning) {
        ++running_;
        AddActive(entry.doc.run.job_id, kv.key, entry);
        if (leading()) ArmTimeout(kv.key, entry);
        if (!Live(a, b)) lost_workers_.emplace(a, b);
      } else {
        final_records_.insert(kv.key);
      }
      return;
    }
    case Kind::kRetry: {
      auto intent = RetryIntent::FromJson(kv.value);
      if (!intent.ok()) {
        Report(kv.key, intent.status());
        return;
      }
      if (leading()) {
        retry_timers_.emplace(intent->dispatched_at ? clock_.Now() + options_.retry_gc_interval
                                                    : intent->due_at,
                              kv.key);
      }
      retries_[kv.key] = RetryEntry{std::move(*intent), kv.value, kv.mod_revision};
      return;
    }
    case Kind::kRun: {
      auto request = RunRequest::FromJson(kv.value);
      if (!request.ok()) {
        Report(kv.key, request.status());
        return;
      }
      runs_[kv.key] = RunEntry{std::move(*request), kv.create_revision};
      new_runs_.insert(kv.key);
      return;
    }
    case Kind::kWorkerFacts:
      alive_.insert(BusyKey(a, b));
      return;
    case Kind::kKill:  // for the worker (and the collector, which removes them)
    case Kind::kClaim:
    case Kind::kLeader:
    case Kind::kNode:
    case Kind::kGroup:
      return;
  }
}

void LeaderImpl::DeleteKey(std::string_view key_view) {
  const auto parsed = model::keys::Parse(key_view);
  if (!parsed) return;
  const std::string key(key_view);
  invalid_keys_.erase(key);
  using Kind = model::keys::Parsed::Kind;
  const std::string a(parsed->a), b(parsed->b);
  switch (parsed->kind) {
    case Kind::kConf:
      jobs_.erase(a);
      plan_.Remove(a);
      router_.Forget(a);
      dirty_jobs_.insert(a);
      return;
    case Kind::kCursor:
      if (leading()) return;
      cursors_.erase(a);
      Replan(a);
      return;
    case Kind::kClient:
      if (auto g = workers_.find(a); g != workers_.end()) {
        g->second.erase(b);
        if (g->second.empty()) workers_.erase(g);
      }
      lost_workers_.emplace(a, b);
      return;
    case Kind::kSnapshot:
      if (auto it = assignments_.find(key); it != assignments_.end()) {
        RemoveActive(it->second.doc.job_id, key, it->second);
        assignments_.erase(it);
      }
      return;
    case Kind::kExecute:
      if (auto it = records_.find(key); it != records_.end()) {
        RemoveActive(it->second.doc.run.job_id, key, it->second);
        if (it->second.doc.status == model::RunStatus::kRunning) --running_;
        records_.erase(it);
      }
      return;
    case Kind::kRetry:
      retries_.erase(key);
      return;
    case Kind::kRun:
      runs_.erase(key);
      return;
    case Kind::kWorkerFacts:
      alive_.erase(BusyKey(a, b));
      lost_workers_.emplace(a, b);  // its runs, if any are left, are lost now
      return;
    case Kind::kKill:
    case Kind::kClaim:
    case Kind::kLeader:
    case Kind::kNode:
    case Kind::kGroup:
      return;
  }
}

void LeaderImpl::Load(const coord::RangeResponse& snapshot) {
  jobs_.clear();
  cursors_.clear();
  invalid_keys_.clear();
  workers_.clear();
  alive_.clear();
  assignments_.clear();
  records_.clear();
  running_ = 0;
  retries_.clear();
  runs_.clear();
  active_by_job_.clear();
  busy_.clear();
  written_.clear();
  written_order_.clear();
  recent_dispatch_.clear();
  recent_order_.clear();
  retry_timers_ = {};
  timeout_timers_ = {};
  unclaimed_timers_ = {};
  const bool was_leading = leading();
  // Everything in the snapshot is authoritative, this node's writes included.
  const std::optional<coord::Revision> token = token_;
  token_.reset();
  for (const coord::KeyValue& kv : snapshot.kvs) PutKey(kv);
  token_ = token;
  revision_ = snapshot.revision;
  plan_.Clear();
  for (const auto& [id, entry] : jobs_) Replan(id);
  if (was_leading || token_) reconcile_ = true;
}

void LeaderImpl::Apply(const std::vector<coord::WatchEvent>& events) {
  for (const coord::WatchEvent& event : events) {
    if (event.type == coord::WatchEvent::Type::kPut) {
      PutKey(event.kv);
    } else {
      DeleteKey(event.kv.key);
    }
    revision_ = event.kv.mod_revision;
  }
  if (!leading()) {
    // A leader starts with a full pass; until then there is nothing to track.
    dirty_jobs_.clear();
    lost_workers_.clear();
    joined_groups_.clear();
    final_records_.clear();
    new_runs_.clear();
  }
  // Forget what the view has now seen (oldest first; a key written again
  // later keeps its newer entry).
  const auto forget = [this](auto& map, std::multimap<coord::Revision, std::string>& order) {
    while (!order.empty() && order.begin()->first <= revision_) {
      const auto it = map.find(order.begin()->second);
      if (it != map.end() && it->second <= revision_) map.erase(it);
      order.erase(order.begin());
    }
  };
  forget(written_, written_order_);
  forget(recent_dispatch_, recent_order_);
}

bool LeaderImpl::Live(const std::string& group, const std::string& worker) const {
  const auto g = workers_.find(group);
  return g != workers_.end() && g->second.contains(worker);
}

bool LeaderImpl::Stale(const std::string& key) const { return written_.contains(key); }

void LeaderImpl::MarkWritten(const std::string& key, coord::Revision r) {
  if (r <= revision_) return;
  written_[key] = r;
  written_order_.emplace(r, key);
}

// --- The role ----------------------------------------------------------------

void LeaderImpl::Elected(coord::Revision token) {
  token_ = token;
  fenced_out_ = false;
  reconcile_ = true;
  LogEvent(spdlog::level::info, {.node = options_.node_id},
           "{}: elected (token {}), view at revision {}", options_.node_id, token, revision_);
}

void LeaderImpl::Demoted() {
  if (!token_) return;
  LogEvent(spdlog::level::info, {.node = options_.node_id}, "{}: no longer leading",
           options_.node_id);
  token_.reset();
  fenced_out_ = false;
  reconcile_ = false;
  retry_timers_ = {};
  timeout_timers_ = {};
  unclaimed_timers_ = {};
}

bool LeaderImpl::leading() const { return token_ && !fenced_out_ && revision_ >= *token_; }

void LeaderImpl::Commit(std::vector<WriteUnit>& units) {
  if (units.empty()) return;
  WriteCounts counts;
  const metrics::Stopwatch watch;
  const size_t batch = units.size();
  const bool ok = writer_.Commit(*token_, units, counts);
  probe_.Wrote(batch, counts.txns, counts.conflicts, counts.errors, watch.Elapsed());
  units.clear();
  stats_.txns += counts.txns;
  stats_.txn_conflicts += counts.conflicts;
  stats_.write_errors += counts.errors;
  if (!ok) {
    ++stats_.fenced_out;
    fenced_out_ = true;
    LogEvent(spdlog::level::warn, {.node = options_.node_id},
             "{}: another node leads (fence failed); standing by", options_.node_id);
  }
}

std::optional<Time> LeaderImpl::NextTimer() {
  std::optional<Time> next;
  if (!retry_timers_.empty()) next = retry_timers_.top().first;
  for (const TimerQueue* q : {&timeout_timers_, &unclaimed_timers_}) {
    if (!q->empty() && (!next || q->top().first < *next)) next = q->top().first;
  }
  return next;
}

Time LeaderImpl::Tick() {
  if (!leading()) return Time::max();
  const Time now = clock_.Now();
  if (now < retry_after_) return retry_after_;
  std::vector<WriteUnit> units;
  if (reconcile_) {
    reconcile_ = false;
    dirty_jobs_.clear();
    lost_workers_.clear();
    joined_groups_.clear();
    final_records_.clear();
    new_runs_.clear();
    Reconcile(now, units);
  } else {
    InitCursors(now, units);
    FailOver(now, units);
    DecideRetries(now, units);
    ServeRuns(now, units);
  }
  Commit(units);
  if (!leading()) return Time::max();
  FireDue(now, units);
  DispatchRetries(now, units);
  CheckTimeouts(now, units);
  MoveUnclaimed(now, units);
  Commit(units);
  if (!leading()) return Time::max();

  Time next = Time::max();
  if (const auto due = plan_.NextDue()) next = std::min(next, *due);
  if (const auto timer = NextTimer()) next = std::min(next, *timer);
  if (retry_after_ > now) next = std::min(next, retry_after_);
  return next;
}

}  // namespace internal

// --- Leader ------------------------------------------------------------------

class Leader::Impl : public internal::LeaderImpl {
 public:
  using LeaderImpl::LeaderImpl;
};

Leader::Leader(coord::Store& store, LeaderOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}
Leader::~Leader() = default;

void Leader::Load(const coord::RangeResponse& snapshot) { impl_->Load(snapshot); }
void Leader::Apply(const std::vector<coord::WatchEvent>& events) { impl_->Apply(events); }
coord::Revision Leader::revision() const { return impl_->revision_; }
void Leader::Elected(coord::Revision token) { impl_->Elected(token); }
void Leader::Demoted() { impl_->Demoted(); }
bool Leader::leading() const { return impl_->leading(); }
Time Leader::Tick() { return impl_->Tick(); }
const LeaderStats& Leader::stats() const { return impl_->stats_; }
std::optional<Time> Leader::NextFire(std::string_view job_id) const {
  return impl_->plan_.Next(job_id);
}
size_t Leader::planned() const { return impl_->plan_.size(); }
int64_t Leader::running() const { return impl_->running_; }
std::vector<std::pair<std::string, int>> Leader::workers() const {
  std::vector<std::pair<std::string, int>> out;
  out.reserve(impl_->workers_.size());
  for (const auto& [group, names] : impl_->workers_) {
    out.emplace_back(group, static_cast<int>(names.size()));
  }
  return out;
}

}  // namespace forest::scheduler
