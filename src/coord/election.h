// Leader election on the original forest's key and rule, with fencing.
//
// A node campaigns by creating `/forest/server/elect/leader` only if it does
// not exist, under its own lease, with its node id as the value: the same key
// and rule as the original, so a node of the original and one of ours can
// never both lead. Followers watch the key and campaign again when it is
// deleted.
//
// Fencing: the leader's token is the create revision of the leader key it
// created. Every write a leader makes goes through Fence(), which adds the
// compare `create_revision(leader key) == token`: once another node has
// created the key, an old leader's writes fail, however late they arrive.
//
// Stepping down: the leader stops acting as one (is_leader() turns false and
// on_demoted runs) as soon as its lease keeper's deadline passes (last
// acknowledged renewal + TTL - safety margin), before the server can expire
// the lease and let someone else win; also when its key disappears. On
// Resign() or destruction the leader revokes its lease, so a follower takes
// over at once.
//
// Threads: one campaign thread per Election; the listener's callbacks run on
// it, in order (on_elected, on_demoted, on_elected, ...), and must not call
// Resign() or destroy the Election. Other methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "coord/store.h"

namespace forest::coord {

inline constexpr std::string_view kLeaderKey = "/forest/server/elect/leader";

struct ElectionOptions {
  std::string key = std::string(kLeaderKey);
  std::string node_id;  // required
  std::chrono::seconds ttl{5};
  std::chrono::milliseconds safety_margin{1000};
  // Wait between attempts after a store error.
  std::chrono::milliseconds retry_backoff{200};
};

struct ElectionListener {
  // This node leads from now on, with `token` as its fencing token.
  std::function<void(Revision token)> on_elected;
  // This node no longer leads (lease lost, key gone, or resigning).
  std::function<void()> on_demoted;
};

class Election {
 public:
  // Starts campaigning in the background. InvalidArgument without a node id.
  // `store` must outlive the Election.
  static absl::StatusOr<std::unique_ptr<Election>> Start(Store& store, ElectionOptions options,
                                                         ElectionListener listener = {});
  // Resigns.
  ~Election();

  // Stops campaigning; a leader steps down and revokes its lease. Idempotent.
  void Resign();

  // True while this node leads and its lease deadline has not passed.
  bool is_leader() const;
  // The fencing token while leading.
  std::optional<Revision> token() const;
  // The leader's node id as last seen (this node's own id while leading).
  std::optional<std::string> leader() const;

  // `txn` guarded by this node's leadership: FailedPrecondition without
  // sending anything when not leading; otherwise the store's answer, where
  // succeeded == false means the fence or one of the caller's compares failed.
  absl::StatusOr<TxnResponse> FencedTxn(TxnRequest txn) const;

  // Adds the fence compare for (key, token) to `txn`.
  static TxnRequest Fence(TxnRequest txn, std::string_view leader_key, Revision token);

 private:
  struct Flags {
    bool stop = false;
    bool key_changed = false;  // the leader key was deleted, or its watch ended
    bool lease_lost = false;
  };

  Election(Store& store, ElectionOptions options, ElectionListener listener);
  void Run();
  void Set(bool Flags::*flag);
  // Blocks until a flag is set; answers the flags and clears the events.
  Flags WaitAny();
  // Waits `d` of real time; false when stopping.
  bool SleepUnlessStopped(std::chrono::milliseconds d);
  void StepDown();
  void DropKeeper();

  Store& store_;
  const ElectionOptions options_;
  const ElectionListener listener_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Flags flags_ ABSL_GUARDED_BY(mu_);
  std::optional<Revision> token_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> leader_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<LeaseKeeper> keeper_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace forest::coord
