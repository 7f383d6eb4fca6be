#include "coord/keeper.h"

namespace forest::coord {

absl::StatusOr<std::unique_ptr<KeeperCore>> KeeperCore::Start(LeaseId id, KeepAliveOptions options,
                                                              Clock& clock, RenewFn renew,
                                                              std::function<void()> cancel,
                                                              std::chrono::milliseconds poll) {
  const Time sent = clock.Monotonic();
  // The first renewal has no deadline yet: the backend's own timeout rules.
  ASSIGN_OR_RETURN(const std::chrono::seconds ttl, renew(Millis::max()));
  if (ttl.count() <= 0) return absl::NotFoundError("lease " + std::to_string(id) + " has expired");
  if (std::chrono::duration_cast<Millis>(ttl) <= options.safety_margin) {
    return absl::InvalidArgumentError(
        "keep-alive: the safety margin must be shorter than the lease's TTL");
  }
  std::unique_ptr<KeeperCore> keeper(
      new KeeperCore(id, std::move(options), clock, std::move(renew), std::move(cancel), poll));
  {
    std::lock_guard lock(keeper->mu_);
    keeper->last_ack_ = sent;
    keeper->ttl_ = ttl;
  }
  keeper->renewer_ = std::thread([k = keeper.get()] { k->RenewLoop(); });
  keeper->monitor_ = std::thread([k = keeper.get()] { k->MonitorLoop(); });
  return keeper;
}

KeeperCore::KeeperCore(LeaseId id, KeepAliveOptions options, Clock& clock, RenewFn renew,
                       std::function<void()> cancel, std::chrono::milliseconds poll)
    : id_(id),
      options_(std::move(options)),
      clock_(clock),
      renew_(std::move(renew)),
      cancel_(std::move(cancel)),
      poll_(poll) {}

KeeperCore::~KeeperCore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (cancel_) cancel_();
  if (renewer_.joinable()) renewer_.join();
  if (monitor_.joinable()) monitor_.join();
}

Time KeeperCore::deadline() const {
  std::lock_guard lock(mu_);
  return last_ack_ + std::chrono::duration_cast<Millis>(ttl_) -
         std::chrono::duration_cast<Millis>(options_.safety_margin);
}

bool KeeperCore::lost() const {
  if (lost_) return true;
  if (clock_.Monotonic() < deadline()) return false;
  // Once seen past its deadline the lease stays lost, whatever arrives later.
  lost_ = true;
  return true;
}

void KeeperCore::MarkLost() {
  lost_ = true;
  std::call_once(lost_once_, [this] {
    if (options_.on_lost) options_.on_lost();
  });
}

bool KeeperCore::Sleep() {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, poll_, [this] { return stopping_; });
}

void KeeperCore::RenewLoop() {
  while (Sleep()) {
    if (lost_) return;
    Time due;
    {
      std::lock_guard lock(mu_);
      due = last_ack_ + std::chrono::duration_cast<Millis>(ttl_) / 3;
    }
    if (clock_.Monotonic() < due) continue;
    const Time sent = clock_.Monotonic();
    Millis budget;
    {
      std::lock_guard lock(mu_);
      budget = std::chrono::duration_cast<Millis>(ttl_) / 3;
    }
    budget = std::max(Millis(50), std::min(budget, (deadline() - sent) / 2));
    const absl::StatusOr<std::chrono::seconds> ttl = renew_(budget);
    if (lost()) return;  // too late: the deadline passed meanwhile
    if (ttl.ok() && ttl->count() > 0) {
      std::lock_guard lock(mu_);
      // A late acknowledgement must not move the deadline backwards.
      if (sent > last_ack_) last_ack_ = sent;
      ttl_ = *ttl;
    } else if ((ttl.ok() && ttl->count() <= 0) ||
               ttl.status().code() == absl::StatusCode::kNotFound) {
      MarkLost();
      return;
    }
    // Other errors: retry on the next turn; the monitor watches the deadline.
  }
}

void KeeperCore::MonitorLoop() {
  while (Sleep()) {
    // lost() may already have been latched by a caller; notify either way.
    if (lost()) {
      MarkLost();
      return;
    }
  }
}

}  // namespace forest::coord
