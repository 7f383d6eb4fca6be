#include "coord/election.h"

#include <spdlog/spdlog.h>

namespace forest::coord {

absl::StatusOr<std::unique_ptr<Election>> Election::Start(Store& store, ElectionOptions options,
                                                          ElectionListener listener) {
  if (options.node_id.empty()) return absl::InvalidArgumentError("election: empty node id");
  if (options.ttl < std::chrono::seconds(1)) {
    return absl::InvalidArgumentError("election: the lease TTL must be at least 1s");
  }
  if (options.safety_margin >= options.ttl) {
    return absl::InvalidArgumentError("election: the safety margin must be shorter than the TTL");
  }
  std::unique_ptr<Election> e(new Election(store, std::move(options), std::move(listener)));
  e->thread_ = std::thread([p = e.get()] { p->Run(); });
  return e;
}

Election::Election(Store& store, ElectionOptions options, ElectionListener listener)
    : store_(store), options_(std::move(options)), listener_(std::move(listener)) {}

Election::~Election() { Resign(); }

void Election::Resign() {
  Set(&Flags::stop);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Election::is_leader() const {
  std::lock_guard lock(mu_);
  return token_.has_value() && keeper_ != nullptr && !keeper_->lost();
}

std::optional<Revision> Election::token() const {
  std::lock_guard lock(mu_);
  return token_;
}

std::optional<std::string> Election::leader() const {
  std::lock_guard lock(mu_);
  return leader_;
}

TxnRequest Election::Fence(TxnRequest txn, std::string_view leader_key, Revision token) {
  txn.compare.push_back(
      Compare::CreateRevision(std::string(leader_key), Compare::Result::kEqual, token));
  return txn;
}

absl::StatusOr<TxnResponse> Election::FencedTxn(TxnRequest txn) const {
  Revision token;
  {
    std::lock_guard lock(mu_);
    if (!token_ || keeper_ == nullptr || keeper_->lost()) {
      return absl::FailedPreconditionError("not the leader");
    }
    token = *token_;
  }
  return store_.Txn(Fence(std::move(txn), options_.key, token));
}

void Election::Set(bool Flags::*flag) {
  {
    std::lock_guard lock(mu_);
    flags_.*flag = true;
  }
  cv_.notify_all();
}

Election::Flags Election::WaitAny() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return flags_.stop || flags_.key_changed || flags_.lease_lost; });
  const Flags f = flags_;
  flags_.key_changed = false;
  flags_.lease_lost = false;
  return f;
}

bool Election::SleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return flags_.stop; });
}

void Election::StepDown() {
  {
    std::lock_guard lock(mu_);
    if (!token_) return;
    token_.reset();
  }
  spdlog::info("election: node {} steps down", options_.node_id);
  if (listener_.on_demoted) listener_.on_demoted();
}

void Election::DropKeeper() {
  std::unique_ptr<LeaseKeeper> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(keeper_);
  }
  // Destroyed outside mu_: its monitor thread may be calling Set().
}

void Election::Run() {
  LeaseId lease = 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (flags_.stop) break;
    }
    {
      // A lease lost while we were not waiting (e.g. during failed
      // campaigns) must not be campaigned with: its puts would fail forever.
      bool lost;
      {
        std::lock_guard lock(mu_);
        lost = flags_.lease_lost || (keeper_ != nullptr && keeper_->lost());
      }
      if (lost && lease != 0) {
        DropKeeper();
        lease = 0;
      }
    }
    if (lease == 0) {
      {
        std::lock_guard lock(mu_);
        flags_.lease_lost = false;  // before the new keeper can report
      }
      const auto grant = store_.GrantLease(options_.ttl);
      if (!grant.ok()) {
        spdlog::warn("election: cannot get a lease: {}", grant.status().ToString());
        if (!SleepUnlessStopped(options_.retry_backoff)) break;
        continue;
      }
      KeepAliveOptions ka;
      ka.safety_margin = options_.safety_margin;
      ka.on_lost = [this] { Set(&Flags::lease_lost); };
      auto keeper = store_.KeepAlive(grant->id, std::move(ka));
      if (!keeper.ok()) {
        spdlog::warn("election: cannot keep lease alive: {}", keeper.status().ToString());
        (void)store_.RevokeLease(grant->id);
        if (!SleepUnlessStopped(options_.retry_backoff)) break;
        continue;
      }
      lease = grant->id;
      std::lock_guard lock(mu_);
      keeper_ = *std::move(keeper);
    }

    // Campaign: create the key only if it does not exist, under our lease.
    TxnRequest campaign;
    campaign.compare.push_back(Compare::Absent(options_.key));
    campaign.success.push_back(PutRequest{options_.key, options_.node_id, lease, false});
    campaign.failure.push_back(RangeRequest{options_.key, "", 0, 0, false, false});
    const auto result = store_.Txn(campaign);
    if (!result.ok()) {
      spdlog::warn("election: campaign failed: {}", result.status().ToString());
      if (result.status().code() == absl::StatusCode::kNotFound) {
        // Our lease is gone on the server: get a new one.
        DropKeeper();
        (void)store_.RevokeLease(lease);
        lease = 0;
      }
      if (!SleepUnlessStopped(options_.retry_backoff)) break;
      continue;
    }
    std::optional<Revision> won;
    if (result->succeeded) {
      won = result->revision;
    } else {
      const auto& range = std::get<RangeResponse>(result->responses.at(0));
      if (!range.kvs.empty()) {
        const KeyValue& holder = range.kvs.front();
        if (holder.lease == lease) won = holder.create_revision;  // still ours
        std::lock_guard lock(mu_);
        leader_ = holder.value;
      }
    }
    if (won) {
      bool already;
      {
        std::lock_guard lock(mu_);
        already = token_ == won;  // a retry that found our own key: nothing changed
        token_ = *won;
        leader_ = options_.node_id;
      }
      if (!already) {
        spdlog::info("election: node {} leads with token {}", options_.node_id, *won);
        if (listener_.on_elected) listener_.on_elected(*won);
      }
    }

    // Watch the key: a follower campaigns again when it is deleted, a leader
    // steps down.
    auto watch = store_.Watch(WatchRequest{options_.key, "", result->revision + 1, false},
                              [this](WatchUpdate u) {
                                bool changed = u.ended;
                                for (const WatchEvent& e : u.events)
                                  changed |= e.type == WatchEvent::Type::kDelete;
                                if (changed) Set(&Flags::key_changed);
                              });
    if (!watch.ok()) {
      // Not a reason to step down: the lease (watched by its keeper, which
      // is_leader() consults) and the fence still hold. Campaign again, which
      // finds our own key, and retry the watch.
      spdlog::warn("election: cannot watch {}: {}", options_.key, watch.status().ToString());
      if (!SleepUnlessStopped(options_.retry_backoff)) break;
      continue;
    }
    const Flags f = WaitAny();
    watch->reset();
    StepDown();  // whatever woke us, a leader stops acting first
    if (f.lease_lost) {
      DropKeeper();
      lease = 0;
    }
    if (f.stop) break;
  }

  // Resigning: stop acting as leader before the lease goes, then revoke it
  // so a follower takes over at once.
  StepDown();
  DropKeeper();
  if (lease != 0) (void)store_.RevokeLease(lease);
}

}  // namespace forest::coord
