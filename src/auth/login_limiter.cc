#include "auth/login_limiter.h"

#include <algorithm>
#include <string>

#include "common/check.h"

namespace forest::auth::internal {
namespace {

// The fewest keys a table has before a sweep.
constexpr size_t kMinSweep = 4096;

std::string PairKey(std::string_view user, std::string_view address) {
  std::string key(user);
  key.push_back('\0');
  key.append(address);
  return key;
}

}  // namespace

LoginLimiter::LoginLimiter(Clock& clock, int max_failures, Millis window)
    : clock_(clock),
      max_failures_(static_cast<size_t>(max_failures)),
      window_(window),
      sweep_at_(kMinSweep) {
  FOREST_CHECK(max_failures > 0 && window > Millis(0));
}

std::deque<LoginLimiter::Failure>* LoginLimiter::Live(Table& table, const std::string& key,
                                                      Time now) {
  auto it = table.find(key);
  if (it == table.end()) return nullptr;
  std::deque<Failure>& failures = it->second;
  while (!failures.empty() && failures.front().at + window_ <= now) failures.pop_front();
  if (failures.empty()) {
    table.erase(it);
    return nullptr;
  }
  return &failures;
}

Millis LoginLimiter::Wait(Table& table, const std::string& key, size_t limit, Time now) {
  const std::deque<Failure>* failures = Live(table, key, now);
  if (failures == nullptr || failures->size() < limit) return Millis(0);
  // Allowed again once all but limit - 1 of them have left the window.
  const Failure& oldest_to_go = (*failures)[failures->size() - limit];
  return oldest_to_go.at + window_ - now;
}

void LoginLimiter::Sweep(Time now) {
  if (std::max({by_pair_.size(), by_user_.size(), by_address_.size()}) < sweep_at_) return;
  for (Table* table : {&by_pair_, &by_user_, &by_address_}) {
    for (auto it = table->begin(); it != table->end();) {
      std::deque<Failure>& failures = it->second;
      while (!failures.empty() && failures.front().at + window_ <= now) failures.pop_front();
      it = failures.empty() ? table->erase(it) : std::next(it);
    }
  }
  sweep_at_ =
      std::max(kMinSweep, 2 * std::max({by_pair_.size(), by_user_.size(), by_address_.size()}));
}

absl::Status LoginLimiter::Admit(std::string_view user, std::string_view address) {
  const Time now = clock_.Monotonic();
  const std::string pair = PairKey(user, address);
  std::lock_guard lock(mu_);
  Sweep(now);
  const Millis wait =
      std::max({Wait(by_pair_, pair, max_failures_, now),
                Wait(by_address_, std::string(address), kAddressFactor * max_failures_, now),
                Wait(by_user_, std::string(user), kUserFactor * max_failures_, now)});
  if (wait > Millis(0)) {
    const int64_t seconds = std::max<int64_t>(1, (wait.count() + 999) / 1000);
    return absl::ResourceExhaustedError("too many failed logins; try again in " +
                                        std::to_string(seconds) +
                                        (seconds == 1 ? " second" : " seconds"));
  }
  by_pair_[pair].push_back({now, ""});
  by_user_[std::string(user)].push_back({now, std::string(address)});
  by_address_[std::string(address)].push_back({now, std::string(user)});
  return absl::OkStatus();
}

void LoginLimiter::RecordSuccess(std::string_view user, std::string_view address) {
  const Time now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  by_pair_.erase(PairKey(user, address));
  auto forget = [&](Table& table, const std::string& key, std::string_view other) {
    std::deque<Failure>* failures = Live(table, key, now);
    if (failures == nullptr) return;
    std::erase_if(*failures, [&](const Failure& f) { return f.other == other; });
    if (failures->empty()) table.erase(key);
  };
  forget(by_user_, std::string(user), address);
  forget(by_address_, std::string(address), user);
}

void LoginLimiter::Withdraw(std::string_view user, std::string_view address) {
  const Time now = clock_.Monotonic();
  const std::string pair = PairKey(user, address);
  std::lock_guard lock(mu_);
  auto drop_newest = [&](Table& table, const std::string& key, std::string_view other) {
    std::deque<Failure>* failures = Live(table, key, now);
    if (failures == nullptr) return;
    for (auto it = failures->rbegin(); it != failures->rend(); ++it) {
      if (it->other == other) {
        failures->erase(std::next(it).base());
        break;
      }
    }
    if (failures->empty()) table.erase(key);
  };
  drop_newest(by_pair_, pair, "");
  drop_newest(by_user_, std::string(user), address);
  drop_newest(by_address_, std::string(address), user);
}

}  // namespace forest::auth::internal
