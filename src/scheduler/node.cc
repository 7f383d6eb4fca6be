#include "scheduler/node.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/log.h"
#include "coord/election.h"
#include "model/keys.h"

namespace forest::scheduler {
namespace {

using std::chrono::milliseconds;

using model::keys::kRoot;
// The loop wakes at least this often (a wall-clock step cannot stall it), and
// a failed reload or re-registration is retried after this long.
constexpr milliseconds kMaxWait{1000};
constexpr milliseconds kRetryBackoff{1000};

// What the store's and the election's threads hand to the loop thread.
struct Item {
  enum class Kind { kEvents, kReload, kElected, kDemoted, kNodeLeaseLost };
  Kind kind = Kind::kEvents;
  uint64_t generation = 0;  // kEvents, kReload: the watch that sent it
  std::vector<coord::WatchEvent> events;
  coord::Revision token = 0;  // kElected

  static Item Of(Kind kind) {
    Item item;
    item.kind = kind;
    return item;
  }
};

}  // namespace

class Node::Impl {
 public:
  Impl(coord::Store& store, NodeOptions options)
      : own_probe_(options.leader.probe == nullptr ? std::make_unique<Probe>() : nullptr),
        store_(store),
        options_(WithProbe(std::move(options), own_probe_.get())),
        clock_(*options_.leader.clock),
        node_key_(std::string(model::keys::kNodePrefix) + options_.leader.node_id),
        leader_(std::make_unique<Leader>(store, options_.leader)) {
    std::lock_guard lock(mu_);
    status_.node_id = options_.leader.node_id;
  }
  ~Impl() { Stop(); }

  // Registers, loads the view, starts the watch, the election and the loop.
  // On error the caller calls Stop(), which undoes whatever was done.
  absl::Status Start();
  void Stop();

  NodeStatus status() const {
    NodeStatus s;
    {
      std::lock_guard lock(mu_);
      s = status_;
      if (stop_ || election_ == nullptr) return s;
    }
    // Election::leader() is thread-safe and fresher than the last iteration.
    s.leader = election_->leader();
    return s;
  }
  std::optional<Time> NextFire(std::string_view job_id) const {
    std::lock_guard lock(leader_mu_);
    return leader_->NextFire(job_id);
  }

 private:
  // Grants a lease, keeps it alive and creates the node key under it.
  // AlreadyExists when another live lease holds the key.
  absl::Status Register();
  // Drops the node lease (revoking it, best effort).
  void Unregister();
  // Range of /forest/ -> Leader::Load, then a watch from R + 1.
  absl::Status LoadView() ABSL_EXCLUSIVE_LOCKS_REQUIRED(leader_mu_);
  void Push(Item item);
  void Loop();
  // Blocks until there is something to do; false when stopping. Moves the
  // queued items to `items`.
  bool Wait(Time next_tick, std::vector<Item>& items);
  // One iteration's work on the Leader; answers the next Tick time.
  Time Process(std::vector<Item>& items) ABSL_EXCLUSIVE_LOCKS_REQUIRED(leader_mu_);
  bool RetryDue() const;

  static NodeOptions WithProbe(NodeOptions options, Probe* own) {
    if (options.leader.probe == nullptr) options.leader.probe = own;
    return options;
  }

  std::unique_ptr<Probe> own_probe_;  // when the options name none
  coord::Store& store_;
  const NodeOptions options_;
  Clock& clock_;
  const std::string node_key_;

  // The Leader is single-threaded: the loop thread drives it (Start, before
  // the loop runs, and NextFire() borrow it under the same mutex).
  mutable std::mutex leader_mu_;
  const std::unique_ptr<Leader> leader_ ABSL_PT_GUARDED_BY(leader_mu_);

  // The loop thread's own state (also touched by Start before the loop runs
  // and by Stop after it ended).
  std::unique_ptr<coord::LeaseKeeper> keeper_;
  coord::LeaseId lease_ = 0;
  std::unique_ptr<coord::WatchHandle> watch_;
  bool reload_pending_ = false;
  bool register_pending_ = false;
  std::chrono::steady_clock::time_point retry_at_{};
  bool was_leading_ = false;

  // Serializes Start and Stop.
  std::mutex stop_mu_;
  // Set by Start before the node is shared, kept until destruction (Stop
  // resigns it), so status() may read it from any thread.
  std::unique_ptr<coord::Election> election_;
  std::thread loop_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  // The current watch; updates of older ones are dropped.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  NodeStatus status_ ABSL_GUARDED_BY(mu_);
};

absl::Status Node::Impl::Register() {
  const auto grant = store_.GrantLease(options_.lease_ttl);
  if (!grant.ok()) return grant.status();
  lease_ = grant->id;
  coord::KeepAliveOptions ka;
  ka.safety_margin = options_.safety_margin;
  ka.on_lost = [this] { Push(Item::Of(Item::Kind::kNodeLeaseLost)); };
  auto keeper = store_.KeepAlive(lease_, std::move(ka));
  if (!keeper.ok()) return keeper.status();
  keeper_ = *std::move(keeper);

  coord::TxnRequest txn;
  txn.compare.push_back(coord::Compare::Absent(node_key_));
  txn.success.push_back(coord::PutRequest{node_key_, options_.leader.node_id, lease_, false});
  txn.failure.push_back(coord::RangeRequest{node_key_, "", 0, 0, false, false});
  ASSIGN_OR_RETURN(const coord::TxnResponse created, store_.Txn(txn));
  if (created.succeeded) return absl::OkStatus();
  const auto& range = std::get<coord::RangeResponse>(created.responses.at(0));
  if (range.kvs.empty()) return absl::UnavailableError("node key vanished while registering");
  const coord::KeyValue& held = range.kvs.front();
  if (held.lease == lease_) return absl::OkStatus();  // a retry that found our own key
  if (held.lease != 0) {
    return absl::AlreadyExistsError(
        fmt::format("node id {} is held by a live node", options_.leader.node_id));
  }
  // A key without a lease belongs to no live node (written by hand, or by a
  // tool): take it over, unless it changes under us.
  coord::TxnRequest take;
  take.compare.push_back(
      coord::Compare::ModRevision(node_key_, coord::Compare::Result::kEqual, held.mod_revision));
  take.success.push_back(coord::PutRequest{node_key_, options_.leader.node_id, lease_, false});
  ASSIGN_OR_RETURN(const coord::TxnResponse taken, store_.Txn(take));
  if (!taken.succeeded) {
    return absl::AlreadyExistsError(
        fmt::format("node id {} is held by a live node", options_.leader.node_id));
  }
  return absl::OkStatus();
}

void Node::Impl::Unregister() {
  keeper_.reset();
  if (lease_ != 0) (void)store_.RevokeLease(lease_);
  lease_ = 0;
}

absl::Status Node::Impl::LoadView() {
  watch_.reset();
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = ++generation_;
  }
  ASSIGN_OR_RETURN(const coord::RangeResponse snapshot,
                   store_.Range(coord::RangeRequest{std::string(kRoot), coord::PrefixEnd(kRoot),
                                                    0, 0, false, false}));
  leader_->Load(snapshot);
  auto watch = store_.Watch(
      coord::WatchRequest{std::string(kRoot), coord::PrefixEnd(kRoot), snapshot.revision + 1,
                          false},
      [this, generation](coord::WatchUpdate u) {
        if (!u.events.empty()) {
          Item item = Item::Of(Item::Kind::kEvents);
          item.generation = generation;
          item.events = std::move(u.events);
          Push(std::move(item));
        }
        // kCancelled: the store is closing (we are stopping); nothing to redo.
        if (u.compact_revision != 0 ||
            (u.ended && u.status.code() != absl::StatusCode::kCancelled)) {
          spdlog::warn("node {}: view watch ended ({}), reloading", options_.leader.node_id,
                       u.compact_revision != 0
                           ? fmt::format("compacted at {}", u.compact_revision)
                           : u.status.ToString());
          Item item = Item::Of(Item::Kind::kReload);
          item.generation = generation;
          Push(std::move(item));
        }
      });
  if (!watch.ok()) return watch.status();
  watch_ = *std::move(watch);
  return absl::OkStatus();
}

absl::Status Node::Impl::Start() {
  std::lock_guard stop_lock(stop_mu_);
  RETURN_IF_ERROR(Register());
  {
    std::lock_guard lock(leader_mu_);
    RETURN_IF_ERROR(LoadView());
    std::lock_guard status_lock(mu_);
    status_.revision = leader_->revision();
  }
  coord::ElectionOptions eo;
  eo.key = options_.leader.leader_key;
  eo.node_id = options_.leader.node_id;
  eo.ttl = options_.lease_ttl;
  eo.safety_margin = options_.safety_margin;
  coord::ElectionListener listener;
  listener.on_elected = [this](coord::Revision token) {
    Item item = Item::Of(Item::Kind::kElected);
    item.token = token;
    Push(std::move(item));
  };
  listener.on_demoted = [this] { Push(Item::Of(Item::Kind::kDemoted)); };
  ASSIGN_OR_RETURN(election_, coord::Election::Start(store_, std::move(eo), std::move(listener)));
  loop_ = std::thread([this] { Loop(); });
  spdlog::info("node {}: registered, view at revision {}", options_.leader.node_id,
               status().revision);
  return absl::OkStatus();
}

void Node::Impl::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  {
    // The leader stops acting before its lease goes.
    std::lock_guard lock(leader_mu_);
    leader_->Demoted();
    if (options_.on_leadership) options_.on_leadership(std::nullopt);
    options_.leader.probe->Leading(false);
    options_.leader.probe->ClearView();
  }
  // Resigning revokes the election's lease: a follower takes over at once.
  if (election_ != nullptr) election_->Resign();
  watch_.reset();
  Unregister();
  std::lock_guard lock(mu_);
  if (status_.leading) spdlog::info("node {}: stopped leading", options_.leader.node_id);
  status_.leading = false;
  if (status_.leader == options_.leader.node_id) status_.leader.reset();
}

void Node::Impl::Push(Item item) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    queue_.push_back(std::move(item));
  }
  cv_.notify_all();
}

bool Node::Impl::RetryDue() const {
  return (reload_pending_ || register_pending_) && std::chrono::steady_clock::now() >= retry_at_;
}

bool Node::Impl::Wait(Time next_tick, std::vector<Item>& items) {
  std::unique_lock lock(mu_);
  while (!stop_ && queue_.empty() && !RetryDue()) {
    const Time now = clock_.Now();
    if (next_tick <= now) break;
    // Clock has no timed wait: wait on the real clock, at most kMaxWait at a
    // time, and look at the (possibly fake or stepped) clock again.
    milliseconds wait = kMaxWait;
    if (next_tick < now + wait) wait = next_tick - now;
    cv_.wait_for(lock, wait);
  }
  if (stop_) return false;
  items.swap(queue_);
  return true;
}

Time Node::Impl::Process(std::vector<Item>& items) {
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
  }
  for (Item& item : items) {
    switch (item.kind) {
      case Item::Kind::kEvents:
        if (item.generation == generation && !reload_pending_) leader_->Apply(item.events);
        break;
      case Item::Kind::kReload:
        if (item.generation == generation && !reload_pending_) {
          reload_pending_ = true;
          retry_at_ = {};
        }
        break;
      case Item::Kind::kElected:
        leader_->Elected(item.token);
        if (options_.on_leadership) options_.on_leadership(item.token);
        break;
      case Item::Kind::kDemoted:
        leader_->Demoted();
        if (options_.on_leadership) options_.on_leadership(std::nullopt);
        break;
      case Item::Kind::kNodeLeaseLost:
        if (!register_pending_) {
          spdlog::warn("node {}: node lease lost, registering again with a new one",
                       options_.leader.node_id);
          register_pending_ = true;
          retry_at_ = {};
        }
        break;
    }
  }
  items.clear();

  const auto now = std::chrono::steady_clock::now();
  if (reload_pending_ && now >= retry_at_) {
    const absl::Status s = LoadView();
    reload_pending_ = !s.ok();
    if (!s.ok()) {
      spdlog::warn("node {}: cannot reload the view: {}", options_.leader.node_id, s.ToString());
      retry_at_ = now + kRetryBackoff;
    }
  }
  if (register_pending_ && now >= retry_at_) {
    Unregister();
    const absl::Status s = Register();
    register_pending_ = !s.ok();
    if (!s.ok()) {
      spdlog::warn("node {}: cannot register again: {}", options_.leader.node_id, s.ToString());
      Unregister();
      retry_at_ = now + kRetryBackoff;
    }
  }
  // A leader must not act on a view it could not reload: it would miss
  // what changed meanwhile.
  if (reload_pending_) return clock_.Now() + std::chrono::seconds(1);
  return leader_->Tick();
}

void Node::Impl::Loop() {
  Time next_tick = Time::min();  // tick at once
  std::vector<Item> items;
  while (Wait(next_tick, items)) {
    NodeStatus s;
    {
      std::lock_guard lock(leader_mu_);
      next_tick = Process(items);
      s.leading = leader_->leading();
      s.revision = leader_->revision();
      s.planned = leader_->planned();
      s.stats = leader_->stats();
      Probe& probe = *options_.leader.probe;
      probe.Leading(s.leading);
      if (s.leading) {
        probe.View(leader_->running(), leader_->workers(), s.planned);
      } else {
        probe.ClearView();
      }
    }
    s.node_id = options_.leader.node_id;
    s.leader = election_->leader();
    if (s.leading != was_leading_) {
      was_leading_ = s.leading;
      if (s.leading) {
        LogEvent(spdlog::level::info, {.node = s.node_id}, "node {}: leads (view at revision {})",
                 s.node_id, s.revision);
      } else {
        LogEvent(spdlog::level::info, {.node = s.node_id}, "node {}: no longer leads", s.node_id);
      }
    }
    std::lock_guard lock(mu_);
    status_ = std::move(s);
  }
}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(coord::Store& store, NodeOptions options) {
  if (options.leader.node_id.empty()) return absl::InvalidArgumentError("node: empty node id");
  if (options.leader.clock == nullptr) return absl::InvalidArgumentError("node: no clock");
  if (options.lease_ttl < std::chrono::seconds(1)) {
    return absl::InvalidArgumentError("node: the lease TTL must be at least 1s");
  }
  if (options.safety_margin >= options.lease_ttl) {
    return absl::InvalidArgumentError("node: the safety margin must be shorter than the lease TTL");
  }
  auto impl = std::make_unique<Impl>(store, std::move(options));
  const absl::Status started = impl->Start();
  if (!started.ok()) {
    impl->Stop();
    return started;
  }
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { Stop(); }

void Node::Stop() { impl_->Stop(); }

NodeStatus Node::status() const { return impl_->status(); }

std::optional<Time> Node::NextFire(std::string_view job_id) const {
  return impl_->NextFire(job_id);
}

}  // namespace forest::scheduler
