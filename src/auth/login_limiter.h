// Internal to auth/: the failed-login counter of one node. Three limits, each
// "this many failures within `window`", refuse a login until the oldest of
// the failures that count leaves the window:
//  - one user from one address: `max_failures`;
//  - one address, whatever the users: 4 x `max_failures` (a guesser trying
//    many names; an office behind one NAT still has room for typos);
//  - one user, from every address: 10 x `max_failures` (guessing spread over
//    many addresses). A single client runs into the first two long before
//    this one, so it cannot lock a user out by failing on purpose.
// A success clears the failures of that user from that address only, so a
// client cannot wipe its record against another user by logging in as itself.
//
// Admit checks and counts the attempt as a failure in one step (a success
// takes it back), so concurrent guesses cannot all pass one check together.
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
  // How much more the address-wide and the user-wide limits allow.
  static constexpr size_t kAddressFactor = 4;
  static constexpr size_t kUserFactor = 10;

  // REQUIRES: max_failures > 0, window > 0. `clock` must outlive this.
  LoginLimiter(Clock& clock, int max_failures, Millis window);

  // OK: the attempt may go on, and counts as a failure until RecordSuccess.
  // Or ResourceExhausted "too many failed logins; try again in N seconds"
  // (N rounded up, at least 1; "1 second"), and nothing is counted.
  absl::Status Admit(std::string_view user, std::string_view address);
  void RecordSuccess(std::string_view user, std::string_view address);
  // Takes back one admitted attempt that was neither a success nor a failure
  // (the store could not be read).
  void Withdraw(std::string_view user, std::string_view address);

 private:
  struct Failure {
    Time at;
    std::string other;  // the address of a user's failure, the user of an address's
  };
  using Table = std::unordered_map<std::string, std::deque<Failure>>;

  // The failures of `key` still in the window (older ones dropped).
  std::deque<Failure>* Live(Table& table, const std::string& key, Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How long `key` must wait with `limit` failures allowed; zero when it may try.
  Millis Wait(Table& table, const std::string& key, size_t limit, Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Sweep(Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  const size_t max_failures_;
  const Millis window_;
  std::mutex mu_;
  Table by_pair_ ABSL_GUARDED_BY(mu_);  // user '\0' address
  Table by_user_ ABSL_GUARDED_BY(mu_);
  Table by_address_ ABSL_GUARDED_BY(mu_);
  size_t sweep_at_ ABSL_GUARDED_BY(mu_);  // keys in the largest table that trigger a sweep
};

}  // namespace forest::auth::internal
