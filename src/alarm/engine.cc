#include "alarm/engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "alarm/signing.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::alarm {
namespace {

using std::chrono::milliseconds;
namespace keys = model::keys;

// The loop looks at the clock at least this often (it may be a fake one).
constexpr milliseconds kMaxWait{50};
constexpr std::chrono::minutes kRetentionEvery{10};
constexpr int kRetentionBatch = 1000;
// Event keys remembered so a batch told twice is not counted twice.
constexpr size_t kRecentKeys = 20000;
constexpr size_t kJobCacheLimit = 10000;
constexpr int kRunningPages = 5;
constexpr int kRunningPageSize = 1000;

constexpr std::string_view kFailingPrefix = "failing/";
constexpr std::string_view kGroupEmptyPrefix = "group_empty/";

int64_t UnixMs(Time t) { return t.time_since_epoch().count(); }

bool StartsWith(std::string_view s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// What the rules say for one event's job, group, or neither.
struct Resolved {
  model::AlarmRule rule;
  std::vector<std::string> channels;
  std::string mobile;
};

bool Enabled(const model::AlarmRule& r, Kind kind) {
  if (r.enabled == false) return false;
  switch (kind) {
    case Kind::kFailed:
      return r.on_failure.value_or(false);
    case Kind::kTimedOut:
      return r.on_timeout.value_or(false);
    case Kind::kUnknown:
      return r.on_unknown.value_or(false);
    case Kind::kNoWorker:
      return r.on_no_worker.value_or(r.on_failure.value_or(false));
    case Kind::kMisfire:
      return r.on_misfire.value_or(false);
    case Kind::kLongRunning:
      return r.running_longer_than_seconds.value_or(0) > 0;
    case Kind::kRecovered:
      return r.on_recovered.value_or(false);
    case Kind::kGroupEmpty:
      return r.on_group_empty.value_or(false);
    case Kind::kLeaderChanged:
      return r.on_leader_change.value_or(false);
    case Kind::kTest:
      return true;
  }
  return false;
}

Resolved Resolve(const AlarmSnapshot& s, const model::Job* job, const std::string& group) {
  Resolved out;
  if (job != nullptr && job->alarm) out.rule = *job->alarm;
  if (const auto g = s.rules.groups.find(group); g != s.rules.groups.end()) {
    out.rule = out.rule.Merge(g->second);
  }
  if (s.rules.global) out.rule = out.rule.Merge(*s.rules.global);
  if (out.rule.channels) out.channels = *out.rule.channels;
  if (job != nullptr && !job->mobile.empty()) {
    std::vector<std::string> sms;
    for (const auto& [id, c] : s.channels) {
      if (c.enabled && c.type == ChannelType::kWebhook && c.sms_gateway) sms.push_back(id);
    }
    if (!sms.empty()) {
      // The original's `mobile`: failures reach the phone unless a rule says no.
      model::AlarmRule implicit;
      implicit.on_failure = implicit.on_timeout = implicit.on_unknown = true;
      out.rule = out.rule.Merge(implicit);
      out.mobile = job->mobile;
      for (const std::string& id : sms) {
        if (std::find(out.channels.begin(), out.channels.end(), id) == out.channels.end()) {
          out.channels.push_back(id);
        }
      }
    }
  }
  return out;
}

std::string StatusName(model::RunStatus s) {
  switch (s) {
    case model::RunStatus::kRunning:
      return "running";
    case model::RunStatus::kSuccess:
      return "success";
    case model::RunStatus::kUnknown:
      return "unknown";
    case model::RunStatus::kError:
      return "error";
  }
  return "";
}

struct Delivery {
  history::AlarmDelivery row;
  std::string key() const { return row.alarm_id + "/" + row.channel_id; }
};

}  // namespace

class AlarmEngine::Impl {
 public:
  Impl(coord::Store& store, history::AlarmLog& log, Sender& sender, history::HistoryStore* history,
       EngineOptions options)
      : store_(store),
        log_(log),
        sender_(sender),
        history_(history),
        options_(std::move(options)),
        clock_(*options_.clock),
        probe_(options_.probe != nullptr ? *options_.probe : NoopProbe()),
        config_(store, clock_) {}
  ~Impl() { Stop(); }

  void StartThreads() {
    loop_ = std::thread([this] { Loop(); });
    for (int i = 0; i < options_.delivery_threads; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
  }

  // Lead, Follow and OnMisfire are called on the scheduler's loop thread:
  // they only queue (qmu_), never wait for the engine's thread (mu_), which
  // may be in the middle of a slow database call.
  void Lead(coord::Revision token) {
    {
      std::lock_guard lock(qmu_);
      controls_.push_back(token);
      accepting_ = true;
    }
    ClearQueue();
    cv_.notify_all();
  }

  void Follow() {
    {
      std::lock_guard lock(qmu_);
      controls_.push_back(std::nullopt);
      accepting_ = false;
    }
    ClearQueue();
    cv_.notify_all();
  }

  void Stop() {
    std::lock_guard stop_lock(stop_mu_);
    accepting_ = false;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      leading_ = false;
    }
    {
      std::lock_guard lock(dmu_);
      dstop_ = true;
    }
    cv_.notify_all();
    dcv_.notify_all();
    if (loop_.joinable()) loop_.join();
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
    workers_.clear();
  }

  absl::Status OnStored(const std::vector<history::Execution>& rows) {
    std::lock_guard lock(mu_);
    TakeControls();
    if (crashed_ || stop_) return absl::UnavailableError("alarms: stopped");
    if (!leading_ || !ready_) return absl::UnavailableError("alarms: not ready yet");
    for (const history::Execution& row : rows) {
      const model::RunStatus status = row.record.status;
      if (status == model::RunStatus::kRunning) continue;
      absl::Status s = status == model::RunStatus::kSuccess ? Succeeded(row) : Failed(row);
      if (!s.ok()) {
        CountError();
        return s;
      }
      if (crashed_) return absl::UnavailableError("alarms: stopped");
    }
    return absl::OkStatus();
  }

  void OnMisfire(const scheduler::MisfireEvent& event) {
    {
      std::lock_guard lock(qmu_);
      if (!accepting_) return;
      if (incoming_.size() >= options_.event_queue_limit) {
        probe_.Dropped();
        std::lock_guard s(stats_mu_);
        if (stats_.dropped++ % 1000 == 0) {
          spdlog::warn("alarm {}: the event queue is full; misfire of job {} dropped",
                       options_.node_id, event.job_id);
        }
        return;
      }
      incoming_.push_back(event);
    }
    cv_.notify_all();
  }

  EngineStats stats() const {
    EngineStats s;
    {
      std::lock_guard lock(stats_mu_);
      s = stats_;
    }
    std::lock_guard lock(mu_);
    s.leading = leading_ && ready_;
    return s;
  }

 private:
  // --- The loop ---------------------------------------------------------------

  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      TakeControls();
      const Time now = clock_.Now();
      if (leading_ && !crashed_) {
        if (!ready_) Prepare(now);
        if (ready_ && now >= quiet_until_) {
          // A database error in either waits a second (no spinning on it).
          if (!HandleMisfires() || !ExpireWindows(now)) quiet_until_ = now + milliseconds(1000);
        }
        if (ready_) {
          if (now >= next_check_) {
            Checks(now);
            next_check_ = now + options_.check_interval;
          }
          if (now >= next_retention_) {
            Retention(now);
            next_retention_ = now + kRetentionEvery;
          }
          if (now >= next_poll_ || poke_) {
            poke_ = false;
            Poll(now);
            next_poll_ = now + options_.poll;
          }
        }
      }
      if (stop_) break;
      Time due = Time::max();
      if (leading_ && !crashed_) {
        due = std::min({next_poll_, next_check_, ready_ ? due : now + options_.poll});
        for (const auto& [key, w] : windows_) due = std::min(due, std::max(w.end, quiet_until_));
      }
      if (poke_ && ready_) continue;
      // At least 1 ms: work that keeps failing (the database is away) must
      // not spin; at most kMaxWait: the clock may be a fake one.
      const Time after = clock_.Now();
      const milliseconds wait =
          due <= after ? milliseconds(1)
                       : std::min<milliseconds>(
                             std::chrono::duration_cast<milliseconds>(due - after), kMaxWait);
      cv_.wait_for(lock, wait);
    }
  }

  // Applies what Lead, Follow and OnMisfire queued, in order.
  void TakeControls() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::optional<coord::Revision>> controls;
    std::deque<scheduler::MisfireEvent> incoming;
    {
      std::lock_guard lock(qmu_);
      controls.swap(controls_);
      incoming.swap(incoming_);
    }
    for (const std::optional<coord::Revision>& token : controls) {
      if (stop_ || crashed_) break;
      if (token) {
        leading_ = true;
        ready_ = false;
        token_ = *token;
        owner_ = fmt::format("{}/{}", options_.node_id, *token);
      } else {
        if (leading_) {
          spdlog::info("alarm {}: no longer leading; alarms stop here", options_.node_id);
        }
        leading_ = false;
        ready_ = false;
      }
      ResetLeaderState();
    }
    if (leading_) {
      for (scheduler::MisfireEvent& m : incoming) misfires_.push_back(std::move(m));
    }
  }

  // A new term: what the last leader left (conditions), then leader_changed.
  void Prepare(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto open = log_.OpenConditions();
    if (!open.ok()) {
      CountError();
      spdlog::warn("alarm {}: cannot read the alarm conditions: {}", options_.node_id,
                   open.status().ToString());
      return;
    }
    for (const history::AlarmCondition& c : *open) {
      if (StartsWith(c.key, kFailingPrefix)) {
        failing_[c.key.substr(kFailingPrefix.size())] = c.episode;
      } else if (StartsWith(c.key, kGroupEmptyPrefix)) {
        group_open_[c.key.substr(kGroupEmptyPrefix.size())] = c.episode;
      }
    }
    if (!leader_announced_) {
      auto snapshot = Snapshot();
      if (!snapshot.ok()) {
        CountError();
        return;
      }
      const Resolved r = Resolve(**snapshot, nullptr, "");
      if (Enabled(r.rule, Kind::kLeaderChanged)) {
        Event e;
        e.kind = Kind::kLeaderChanged;
        e.key = fmt::format("leader_changed/{}", token_);
        e.node = options_.node_id;
        e.result = fmt::format("term {} (the leader key's create revision)", token_);
        e.at = e.first_at = e.last_at = now;
        if (const absl::Status s = Raise(std::move(e), r, 0); !s.ok()) {
          CountError();
          return;
        }
      }
      leader_announced_ = true;
    }
    ready_ = true;
    next_check_ = now + std::min<milliseconds>(options_.check_interval, milliseconds(1000));
    next_poll_ = now;
    spdlog::info(
        "alarm {}: raising and delivering alarms (term {}, {} jobs failing, {} groups "
        "empty)",
        options_.node_id, token_, failing_.size(), group_open_.size());
  }

  void ResetLeaderState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    windows_.clear();
    recent_.clear();
    recent_order_.clear();
    failing_.clear();
    group_open_.clear();
    empty_since_.clear();
    long_alerted_.clear();
    misfires_.clear();
    unfinished_.clear();
    job_cache_.clear();
    snapshot_.reset();
    leader_announced_ = false;
    next_poll_ = next_check_ = next_retention_ = quiet_until_ = Time::min();
  }

  // As a crash at a fault point would leave it: nothing more is written.
  void Crash() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    crashed_ = true;
    leading_ = false;
    ready_ = false;
    accepting_ = false;
    spdlog::warn("alarm {}: stopped at a fault point (test)", options_.node_id);
  }

  void CountError() {
    std::lock_guard lock(stats_mu_);
    ++stats_.errors;
  }

  // --- Rules --------------------------------------------------------------------

  absl::StatusOr<const AlarmSnapshot*> Snapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const Time now = clock_.Monotonic();
    if (!snapshot_ || now >= snapshot_at_ + options_.config_ttl) {
      ASSIGN_OR_RETURN(AlarmSnapshot s, config_.Load());
      snapshot_ = std::move(s);
      snapshot_at_ = now;
    }
    return &*snapshot_;
  }

  // The job's document (nullopt when it is gone), cached for config_ttl.
  absl::StatusOr<std::optional<model::Job>> JobDoc(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const Time now = clock_.Monotonic();
    if (const auto it = job_cache_.find(id);
        it != job_cache_.end() && now < it->second.first + options_.config_ttl) {
      return it->second.second;
    }
    if (id.empty()) return std::optional<model::Job>();
    ASSIGN_OR_RETURN(const coord::RangeResponse r,
                     store_.Range(coord::RangeRequest::Single(keys::Conf(id))));
    std::optional<model::Job> job;
    if (!r.kvs.empty()) {
      auto parsed = model::Job::FromJson(r.kvs.front().value);
      if (parsed.ok()) job = *std::move(parsed);
    }
    if (job_cache_.size() >= kJobCacheLimit) job_cache_.clear();
    job_cache_[id] = {now, job};
    return job;
  }

  absl::StatusOr<Resolved> ResolveJob(const std::string& job_id, const std::string& group,
                                      std::optional<model::Job>* job_out = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(const AlarmSnapshot* s, Snapshot());
    ASSIGN_OR_RETURN(std::optional<model::Job> job, JobDoc(job_id));
    Resolved r = Resolve(*s, job ? &*job : nullptr, job ? job->group : group);
    if (job_out != nullptr) *job_out = std::move(job);
    return r;
  }

  int64_t WindowOf(const Resolved& r) const {
    return r.rule.group_window_seconds.value_or(options_.default_window.count());
  }

  // --- Events -------------------------------------------------------------------

  Event FromRow(const history::Execution& row, Kind kind) const {
    const model::ExecutionRecord& rec = row.record;
    Event e;
    e.kind = kind;
    e.key = fmt::format("{}/{}", Name(kind), rec.run.id);
    e.job_id = rec.run.job_id;
    e.job_name = rec.run.name;
    e.group = rec.run.group;
    e.execution_id = rec.run.id;
    e.worker = row.worker == keys::kNoWorker ? "" : row.worker;
    e.node = options_.node_id;
    e.status = StatusName(rec.status);
    e.result = rec.result;
    e.mobile = rec.run.mobile;
    e.scheduled_at = rec.run.scheduled_time;
    e.started_at = rec.started_at;
    if (rec.started_at && rec.duration_ms) {
      e.finished_at = *rec.started_at + milliseconds(*rec.duration_ms);
    }
    e.at = e.finished_at.value_or(clock_.Now());
    e.first_at = e.last_at = e.at;
    e.link = Link(rec.run.id);
    return e;
  }

  std::string Link(const std::string& execution_id) const {
    if (options_.ui_url.empty() || execution_id.empty()) return "";
    std::string base = options_.ui_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/executions?id=" + UrlEncode(execution_id);
  }

  // Whether the run's retry policy will try it again (no alarm yet).
  static bool RetryFollows(const history::Execution& row, const std::optional<model::Job>& job) {
    if (!job) return false;
    const auto key = model::ParseSnapshotId(row.record.run.id);
    if (!key.ok()) return false;  // the original's clients' runs are not retried
    return key->attempt < job->retry.max_attempts;
  }

  absl::Status Failed(const history::Execution& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const model::ExecutionRecord& rec = row.record;
    Kind kind = Kind::kFailed;
    if (rec.status == model::RunStatus::kUnknown) {
      kind = Kind::kUnknown;
    } else if (row.worker == keys::kNoWorker) {
      kind = Kind::kNoWorker;
    } else if (StartsWith(rec.result, "timed out")) {
      kind = Kind::kTimedOut;
    }
    std::optional<model::Job> job;
    ASSIGN_OR_RETURN(const Resolved r, ResolveJob(rec.run.job_id, rec.run.group, &job));
    if (RetryFollows(row, job)) return absl::OkStatus();
    if (Enabled(r.rule, kind)) {
      Event e = FromRow(row, kind);
      if (!r.mobile.empty()) e.mobile = r.mobile;
      RETURN_IF_ERROR(Raise(std::move(e), r, WindowOf(r)));
      if (crashed_) return absl::OkStatus();
    }
    // Remembered (durably) so the first success after it says `recovered`.
    if (Enabled(r.rule, Kind::kRecovered) && !rec.run.job_id.empty() &&
        !failing_.contains(rec.run.job_id)) {
      const std::string key = std::string(kFailingPrefix) + rec.run.job_id;
      ASSIGN_OR_RETURN(const std::optional<history::AlarmCondition> was, log_.GetCondition(key));
      const int64_t episode = (was ? was->episode : 0) + 1;
      RETURN_IF_ERROR(log_.PutCondition({key, true, episode, clock_.Now()}));
      failing_[rec.run.job_id] = episode;
    }
    return absl::OkStatus();
  }

  absl::Status Succeeded(const history::Execution& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const model::ExecutionRecord& rec = row.record;
    const auto failing = failing_.find(rec.run.job_id);
    if (failing == failing_.end()) return absl::OkStatus();
    const int64_t episode = failing->second;
    ASSIGN_OR_RETURN(const Resolved r, ResolveJob(rec.run.job_id, rec.run.group));
    if (Enabled(r.rule, Kind::kRecovered)) {
      Event e = FromRow(row, Kind::kRecovered);
      e.key = fmt::format("recovered/{}/{}", rec.run.job_id, episode);
      if (!r.mobile.empty()) e.mobile = r.mobile;
      RETURN_IF_ERROR(Raise(std::move(e), r, 0));
      if (crashed_) return absl::OkStatus();
    }
    RETURN_IF_ERROR(log_.PutCondition(
        {std::string(kFailingPrefix) + rec.run.job_id, false, episode, clock_.Now()}));
    failing_.erase(rec.run.job_id);
    return absl::OkStatus();
  }

  // False after an error (the rest is tried again later).
  bool HandleMisfires() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!misfires_.empty() && leading_ && !crashed_) {
      const scheduler::MisfireEvent& m = misfires_.front();
      auto r = ResolveJob(m.job_id, m.group);
      if (!r.ok()) {
        CountError();
        return false;
      }
      if (Enabled(r->rule, Kind::kMisfire)) {
        Event e;
        e.kind = Kind::kMisfire;
        e.key = fmt::format("misfire/{}/{}", m.job_id, UnixMs(m.first_missed));
        e.job_id = m.job_id;
        e.job_name = m.job_name;
        e.group = m.group;
        e.node = options_.node_id;
        e.mobile = r->mobile;
        e.result = fmt::format(
            "{} scheduled times between {} and {} were missed by more than the misfire "
            "threshold; the {} policy fired {}",
            m.missed, FormatRfc3339Millis(m.first_missed), FormatRfc3339Millis(m.last_missed),
            model::Name(m.policy), m.fired);
        e.scheduled_at = m.first_missed;
        e.at = e.first_at = e.last_at = clock_.Now();
        if (!Raise(std::move(e), *r, WindowOf(*r)).ok()) {
          CountError();
          return false;
        }
      }
      misfires_.pop_front();
    }
    return true;
  }

  // --- Grouping and recording ----------------------------------------------------

  struct Window {
    Time start{}, end{};
    int64_t seconds = 0;
    int64_t suppressed = 0;
    Event latest;
    Time first{}, last{};
    std::vector<std::string> channels;
  };

  bool Seen(const std::string& key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return recent_.contains(key);
  }
  void Remember(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!recent_.insert(key).second) return;
    recent_order_.push_back(key);
    if (recent_order_.size() > kRecentKeys) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }

  // Records `e` for `r`'s channels, or counts it into its open window.
  absl::Status Raise(Event e, const Resolved& r, int64_t window_seconds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (r.channels.empty()) return absl::OkStatus();
    if (Seen(e.key)) return absl::OkStatus();
    const Time now = clock_.Now();
    const std::string group_key =
        fmt::format("{}/{}", Name(e.kind), e.job_id.empty() ? e.group : e.job_id);
    if (window_seconds > 0) {
      const auto it = windows_.find(group_key);
      if (it != windows_.end() && now < it->second.end) {
        Window& w = it->second;
        if (w.suppressed == 0) w.first = e.at;
        ++w.suppressed;
        w.last = e.at;
        w.latest = std::move(e);
        w.channels = r.channels;
        Remember(w.latest.key);
        std::lock_guard lock(stats_mu_);
        ++stats_.suppressed;
        return absl::OkStatus();
      }
      if (it != windows_.end()) RETURN_IF_ERROR(CloseWindow(group_key, it->second));
    }
    const std::string key = e.key;
    RETURN_IF_ERROR(Record(e, r.channels));
    if (crashed_) return absl::OkStatus();
    Remember(key);
    if (window_seconds > 0) {
      Window w;
      w.start = now;
      w.end = now + std::chrono::seconds(window_seconds);
      w.seconds = window_seconds;
      w.channels = r.channels;
      windows_[group_key] = std::move(w);
    }
    return absl::OkStatus();
  }

  // A window that ended: its summary, if it counted anything; then the
  // next window goes on from its end (one summary per window while events
  // keep coming) or it closes.
  absl::Status CloseWindow(const std::string& group_key, Window& w)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (w.suppressed == 0) {
      windows_.erase(group_key);
      return absl::OkStatus();
    }
    Event summary = w.latest;
    summary.key = fmt::format("summary/{}/{}", group_key, UnixMs(w.start));
    summary.count = w.suppressed;
    summary.first_at = w.first;
    summary.last_at = w.last;
    summary.window_seconds = w.seconds;
    RETURN_IF_ERROR(Record(summary, w.channels));
    w.start = w.end;
    w.end = w.start + std::chrono::seconds(w.seconds);
    w.suppressed = 0;
    return absl::OkStatus();
  }

  // False after an error (the summary is tried again later).
  bool ExpireWindows(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::string> ended;
    for (const auto& [key, w] : windows_) {
      if (now >= w.end) ended.push_back(key);
    }
    for (const std::string& key : ended) {
      if (crashed_) return true;
      auto it = windows_.find(key);
      if (it == windows_.end()) continue;
      if (const absl::Status s = CloseWindow(key, it->second); !s.ok()) {
        CountError();
        spdlog::warn("alarm {}: cannot record a summary: {}", options_.node_id, s.ToString());
        return false;
      }
    }
    return true;
  }

  absl::Status Record(const Event& e, const std::vector<std::string>& channels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(const AlarmSnapshot* s, Snapshot());
    const Time now = clock_.Now();
    history::AlarmEntry a;
    a.id = AlarmId(e.key);
    a.kind = std::string(Name(e.kind));
    a.job_id = e.job_id;
    a.job_name = e.job_name;
    a.group = e.group;
    a.execution_id = e.execution_id;
    a.worker = e.worker;
    a.title = e.Title();
    a.detail = e.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    a.count = e.count;
    a.first_at = e.first_at;
    a.last_at = e.last_at;
    a.created_at = now;
    a.leader_node = options_.node_id;
    std::set<std::string> seen;
    for (const std::string& id : channels) {
      if (!seen.insert(id).second) continue;
      history::AlarmDelivery d;
      d.channel_id = id;
      if (const auto c = s->channels.find(id); c != s->channels.end()) {
        d.channel_name = c->second.name;
        d.channel_type = std::string(Name(c->second.type));
      }
      d.next_attempt_at = now;
      a.deliveries.push_back(std::move(d));
    }
    ASSIGN_OR_RETURN(const bool inserted, log_.Record(a));
    if (!inserted) return absl::OkStatus();  // another leader recorded it
    probe_.Raised(a.kind);
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.raised;
    }
    spdlog::info("alarm {}: {} ({}; alarm {})", options_.node_id, a.title, a.kind, a.id);
    if (options_.fault && !options_.fault(FaultPoint::kRecorded, a.id)) {
      Crash();
      return absl::OkStatus();
    }
    poke_ = true;
    cv_.notify_all();
    return absl::OkStatus();
  }

  // --- Checks -----------------------------------------------------------------

  void Checks(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (history_ != nullptr) LongRunning(now);
    if (crashed_) return;
    GroupsEmpty(now);
  }

  void LongRunning(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::set<std::string> running;
    for (int page = 1; page <= kRunningPages; ++page) {
      history::Query q;
      q.status = model::RunStatus::kRunning;
      q.page_size = kRunningPageSize;
      q.page_no = page;
      auto rows = history_->List(q);
      if (!rows.ok()) {
        CountError();
        return;
      }
      for (const history::Execution& row : rows->rows) {
        const model::ExecutionRecord& rec = row.record;
        running.insert(rec.run.id);
        if (!rec.started_at || long_alerted_.contains(rec.run.id)) continue;
        auto r = ResolveJob(rec.run.job_id, rec.run.group);
        if (!r.ok()) {
          CountError();
          return;
        }
        const int64_t limit = r->rule.running_longer_than_seconds.value_or(0);
        if (!Enabled(r->rule, Kind::kLongRunning) ||
            now - *rec.started_at < std::chrono::seconds(limit)) {
          continue;
        }
        Event e = FromRow(row, Kind::kLongRunning);
        e.result = fmt::format(
            "running for {} s (the limit is {} s)",
            std::chrono::duration_cast<std::chrono::seconds>(now - *rec.started_at).count(), limit);
        e.at = e.first_at = e.last_at = now;
        if (!r->mobile.empty()) e.mobile = r->mobile;
        if (!Raise(std::move(e), *r, WindowOf(*r)).ok()) {
          CountError();
          return;
        }
        if (crashed_) return;
        long_alerted_.insert(rec.run.id);
      }
      if (page >= rows->total_pages) break;
    }
    // Forget runs that ended.
    for (auto it = long_alerted_.begin(); it != long_alerted_.end();) {
      it = running.contains(*it) ? std::next(it) : long_alerted_.erase(it);
    }
  }

  void GroupsEmpty(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto snapshot = Snapshot();
    if (!snapshot.ok()) {
      CountError();
      return;
    }
    auto groups = store_.Range([] {
      coord::RangeRequest r = coord::RangeRequest::Prefix(keys::kGroupPrefix);
      r.keys_only = true;
      return r;
    }());
    if (!groups.ok()) {
      CountError();
      return;
    }
    for (const coord::KeyValue& kv : groups->kvs) {
      const std::string group = kv.key.substr(keys::kGroupPrefix.size());
      const Resolved r = Resolve(**snapshot, nullptr, group);
      const bool watched = Enabled(r.rule, Kind::kGroupEmpty);
      const auto open = group_open_.find(group);
      if (!watched && open == group_open_.end()) {
        empty_since_.erase(group);
        continue;
      }
      coord::RangeRequest count = coord::RangeRequest::Prefix(keys::ClientPrefix(group));
      count.count_only = true;
      auto workers = store_.Range(count);
      if (!workers.ok()) {
        CountError();
        return;
      }
      const std::string key = std::string(kGroupEmptyPrefix) + group;
      if (workers->count > 0) {
        empty_since_.erase(group);
        if (open != group_open_.end()) {
          if (!log_.PutCondition({key, false, open->second, now}).ok()) {
            CountError();
            return;
          }
          group_open_.erase(open);
        }
        continue;
      }
      const auto since = empty_since_.emplace(group, now).first;
      if (!watched || open != group_open_.end() ||
          now - since->second < options_.group_empty_after) {
        continue;
      }
      auto was = log_.GetCondition(key);
      if (!was.ok()) {
        CountError();
        return;
      }
      const int64_t episode = (*was ? (*was)->episode : 0) + 1;
      Event e;
      e.kind = Kind::kGroupEmpty;
      e.key = fmt::format("group_empty/{}/{}", group, episode);
      e.group = group;
      e.node = options_.node_id;
      e.result = fmt::format("no live worker since {}", FormatRfc3339Millis(since->second));
      e.at = e.first_at = e.last_at = now;
      if (!Raise(std::move(e), r, 0).ok() || crashed_) {
        CountError();
        return;
      }
      if (!log_.PutCondition({key, true, episode, now}).ok()) {
        CountError();
        return;
      }
      group_open_[group] = episode;
    }
  }

  void Retention(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (options_.retention_days <= 0) return;
    const Time before = now - std::chrono::hours(24) * options_.retention_days;
    for (int i = 0; i < 10; ++i) {
      auto deleted = log_.DeleteOlderThan(before, kRetentionBatch);
      if (!deleted.ok()) {
        CountError();
        return;
      }
      if (*deleted < kRetentionBatch) return;
    }
  }

  // --- Delivery ---------------------------------------------------------------

  // Fills the queue with due deliveries from the log.
  void Poll(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Outcomes that could not be written earlier go first.
    for (auto it = unfinished_.begin(); it != unfinished_.end();) {
      const absl::StatusOr<bool> done =
          log_.Finish(it->alarm_id, it->channel_id, owner_, history::DeliveryState::kPending,
                      it->last_error, now, now);
      if (!done.ok()) return;
      it = unfinished_.erase(it);
    }
    size_t room;
    {
      std::lock_guard lock(dmu_);
      room = options_.queue_limit > queue_.size() ? options_.queue_limit - queue_.size() : 0;
    }
    if (room == 0) return;
    size_t held;
    {
      std::lock_guard lock(dmu_);
      held = in_flight_.size();
    }
    auto due = log_.Due(now, owner_, static_cast<int>(room + held));
    if (!due.ok()) {
      CountError();
      spdlog::warn("alarm {}: cannot read due deliveries: {}", options_.node_id,
                   due.status().ToString());
      return;
    }
    bool added = false;
    {
      std::lock_guard lock(dmu_);
      for (history::AlarmDelivery& d : *due) {
        if (queue_.size() >= options_.queue_limit) break;
        if (d.state == history::DeliveryState::kSending &&
            now - d.updated_at < options_.stale_sending) {
          continue;  // another node may still be in the middle of it
        }
        Delivery item{std::move(d)};
        if (!in_flight_.insert(item.key()).second) continue;
        queue_.push_back(std::move(item));
        added = true;
      }
    }
    if (added) dcv_.notify_all();
  }

  void ClearQueue() {
    std::lock_guard lock(dmu_);
    for (const Delivery& d : queue_) in_flight_.erase(d.key());
    queue_.clear();
  }

  void Work() {
    for (;;) {
      Delivery item;
      {
        std::unique_lock lock(dmu_);
        auto next = queue_.end();
        dcv_.wait(lock, [&] {
          if (dstop_) return true;
          next = std::find_if(queue_.begin(), queue_.end(),
                              [&](const Delivery& d) { return !busy_.contains(d.row.channel_id); });
          return next != queue_.end();
        });
        if (dstop_) return;
        item = std::move(*next);
        queue_.erase(next);
        busy_.insert(item.row.channel_id);
      }
      Deliver(item.row);
      {
        std::lock_guard lock(dmu_);
        busy_.erase(item.row.channel_id);
        in_flight_.erase(item.key());
      }
      dcv_.notify_all();
    }
  }

  milliseconds Backoff(int attempts) const {
    milliseconds wait = options_.retry_min;
    for (int i = 1; i < attempts && wait < options_.retry_max; ++i) wait *= 2;
    return std::min(wait, options_.retry_max);
  }

  void Deliver(const history::AlarmDelivery& d) {
    if (!accepting_) return;
    std::string owner;
    {
      std::lock_guard lock(mu_);
      if (!leading_ || !ready_ || crashed_) return;
      owner = owner_;
    }
    const absl::StatusOr<bool> claimed = log_.Claim(d, owner, clock_.Now());
    if (!claimed.ok()) {
      CountError();
      return;
    }
    if (!*claimed) return;  // another node has it
    if (options_.fault && !options_.fault(FaultPoint::kClaimed, d.alarm_id)) {
      std::lock_guard lock(mu_);
      Crash();
      return;
    }
    const int attempts = d.attempts + 1;
    std::string channel_type = d.channel_type;
    absl::Status sent;
    std::optional<history::DeliveryState> final_state;  // without a retry
    auto entry = log_.Get(d.alarm_id);
    if (!entry.ok()) {
      sent = entry.status();
    } else if (auto event = Event::FromJson(entry->detail); !event.ok()) {
      sent = event.status();
      final_state = history::DeliveryState::kFailed;
    } else if (auto channel = config_.GetChannel(d.channel_id); !channel.ok()) {
      sent = channel.status();
      if (absl::IsNotFound(channel.status())) {
        sent = absl::NotFoundError(fmt::format("no channel '{}' (deleted?)", d.channel_id));
        final_state = history::DeliveryState::kFailed;
      }
    } else if (!channel->enabled) {
      sent = absl::FailedPreconditionError("the channel is disabled");
      final_state = history::DeliveryState::kFailed;
      channel_type = std::string(Name(channel->type));
    } else {
      channel_type = std::string(Name(channel->type));
      sent = sender_.Send(*channel, Message{d.alarm_id, *std::move(event)});
    }
    const Time now = clock_.Now();
    history::DeliveryState state = history::DeliveryState::kSent;
    Time next = now;
    DeliveryOutcome outcome = DeliveryOutcome::kSent;
    if (!sent.ok()) {
      if (final_state || attempts >= options_.max_attempts) {
        state = history::DeliveryState::kFailed;
        outcome = DeliveryOutcome::kFailed;
      } else {
        state = history::DeliveryState::kPending;
        next = now + Backoff(attempts);
        outcome = DeliveryOutcome::kRetry;
      }
      spdlog::warn("alarm {}: alarm {} on channel {} ({}), attempt {}: {}{}", options_.node_id,
                   d.alarm_id, d.channel_id, channel_type, attempts, std::string(sent.message()),
                   state == history::DeliveryState::kFailed ? "; giving up" : "; will retry");
    }
    probe_.Delivered(channel_type, d.channel_id, outcome);
    {
      std::lock_guard lock(stats_mu_);
      if (outcome == DeliveryOutcome::kSent) ++stats_.sent;
      if (outcome == DeliveryOutcome::kRetry) ++stats_.retried;
      if (outcome == DeliveryOutcome::kFailed) ++stats_.failed;
    }
    const std::string error = sent.ok() ? "" : std::string(sent.message());
    const absl::StatusOr<bool> finished =
        log_.Finish(d.alarm_id, d.channel_id, owner, state, error, next, now);
    if (!finished.ok()) {
      CountError();
      // Recorded later (as a retry) by the loop: left as it is, the claim
      // would hold the delivery until another node takes it over.
      std::lock_guard lock(mu_);
      if (owner == owner_) {
        history::AlarmDelivery u = d;
        u.last_error = error.empty() ? "the outcome could not be recorded" : error;
        unfinished_.push_back(std::move(u));
      }
    }
    if (state == history::DeliveryState::kPending) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }

  coord::Store& store_;
  history::AlarmLog& log_;
  Sender& sender_;
  history::HistoryStore* const history_;
  const EngineOptions options_;
  Clock& clock_;
  AlarmProbe& probe_;
  AlarmConfig config_;

  std::mutex stop_mu_;
  std::thread loop_;
  std::vector<std::thread> workers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
  bool leading_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool poke_ ABSL_GUARDED_BY(mu_) = false;
  bool leader_announced_ ABSL_GUARDED_BY(mu_) = false;
  coord::Revision token_ ABSL_GUARDED_BY(mu_) = 0;
  std::string owner_ ABSL_GUARDED_BY(mu_);
  Time next_poll_ ABSL_GUARDED_BY(mu_) = Time::min();
  Time next_check_ ABSL_GUARDED_BY(mu_) = Time::min();
  Time next_retention_ ABSL_GUARDED_BY(mu_) = Time::min();
  Time quiet_until_ ABSL_GUARDED_BY(mu_) = Time::min();
  std::map<std::string, Window> windows_ ABSL_GUARDED_BY(mu_);
  std::unordered_set<std::string> recent_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> recent_order_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> failing_ ABSL_GUARDED_BY(mu_);     // job -> episode
  std::map<std::string, int64_t> group_open_ ABSL_GUARDED_BY(mu_);  // group -> episode
  std::map<std::string, Time> empty_since_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> long_alerted_ ABSL_GUARDED_BY(mu_);
  std::deque<scheduler::MisfireEvent> misfires_ ABSL_GUARDED_BY(mu_);
  std::vector<history::AlarmDelivery> unfinished_ ABSL_GUARDED_BY(mu_);
  std::optional<AlarmSnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  Time snapshot_at_ ABSL_GUARDED_BY(mu_){};
  std::unordered_map<std::string, std::pair<Time, std::optional<model::Job>>> job_cache_
      ABSL_GUARDED_BY(mu_);

  // What Lead, Follow (a token or nullopt) and OnMisfire hand to the loop.
  std::mutex qmu_;
  std::vector<std::optional<coord::Revision>> controls_ ABSL_GUARDED_BY(qmu_);
  std::deque<scheduler::MisfireEvent> incoming_ ABSL_GUARDED_BY(qmu_);
  std::atomic<bool> accepting_{false};  // leading as last told (Lead, Follow)

  std::mutex dmu_;
  std::condition_variable dcv_;
  bool dstop_ ABSL_GUARDED_BY(dmu_) = false;
  std::deque<Delivery> queue_ ABSL_GUARDED_BY(dmu_);
  std::unordered_set<std::string> in_flight_ ABSL_GUARDED_BY(dmu_);  // queued or being sent
  std::unordered_set<std::string> busy_ ABSL_GUARDED_BY(dmu_);       // channels being sent to

  mutable std::mutex stats_mu_;
  EngineStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

AlarmProbe& NoopProbe() {
  static AlarmProbe probe;
  return probe;
}

absl::StatusOr<std::unique_ptr<AlarmEngine>> AlarmEngine::Start(coord::Store& store,
                                                                history::AlarmLog& log,
                                                                Sender& sender,
                                                                history::HistoryStore* history,
                                                                EngineOptions options) {
  if (options.node_id.empty()) return absl::InvalidArgumentError("alarm: empty node id");
  if (options.clock == nullptr) return absl::InvalidArgumentError("alarm: no clock");
  if (options.max_attempts < 1 || options.delivery_threads < 1 || options.queue_limit < 1 ||
      options.retry_min <= milliseconds(0) || options.retry_max < options.retry_min ||
      options.poll <= milliseconds(0) || options.check_interval <= milliseconds(0) ||
      options.default_window.count() < 0) {
    return absl::InvalidArgumentError("alarm: limits must be positive (retry: 0 < min <= max)");
  }
  auto impl = std::make_unique<Impl>(store, log, sender, history, std::move(options));
  impl->StartThreads();
  return std::unique_ptr<AlarmEngine>(new AlarmEngine(std::move(impl)));
}

AlarmEngine::AlarmEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AlarmEngine::~AlarmEngine() { Stop(); }
void AlarmEngine::Lead(coord::Revision token) { impl_->Lead(token); }
void AlarmEngine::Follow() { impl_->Follow(); }
void AlarmEngine::Stop() { impl_->Stop(); }
absl::Status AlarmEngine::OnStored(const std::vector<history::Execution>& rows) {
  return impl_->OnStored(rows);
}
void AlarmEngine::OnMisfire(const scheduler::MisfireEvent& event) { impl_->OnMisfire(event); }
EngineStats AlarmEngine::stats() const { return impl_->stats(); }

Message TestMessage(const Channel& channel, std::string_view node, std::string_view ui_url,
                    Time now) {
  Event e;
  e.kind = Kind::kTest;
  e.key = fmt::format("test/{}/{}", channel.id, UnixMs(now));
  e.node = std::string(node);
  e.result = fmt::format("a test of alarm channel {} ({}, {})", channel.name, channel.id,
                         Name(channel.type));
  e.at = e.first_at = e.last_at = now;
  if (!ui_url.empty()) e.link = std::string(ui_url);
  return Message{AlarmId(e.key), std::move(e)};
}

}  // namespace forest::alarm
