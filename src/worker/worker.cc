#include "worker/worker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/log.h"
#include "common/status.h"
#include "model/job.h"
#include "model/keys.h"
#include "worker/spool.h"

namespace forest::worker {
namespace {

namespace keys = model::keys;
using std::chrono::milliseconds;

constexpr milliseconds kRetryEvery{1000};
constexpr std::chrono::seconds kClaimLeaseTtl{7200};
constexpr std::chrono::seconds kClaimLeaseEvery{3600};

coord::Op Put(std::string key, std::string value, coord::LeaseId lease = 0) {
  coord::PutRequest put;
  put.key = std::move(key);
  put.value = std::move(value);
  put.lease = lease;
  return put;
}
coord::Op Delete(std::string key) {
  coord::DeleteRequest del;
  del.key = std::move(key);
  return del;
}

// Claim locks (keys::Claim: one worker runs a run, even if it was written
// for two) live under a lease that nobody renews (kClaimLeaseTtl, a new one
// every kClaimLeaseEvery), so they go by themselves an hour or two later.

std::string SafeFileName(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '/' || c == '\0') c = '_';
  }
  return out;
}

}  // namespace

class Worker::Impl {
 public:
  Impl(coord::Store& store, WorkerOptions options, std::vector<std::unique_ptr<Executor>> executors)
      : store_(store),
        options_(std::move(options)),
        clock_(*options_.clock),
        own_probe_(options_.probe == nullptr ? std::make_unique<Probe>() : nullptr),
        probe_(options_.probe == nullptr ? *own_probe_ : *options_.probe),
        executors_(std::move(executors)) {}
  ~Impl() { Drain(milliseconds(0)); }

  absl::Status Start();
  void Drain(milliseconds timeout);
  WorkerStats stats() const {
    std::lock_guard lock(mu_);
    WorkerStats s = stats_;
    s.running = static_cast<int>(running_.size());
    s.spooled = spool_.written();
    return s;
  }

 private:
  struct Pending {
    std::string group;
    coord::KeyValue kv;
  };
  // A run from the moment its claim is sent (so a kill that arrives before
  // the claim's answer still finds it) until its record is written.
  struct Running {
    std::string group;
    std::shared_ptr<CancelToken> cancel;
    std::thread thread;  // empty while the claim is in flight
    bool killed = false;
  };

  absl::Status Register() ABSL_EXCLUSIVE_LOCKS_REQUIRED(register_mu_);
  absl::Status WatchGroup(const std::string& group);
  void OnAssignments(const std::string& group, const coord::WatchUpdate& update);
  void OnKills(const std::string& group, const coord::WatchUpdate& update);
  // A watch ended (compacted, canceled by the server): watch again.
  void WatchEnded(const std::string& group, const coord::WatchUpdate& update);
  // The queue of assignments to claim: a put adds (or refreshes), a delete drops.
  void Enqueue(const std::string& group, const coord::KeyValue& kv);
  void Dequeue(const std::string& key);
  void Kill(const std::string& group, const std::string& id, const std::string& reason);
  void Dispatch();  // the dispatcher thread
  bool Claim(const Pending& pending);
  void Execute(std::string group, model::Assignment assignment, std::shared_ptr<CancelToken> cancel,
               coord::Revision record_revision);
  // Writes the final record (if the claimed one is still there), or spools it.
  void Finish(const std::string& group, const model::ExecutionRecord& record,
              coord::Revision record_revision);
  // After a claim whose answer was an error: did it apply? (Our claim lock
  // and running record are there.) Answers the record's create revision.
  std::optional<coord::Revision> ClaimApplied(const std::string& group, const std::string& id);
  Executor* Pick(const model::Assignment& assignment) const;
  // The lease claim locks go under (see ClaimKey).
  absl::StatusOr<coord::LeaseId> ClaimLease();

  coord::Store& store_;
  const WorkerOptions options_;
  Clock& clock_;
  const std::unique_ptr<Probe> own_probe_;  // when the options name none
  Probe& probe_;
  const std::vector<std::unique_ptr<Executor>> executors_;

  std::mutex register_mu_;
  coord::LeaseId lease_ ABSL_GUARDED_BY(register_mu_) = 0;
  std::unique_ptr<coord::LeaseKeeper> keeper_ ABSL_GUARDED_BY(register_mu_);
  coord::LeaseId claim_lease_ ABSL_GUARDED_BY(register_mu_) = 0;
  Time claim_lease_until_ ABSL_GUARDED_BY(register_mu_){};  // monotonic: take a new one after

  std::mutex watch_mu_;
  // Per group: the assignment watch and the kill watch.
  std::map<std::string, std::vector<std::unique_ptr<coord::WatchHandle>>> watches_
      ABSL_GUARDED_BY(watch_mu_);
  internal::Spool spool_{options_.spool_dir};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> queued_ ABSL_GUARDED_BY(mu_);            // keys in queue_
  std::map<std::string, Running> running_ ABSL_GUARDED_BY(mu_);  // by run id
  std::vector<std::thread> finished_ ABSL_GUARDED_BY(mu_);       // to join
  std::set<std::string> rewatch_ ABSL_GUARDED_BY(mu_);           // groups whose watch ended
  WorkerStats stats_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool lease_lost_ ABSL_GUARDED_BY(mu_) = false;
  // Not before this (after a failed attempt) for re-registration and rewatch.
  std::chrono::steady_clock::time_point retry_at_ ABSL_GUARDED_BY(mu_){};
  std::thread dispatcher_;
};

absl::Status Worker::Impl::Register() {
  ASSIGN_OR_RETURN(const coord::LeaseGrant grant, store_.GrantLease(options_.lease_ttl));
  coord::KeepAliveOptions keep;
  keep.safety_margin = std::min<milliseconds>(milliseconds(1000), options_.lease_ttl / 4);
  keep.on_lost = [this] {
    {
      std::lock_guard lock(mu_);
      lease_lost_ = true;
    }
    cv_.notify_all();
  };
  auto keeper = store_.KeepAlive(grant.id, keep);
  if (!keeper.ok()) {
    (void)store_.RevokeLease(grant.id);
    return keeper.status();
  }
  nlohmann::json facts{{"name", options_.name},
                       {"version", options_.version},
                       {"capacity", options_.concurrency},
                       {"labels", options_.labels},
                       {"pid", static_cast<int64_t>(::getpid())},
                       {"registeredAt", FormatRfc3339Millis(clock_.Now())}};
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) facts["host"] = host;
  // A name held by a live lease is another worker's; one held by a lease
  // about to expire may be our own previous life: wait that out.
  const Time give_up = clock_.Monotonic() + options_.lease_ttl + milliseconds(1000);
  for (const std::string& group : options_.groups) {
    while (true) {
      coord::TxnRequest txn;
      txn.compare.push_back(coord::Compare::Absent(keys::Client(group, options_.name)));
      txn.success.push_back(Put(keys::Client(group, options_.name), options_.name, grant.id));
      txn.success.push_back(Put(keys::WorkerFacts(group, options_.name), facts.dump(), grant.id));
      auto response = store_.Txn(txn);
      if (!response.ok()) {
        (void)store_.RevokeLease(grant.id);
        return response.status();
      }
      if (response->succeeded) break;
      if (clock_.Monotonic() > give_up) {
        (void)store_.RevokeLease(grant.id);
        return absl::AlreadyExistsError(fmt::format(
            "worker name '{}' is held in group '{}' by a live worker; give each worker on a host "
            "its own --name",
            options_.name, group));
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
  }
  lease_ = grant.id;
  keeper_ = std::move(*keeper);
  return absl::OkStatus();
}

absl::Status Worker::Impl::WatchGroup(const std::string& group) {
  // Work written while we were away, then everything after.
  coord::RangeRequest range;
  range.key = keys::SnapshotPrefix(group, options_.name);
  range.range_end = coord::PrefixEnd(range.key);
  ASSIGN_OR_RETURN(const coord::RangeResponse pending, store_.Range(range));
  for (const coord::KeyValue& kv : pending.kvs) Enqueue(group, kv);
  coord::WatchRequest watch;
  watch.key = range.key;
  watch.range_end = range.range_end;
  watch.start_revision = pending.revision + 1;
  ASSIGN_OR_RETURN(auto assignments, store_.Watch(watch, [this, group](coord::WatchUpdate u) {
    OnAssignments(group, u);
  }));

  coord::RangeRequest kills;
  kills.key = keys::Kill(group, options_.name, "");
  kills.range_end = coord::PrefixEnd(kills.key);
  ASSIGN_OR_RETURN(const coord::RangeResponse old_kills, store_.Range(kills));
  // Requests written while no watch looked: for runs going on here they
  // apply; the others are stale and go.
  for (const coord::KeyValue& kv : old_kills.kvs) {
    if (const auto parsed = keys::Parse(kv.key)) Kill(group, std::string(parsed->c), "killed");
  }
  coord::WatchRequest kill_watch;
  kill_watch.key = kills.key;
  kill_watch.range_end = kills.range_end;
  kill_watch.start_revision = old_kills.revision + 1;
  ASSIGN_OR_RETURN(auto kill_handle, store_.Watch(kill_watch, [this, group](coord::WatchUpdate u) {
    OnKills(group, u);
  }));
  std::vector<std::unique_ptr<coord::WatchHandle>> old;
  {
    std::lock_guard lock(watch_mu_);
    old.swap(watches_[group]);
    watches_[group].push_back(std::move(assignments));
    watches_[group].push_back(std::move(kill_handle));
  }
  return absl::OkStatus();
}

void Worker::Impl::OnAssignments(const std::string& group, const coord::WatchUpdate& update) {
  for (const coord::WatchEvent& e : update.events) {
    if (e.type == coord::WatchEvent::Type::kPut) {
      Enqueue(group, e.kv);
    } else {
      Dequeue(e.kv.key);  // moved away or claimed: not ours to claim any more
    }
  }
  if (update.ended) WatchEnded(group, update);
  cv_.notify_all();
}

void Worker::Impl::WatchEnded(const std::string& group, const coord::WatchUpdate& update) {
  if (update.status.code() == absl::StatusCode::kCancelled) return;  // we are stopping
  spdlog::warn("worker {}: a watch of group {} ended ({}); watching again", options_.name, group,
               update.status.ToString());
  std::lock_guard lock(mu_);
  rewatch_.insert(group);
}

void Worker::Impl::Enqueue(const std::string& group, const coord::KeyValue& kv) {
  std::lock_guard lock(mu_);
  if (!queued_.insert(kv.key).second) {
    // Written again (a new create revision, say): the latest counts.
    for (Pending& p : queue_) {
      if (p.kv.key == kv.key) p.kv = kv;
    }
    return;
  }
  queue_.push_back({group, kv});
}

void Worker::Impl::Dequeue(const std::string& key) {
  std::lock_guard lock(mu_);
  if (queued_.erase(key) == 0) return;
  std::erase_if(queue_, [&](const Pending& p) { return p.kv.key == key; });
}

void Worker::Impl::OnKills(const std::string& group, const coord::WatchUpdate& update) {
  if (update.ended) WatchEnded(group, update);
  for (const coord::WatchEvent& e : update.events) {
    if (e.type != coord::WatchEvent::Type::kPut) continue;
    const auto parsed = keys::Parse(e.kv.key);
    if (!parsed) continue;
    std::string reason = "killed";
    const auto j = nlohmann::json::parse(e.kv.value, nullptr, false);
    if (j.is_object() && j.contains("reason") && j["reason"].is_string()) {
      reason = "killed: " + j["reason"].get<std::string>();
    }
    Kill(group, std::string(parsed->c), reason);
  }
}

void Worker::Impl::Kill(const std::string& group, const std::string& id,
                        const std::string& reason) {
  std::shared_ptr<CancelToken> cancel;
  {
    std::lock_guard lock(mu_);
    const auto it = running_.find(id);
    if (it != running_.end() && it->second.group == group) {
      it->second.killed = true;
      cancel = it->second.cancel;
    }
  }
  if (cancel) {
    cancel->Cancel(reason);
    return;
  }
  // Not running here (finished already): the request is done with.
  coord::DeleteRequest del;
  del.key = keys::Kill(group, options_.name, id);
  (void)store_.Delete(del);
}

absl::StatusOr<coord::LeaseId> Worker::Impl::ClaimLease() {
  std::lock_guard lock(register_mu_);
  const Time now = clock_.Monotonic();
  if (claim_lease_ == 0 || now >= claim_lease_until_) {
    ASSIGN_OR_RETURN(const coord::LeaseGrant grant, store_.GrantLease(kClaimLeaseTtl));
    claim_lease_ = grant.id;
    claim_lease_until_ = now + kClaimLeaseEvery;
  }
  return claim_lease_;
}

Executor* Worker::Impl::Pick(const model::Assignment& assignment) const {
  for (const auto& executor : executors_) {
    if (executor->Accepts(assignment)) return executor.get();
  }
  return nullptr;
}

bool Worker::Impl::Claim(const Pending& pending) {
  auto assignment = model::Assignment::FromJson(pending.kv.value);
  if (!assignment.ok()) {
    spdlog::warn("worker {}: ignoring malformed assignment {}: {}", options_.name, pending.kv.key,
                 std::string(assignment.status().message()));
    return false;
  }
  const std::string id = assignment->id;
  auto cancel = std::make_shared<CancelToken>();
  {
    // Registered before the claim is sent, so a kill that comes right after
    // finds it, and a drain waits for it.
    std::lock_guard lock(mu_);
    if (draining_ || running_.contains(id)) return false;
    Running& run = running_[id];
    run.group = pending.group;
    run.cancel = cancel;
  }
  const auto give_up = [&] {
    std::lock_guard lock(mu_);
    running_.erase(id);
    cv_.notify_all();
    return false;
  };
  auto lease = ClaimLease();
  if (!lease.ok()) {
    LogEvent(spdlog::level::warn, {.job = assignment->job_id, .execution = id},
             "worker {}: cannot claim {}: {}", options_.name, pending.kv.key,
             lease.status().ToString());
    Enqueue(pending.group, pending.kv);  // try again later
    return give_up();
  }
  const Time now = clock_.Now();
  model::ExecutionRecord record;
  record.run = *assignment;
  record.run.ip = options_.name;
  record.status = model::RunStatus::kRunning;
  record.start_time = model::FormatLegacyTime(now, TimeZone::Local());
  record.started_at = now;
  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::CreateRevision(
      pending.kv.key, coord::Compare::Result::kEqual, pending.kv.create_revision));
  txn.compare.push_back(coord::Compare::Absent(keys::Claim(pending.group, id)));
  txn.success.push_back(Delete(pending.kv.key));
  txn.success.push_back(Put(keys::Execute(pending.group, options_.name, id), record.ToJson()));
  txn.success.push_back(Put(keys::Claim(pending.group, id), options_.name, *lease));
  auto response = store_.Txn(txn);
  coord::Revision record_revision = 0;
  if (response.ok() && response->succeeded) {
    record_revision = response->revision;
  } else if (response.ok()) {
    std::lock_guard lock(mu_);
    ++stats_.claim_conflicts;  // someone else was first, or the leader moved it
    probe_.ClaimConflict();
    running_.erase(id);
    return false;
  } else {
    // The answer is lost: the claim may have applied. If it did, the run is
    // ours to run (nobody else can); if not, try again later.
    LogEvent(spdlog::level::warn, {.job = assignment->job_id, .execution = id},
             "worker {}: claim of {} failed: {}", options_.name, pending.kv.key,
             response.status().ToString());
    if (absl::IsNotFound(response.status())) {
      std::lock_guard lock(register_mu_);
      claim_lease_ = 0;  // the claim lease is gone: take a new one
    }
    const std::optional<coord::Revision> applied = ClaimApplied(pending.group, id);
    if (!applied) {
      Enqueue(pending.group, pending.kv);
      return give_up();
    }
    record_revision = *applied;
  }
  probe_.Claimed();
  std::lock_guard lock(mu_);
  ++stats_.claimed;
  probe_.Running(static_cast<int>(running_.size()));
  running_[id].thread = std::thread(&Impl::Execute, this, pending.group, std::move(*assignment),
                                    cancel, record_revision);
  return true;
}

std::optional<coord::Revision> Worker::Impl::ClaimApplied(const std::string& group,
                                                          const std::string& id) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    coord::TxnRequest read;
    coord::RangeRequest claim;
    claim.key = keys::Claim(group, id);
    coord::RangeRequest record;
    record.key = keys::Execute(group, options_.name, id);
    read.success = {claim, record};
    auto response = store_.Txn(read);
    if (!response.ok()) {
      std::this_thread::sleep_for(kRetryEvery);
      continue;
    }
    const auto& claims = std::get<coord::RangeResponse>(response->responses[0]).kvs;
    const auto& records = std::get<coord::RangeResponse>(response->responses[1]).kvs;
    if (!claims.empty() && claims[0].value == options_.name && !records.empty()) {
      return records[0].create_revision;
    }
    return std::nullopt;
  }
  // Still unknown: assume it did not apply. If it did, the run's record says
  // running and the leader times it out (or marks it lost) as for any run.
  return std::nullopt;
}

void Worker::Impl::Execute(std::string group, model::Assignment assignment,
                           std::shared_ptr<CancelToken> cancel, coord::Revision record_revision) {
  const Time start = clock_.Now();
  const auto started = std::chrono::steady_clock::now();
  Execution execution;
  execution.assignment = assignment;
  execution.group = group;
  execution.worker = options_.name;
  execution.output_cap = options_.output_cap;
  if (!options_.log_dir.empty()) {
    execution.log_path = (std::filesystem::path(options_.log_dir) / SafeFileName(group) /
                          SafeFileName(assignment.job_id) / (SafeFileName(assignment.id) + ".log"))
                             .string();
  }
  // The timeout: a watcher cancels the run when it is due.
  std::thread timer;
  if (assignment.timeout_seconds > 0) {
    timer = std::thread([cancel, seconds = assignment.timeout_seconds] {
      if (!cancel->WaitFor(std::chrono::seconds(seconds))) {
        cancel->Cancel(fmt::format("timed out after {} s", seconds));
      }
    });
  }
  Outcome outcome;
  Executor* executor = Pick(assignment);
  LogEvent(spdlog::level::debug, {.job = assignment.job_id, .execution = assignment.id},
           "worker {}: run started (group {}, {} executor)", options_.name, group,
           executor == nullptr ? "no" : executor->name());
  if (executor == nullptr) {
    outcome.result = fmt::format("no executor on this worker takes target '{}'", assignment.target);
  } else {
    try {
      outcome = executor->Run(execution, *cancel);
    } catch (const std::exception& e) {
      outcome = Outcome{};
      outcome.result = fmt::format("{} executor failed: {}", executor->name(), e.what());
    }
  }
  const bool was_cancelled = cancel->cancelled();
  cancel->Cancel("");  // ends the timer
  if (timer.joinable()) timer.join();

  const Time end = clock_.Now();
  model::ExecutionRecord record;
  record.run = assignment;
  record.run.ip = options_.name;
  record.status = outcome.success ? model::RunStatus::kSuccess : model::RunStatus::kError;
  record.result = outcome.result;
  record.output = outcome.output;
  record.exit_code = outcome.exit_code;
  record.start_time = model::FormatLegacyTime(start, TimeZone::Local());
  record.finish_time = model::FormatLegacyTime(end, TimeZone::Local());
  record.started_at = start;
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  record.duration_ms = took.count();
  record.times = took.count() / 1000;
  Finish(group, record, record_revision);

  bool killed = false;
  {
    std::lock_guard lock(mu_);
    const auto it = running_.find(assignment.id);
    if (it != running_.end()) {
      killed = it->second.killed;
      finished_.push_back(std::move(it->second.thread));
      running_.erase(it);
    }
    if (outcome.success) {
      ++stats_.succeeded;
    } else {
      ++stats_.failed;
    }
    if (killed) ++stats_.killed;
    const bool timed_out = was_cancelled && !killed && record.result.starts_with("timed out");
    if (timed_out) ++stats_.timed_out;
    probe_.Finished(outcome.success, killed ? "killed" : timed_out ? "timeout" : "", took);
    probe_.Running(static_cast<int>(running_.size()));
  }
  LogEvent(spdlog::level::info, {.job = assignment.job_id, .execution = assignment.id},
           "worker {}: run finished: {} in {} ms{}{}", options_.name,
           outcome.success ? "success" : "error", took.count(), killed ? " (killed)" : "",
           outcome.success ? "" : ": " + record.result.substr(0, 200));
  if (killed) {
    coord::DeleteRequest del;
    del.key = keys::Kill(group, options_.name, assignment.id);
    (void)store_.Delete(del);
  }
  cv_.notify_all();
}

void Worker::Impl::Finish(const std::string& group, const model::ExecutionRecord& record,
                          coord::Revision record_revision) {
  const internal::SpooledRecord final{keys::Execute(group, options_.name, record.run.id),
                                      record.ToJson(), record_revision};
  if (internal::WriteFinal(store_, final).ok()) return;
  // The store is away: keep the record and write it when it is back.
  LogEvent(spdlog::level::warn, {.job = record.run.job_id, .execution = record.run.id},
           "worker {}: cannot write the record of {} now; spooled", options_.name, record.run.id);
  probe_.Spooled();
  spool_.Add(final);
}

void Worker::Impl::Dispatch() {
  auto next_spool_try = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (!finished_.empty()) {
      std::vector<std::thread> done;
      done.swap(finished_);
      lock.unlock();
      for (std::thread& t : done) t.join();
      lock.lock();
    }
    const auto now = std::chrono::steady_clock::now();
    if (lease_lost_ && !draining_ && now >= retry_at_) {
      lease_lost_ = false;
      lock.unlock();
      absl::Status s;
      {
        std::lock_guard reg(register_mu_);
        keeper_.reset();
        if (lease_ != 0) (void)store_.RevokeLease(lease_);
        lease_ = 0;
        s = Register();
      }
      if (s.ok()) {
        spdlog::info("worker {}: registered again with a new lease", options_.name);
        // Work written meanwhile: range again (the watches went on regardless).
        for (const std::string& group : options_.groups) {
          coord::RangeRequest range;
          range.key = keys::SnapshotPrefix(group, options_.name);
          range.range_end = coord::PrefixEnd(range.key);
          if (auto r = store_.Range(range); r.ok()) {
            for (const coord::KeyValue& kv : r->kvs) Enqueue(group, kv);
          }
        }
      } else {
        spdlog::warn("worker {}: cannot register again: {}", options_.name, s.ToString());
      }
      lock.lock();
      if (!s.ok()) {
        lease_lost_ = true;
        retry_at_ = std::chrono::steady_clock::now() + kRetryEvery;
      }
      continue;
    }
    if (!rewatch_.empty() && !draining_ && now >= retry_at_) {
      const std::set<std::string> groups = std::exchange(rewatch_, {});
      lock.unlock();
      std::set<std::string> failed;
      for (const std::string& group : groups) {
        if (const absl::Status s = WatchGroup(group); !s.ok()) {
          spdlog::warn("worker {}: cannot watch group {} again: {}", options_.name, group,
                       s.ToString());
          failed.insert(group);
        }
      }
      lock.lock();
      if (!failed.empty()) {
        rewatch_.insert(failed.begin(), failed.end());
        retry_at_ = std::chrono::steady_clock::now() + kRetryEvery;
      }
      continue;
    }
    if (now >= next_spool_try) {
      lock.unlock();
      spool_.Flush(store_);
      lock.lock();
      next_spool_try = std::chrono::steady_clock::now() + kRetryEvery;
    }
    if (!draining_ && !queue_.empty() && static_cast<int>(running_.size()) < options_.concurrency) {
      Pending pending = std::move(queue_.front());
      queue_.pop_front();
      queued_.erase(pending.kv.key);
      lock.unlock();
      Claim(pending);
      lock.lock();
      continue;
    }
    cv_.wait_for(lock, kRetryEvery, [&] {
      return stopped_ || !finished_.empty() ||
             (std::chrono::steady_clock::now() >= retry_at_ &&
              (lease_lost_ || !rewatch_.empty())) ||
             (!draining_ && !queue_.empty() &&
              static_cast<int>(running_.size()) < options_.concurrency);
    });
  }
}

absl::Status Worker::Impl::Start() {
  if (options_.groups.empty())
    return absl::InvalidArgumentError("a worker needs at least one group");
  for (const std::string& group : options_.groups) {
    RETURN_IF_ERROR(model::ValidateKeyName("group", group));
  }
  RETURN_IF_ERROR(model::ValidateKeyName("name", options_.name));
  if (options_.concurrency < 1) return absl::InvalidArgumentError("concurrency must be at least 1");
  {
    std::lock_guard lock(register_mu_);
    RETURN_IF_ERROR(Register());
  }
  for (const std::string& group : options_.groups) {
    const absl::Status s = WatchGroup(group);
    if (!s.ok()) {
      {
        std::lock_guard lock(watch_mu_);
        watches_.clear();
      }
      std::lock_guard lock(register_mu_);
      keeper_.reset();
      (void)store_.RevokeLease(lease_);
      return s;
    }
  }
  dispatcher_ = std::thread(&Impl::Dispatch, this);
  spdlog::info("worker {}: registered in {} (concurrency {})", options_.name,
               fmt::join(options_.groups, ", "), options_.concurrency);
  return absl::OkStatus();
}

void Worker::Impl::Drain(milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (draining_) return;
    draining_ = true;
  }
  cv_.notify_all();
  // Withdraw the client keys first: the leader moves what is still assigned
  // here. The facts key (same lease, kept alive) says we are alive, so the
  // runs still going are not taken for lost (and retried elsewhere) while
  // they finish; kill requests still reach them.
  {
    std::lock_guard lock(register_mu_);
    if (lease_ != 0) {
      coord::TxnRequest withdraw;
      for (const std::string& group : options_.groups) {
        withdraw.success.push_back(Delete(keys::Client(group, options_.name)));
      }
      if (auto r = store_.Txn(withdraw); !r.ok()) {
        spdlog::warn("worker {}: cannot withdraw its registration: {}", options_.name,
                     r.status().ToString());
      }
    }
  }
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return running_.empty(); });
    for (auto& [id, run] : running_) run.cancel->Cancel("worker stopping");
    cv_.wait(lock, [&] { return running_.empty(); });
    stopped_ = true;
  }
  cv_.notify_all();
  {
    std::lock_guard lock(register_mu_);
    keeper_.reset();
    if (lease_ != 0) (void)store_.RevokeLease(lease_);
    lease_ = 0;
  }
  std::map<std::string, std::vector<std::unique_ptr<coord::WatchHandle>>> watches;
  {
    std::lock_guard lock(watch_mu_);
    watches.swap(watches_);
  }
  watches.clear();
  if (dispatcher_.joinable()) dispatcher_.join();
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    finished.swap(finished_);
  }
  for (std::thread& t : finished) t.join();
  spool_.Flush(store_);
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;

absl::StatusOr<std::unique_ptr<Worker>> Worker::Start(
    coord::Store& store, WorkerOptions options, std::vector<std::unique_ptr<Executor>> executors) {
  auto impl = std::make_unique<Impl>(store, std::move(options), std::move(executors));
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

void Worker::Drain(milliseconds timeout) { impl_->Drain(timeout); }
WorkerStats Worker::stats() const { return impl_->stats(); }

}  // namespace forest::worker
