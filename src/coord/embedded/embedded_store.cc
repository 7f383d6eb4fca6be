// EmbeddedStore: one mutex over the state machine (mvcc.h) and its SQLite
// file (sqlite_persistence.h); watch callbacks on the hub's dispatcher thread
// (watch_hub.h); keep-alives by KeeperCore.
//
// A change is applied in memory, then persisted, then published to the
// watchers, all under the mutex; when persisting fails it is undone and the
// caller gets the error, so memory, disk and watchers never disagree.
//
// Leases expire on the clock: the expiry thread (and ExpireLeases) revokes
// them, and every write or lease call first revokes those already due, so a
// write never lands on a lease the clock says is gone. Reads do not.
#include "coord/embedded/embedded_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "coord/embedded/mvcc.h"
#include "coord/embedded/sqlite_persistence.h"
#include "coord/embedded/watch_hub.h"
#include "coord/keeper.h"

namespace forest::coord {

using embedded_internal::Event;
using embedded_internal::Mvcc;
using embedded_internal::SqlitePersistence;
using embedded_internal::WatchHub;

namespace {

constexpr std::chrono::seconds kMinLeaseTtl{1};
constexpr std::chrono::seconds kMaxLeaseTtl{9'000'000'000};  // etcd's

absl::Status Closing() { return absl::CancelledError("embedded store: the store is closing"); }

}  // namespace

struct EmbeddedStore::State {
  State(EmbeddedStoreOptions opts, Mvcc initial, std::unique_ptr<SqlitePersistence> file)
      : options(std::move(opts)),
        clock(*options.clock),
        mvcc(std::move(initial)),
        persistence(std::move(file)) {
    std::random_device seed;
    rng.seed((static_cast<uint64_t>(seed()) << 32) ^ seed());
  }

  // Keep-alive renewals reach the state through this, so a keeper that
  // outlives the store gets kCancelled instead of a dangling pointer.
  struct Renewer {
    std::mutex mu;
    State* state ABSL_GUARDED_BY(mu) = nullptr;
  };

  absl::Status CheckOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return closing ? Closing() : absl::OkStatus();
  }

  // Persists and publishes a change mvcc has applied, or undoes it.
  absl::Status CommitLocked(const std::vector<Event>& events) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (events.empty()) return absl::OkStatus();
    if (persistence) {
      absl::Status persisted = persistence->Commit(mvcc.revision(), events);
      if (!persisted.ok()) {
        mvcc.Undo(events);
        return persisted;
      }
    }
    hub->Publish(events);
    mvcc.TrimHistory(options.history_limit);
    return absl::OkStatus();
  }

  absl::StatusOr<TxnResponse> TxnLocked(const TxnRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    RETURN_IF_ERROR(CheckOpen());
    RETURN_IF_ERROR(ReapLocked());
    std::vector<Event> events;
    ASSIGN_OR_RETURN(TxnResponse response, mvcc.Txn(request, &events));
    RETURN_IF_ERROR(CommitLocked(events));
    return response;
  }

  // Deletes the lease's keys (one revision) and forgets the lease.
  absl::Status RevokeLocked(LeaseId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    RETURN_IF_ERROR(CommitLocked(mvcc.DeleteLeaseKeys(id)));
    mvcc.EraseLease(id);
    return absl::OkStatus();
  }

  absl::Status ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (LeaseId id : mvcc.ExpiredLeases(clock.Monotonic())) RETURN_IF_ERROR(RevokeLocked(id));
    return absl::OkStatus();
  }

  absl::StatusOr<std::chrono::seconds> Renew(LeaseId id) {
    std::lock_guard lock(mu);
    RETURN_IF_ERROR(CheckOpen());
    RETURN_IF_ERROR(ReapLocked());
    return mvcc.RenewLease(id, clock.Monotonic());
  }

  void ExpireLeases() {
    std::lock_guard lock(mu);
    if (closing) return;
    const absl::Status status = ReapLocked();
    if (!status.ok()) spdlog::warn("embedded store: cannot expire leases: {}", status.ToString());
  }

  void ExpiryLoop() {
    const auto poll = std::max(options.expiry_poll, std::chrono::milliseconds(1));
    std::unique_lock lock(expiry_mu);
    while (!expiry_cv.wait_for(lock, poll, [this] { return stop_expiry; })) {
      lock.unlock();
      ExpireLeases();
      lock.lock();
    }
  }

  const EmbeddedStoreOptions options;
  Clock& clock;

  std::mutex mu;
  bool closing ABSL_GUARDED_BY(mu) = false;
  Mvcc mvcc ABSL_GUARDED_BY(mu);
  std::unique_ptr<SqlitePersistence> persistence ABSL_GUARDED_BY(mu);
  std::mt19937_64 rng ABSL_GUARDED_BY(mu);

  std::shared_ptr<WatchHub> hub;
  std::shared_ptr<Renewer> renewer;

  std::mutex expiry_mu;
  std::condition_variable expiry_cv;
  bool stop_expiry ABSL_GUARDED_BY(expiry_mu) = false;
  std::thread expiry_thread;
};

absl::StatusOr<std::unique_ptr<EmbeddedStore>> EmbeddedStore::Open(EmbeddedStoreOptions options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("embedded store: no clock");
  SqlitePersistence::Contents contents;
  std::unique_ptr<SqlitePersistence> persistence;
  if (!options.sqlite_path.empty()) {
    ASSIGN_OR_RETURN(persistence, SqlitePersistence::Open(options.sqlite_path, &contents));
  }
  // A reopened file has no event history: watches start after its revision.
  const bool history_lost = persistence != nullptr && !contents.created;
  Mvcc mvcc(contents.revision, std::move(contents.kvs), history_lost);
  auto state = std::make_unique<State>(std::move(options), std::move(mvcc), std::move(persistence));
  state->hub = WatchHub::Start();
  state->renewer = std::make_shared<State::Renewer>();
  {
    std::lock_guard lock(state->renewer->mu);
    state->renewer->state = state.get();
  }
  state->expiry_thread = std::thread([s = state.get()] { s->ExpiryLoop(); });
  return std::unique_ptr<EmbeddedStore>(new EmbeddedStore(std::move(state)));
}

EmbeddedStore::EmbeddedStore(std::unique_ptr<State> state) : state_(std::move(state)) {}

EmbeddedStore::~EmbeddedStore() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    s.closing = true;
  }
  {
    std::lock_guard lock(s.renewer->mu);  // waits for a renewal in progress
    s.renewer->state = nullptr;
  }
  {
    std::lock_guard lock(s.expiry_mu);
    s.stop_expiry = true;
  }
  s.expiry_cv.notify_all();
  if (s.expiry_thread.joinable()) s.expiry_thread.join();
  // Callbacks still running may call the store: they get kCancelled.
  s.hub->Close(Closing());
}

void EmbeddedStore::ExpireLeases() { state_->ExpireLeases(); }

absl::StatusOr<RangeResponse> EmbeddedStore::Range(const RangeRequest& request) {
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(state_->CheckOpen());
  return state_->mvcc.Range(request);
}

absl::StatusOr<PutResponse> EmbeddedStore::Put(const PutRequest& request) {
  TxnRequest txn;
  txn.success.emplace_back(request);
  std::lock_guard lock(state_->mu);
  ASSIGN_OR_RETURN(TxnResponse response, state_->TxnLocked(txn));
  return std::get<PutResponse>(std::move(response.responses.front()));
}

absl::StatusOr<DeleteResponse> EmbeddedStore::Delete(const DeleteRequest& request) {
  TxnRequest txn;
  txn.success.emplace_back(request);
  std::lock_guard lock(state_->mu);
  ASSIGN_OR_RETURN(TxnResponse response, state_->TxnLocked(txn));
  return std::get<DeleteResponse>(std::move(response.responses.front()));
}

absl::StatusOr<TxnResponse> EmbeddedStore::Txn(const TxnRequest& request) {
  std::lock_guard lock(state_->mu);
  return state_->TxnLocked(request);
}

absl::Status EmbeddedStore::Compact(Revision revision) {
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(state_->CheckOpen());
  return state_->mvcc.Compact(revision);
}

absl::StatusOr<LeaseGrant> EmbeddedStore::GrantLease(std::chrono::seconds ttl) {
  if (ttl > kMaxLeaseTtl) return absl::InvalidArgumentError("etcdserver: too large lease TTL");
  ttl = std::max(ttl, kMinLeaseTtl);
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(state_->CheckOpen());
  RETURN_IF_ERROR(state_->ReapLocked());
  LeaseId id = 0;
  while (id == 0 || state_->mvcc.LeaseExists(id)) {
    id = static_cast<LeaseId>(state_->rng() &
                              static_cast<uint64_t>(std::numeric_limits<LeaseId>::max()));
  }
  state_->mvcc.GrantLease(id, ttl, state_->clock.Monotonic());
  return LeaseGrant{id, ttl};
}

absl::Status EmbeddedStore::RevokeLease(LeaseId id) {
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(state_->CheckOpen());
  RETURN_IF_ERROR(state_->ReapLocked());
  if (!state_->mvcc.LeaseExists(id)) {
    return absl::NotFoundError(fmt::format("etcdserver: requested lease not found (lease {})", id));
  }
  return state_->RevokeLocked(id);
}

absl::StatusOr<LeaseStatus> EmbeddedStore::LeaseTimeToLive(LeaseId id, bool with_keys) {
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(state_->CheckOpen());
  RETURN_IF_ERROR(state_->ReapLocked());
  return state_->mvcc.LeaseTimeToLive(id, with_keys, state_->clock.Monotonic());
}

absl::StatusOr<std::unique_ptr<LeaseKeeper>> EmbeddedStore::KeepAlive(LeaseId id,
                                                                      KeepAliveOptions options) {
  // In process: a renewal never waits, so the budget does not matter.
  auto renew = [renewer = state_->renewer, id](Millis) -> absl::StatusOr<std::chrono::seconds> {
    std::lock_guard lock(renewer->mu);
    if (renewer->state == nullptr) return Closing();
    return renewer->state->Renew(id);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<KeeperCore> keeper,
                   KeeperCore::Start(id, std::move(options), state_->clock, std::move(renew)));
  return std::unique_ptr<LeaseKeeper>(std::move(keeper));
}

absl::StatusOr<std::unique_ptr<WatchHandle>> EmbeddedStore::Watch(
    const WatchRequest& request, std::function<void(WatchUpdate)> callback) {
  if (!callback) return absl::InvalidArgumentError("embedded store: watch without a callback");
  if (request.start_revision < 0) {
    return absl::InvalidArgumentError(
        fmt::format("embedded store: negative watch start revision {}", request.start_revision));
  }
  WatchHub::Spec spec;
  // As etcd: an empty key is the smallest key, "\0".
  spec.key = request.key.empty() ? std::string(1, '\0') : request.key;
  spec.range_end = request.range_end;
  spec.prev_kv = request.prev_kv;

  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(state_->CheckOpen());
  const Mvcc& mvcc = state_->mvcc;
  spec.start_revision = request.start_revision == 0 ? mvcc.revision() + 1 : request.start_revision;
  if (spec.start_revision < mvcc.watch_floor()) {
    // Reported: the oldest revision a new watch can start from.
    WatchUpdate end;
    end.compact_revision = mvcc.watch_floor();
    end.ended = true;
    end.status = absl::OutOfRangeError(fmt::format(
        "mvcc: required revision has been compacted (watch from {}, history starts at {})",
        spec.start_revision, mvcc.watch_floor()));
    return state_->hub->Add(spec, {}, std::move(end), std::move(callback));
  }
  return state_->hub->Add(spec, mvcc.EventsFrom(spec.start_revision, spec.key, spec.range_end),
                          std::nullopt, std::move(callback));
}

}  // namespace forest::coord
