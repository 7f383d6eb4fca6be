// Internal to auth/: the failed-login counter of one node. A user name, or
// a client address, with `max_failures` failures within `window` is refused
// until the oldest of them leaves the window. A success clears the failures
// of that user from that address only, so a client cannot wipe its record
// against another user by logging in as itself.
//
// Memory: failures older than the window are dropped as keys are touched,
// and all of them whenever a table has doubled since the last sweep (past a
// few thousand keys), which keeps a flood of names amortised O(1) a call.
// Time: the clock's monotonic reading. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/time.h"

namespace forest::auth::internal {

class LoginLimiter {
 public:
  // REQUIRES: max_failures > 0, window > 0. `clock` must outlive this.
  LoginLimiter(Clock& clock, int max_failures, Millis window);

  // OK, or ResourceExhausted "too many failed logins; try again in N
  // seconds" (N rounded up, at least 1; "1 second").
  absl::Status Check(std::string_view user, std::string_view address);
  void RecordFailure(std::string_view user, std::string_view address);
  void RecordSuccess(std::string_view user, std::string_view address);

 private:
  struct Failure {
    Time at;
    std::string other;  // the address of a user's failure, the user of an address's
  };
  using Table = std::unordered_map<std::string, std::deque<Failure>>;

  // The failures of `key` still in the window (older ones dropped).
  std::deque<Failure>* Live(Table& table, const std::string& key, Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How long `key` must wait; zero when it may try.
  Millis Wait(Table& table, const std::string& key, Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Sweep(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  const size_t max_failures_;
  const Millis window_;
  std::mutex mu_;
  Table by_user_ ABSL_GUARDED_BY(mu_);
  Table by_address_ ABSL_GUARDED_BY(mu_);
  size_t sweep_at_ ABSL_GUARDED_BY(mu_);  // keys in the larger table that trigger a sweep
};

}  // namespace forest::auth::internal
