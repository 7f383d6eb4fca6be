// The standalone mode's coordination store: in-process, with etcd's
// semantics (revisions, compares, leases, watches from a revision), so the
// scheduler runs the same code on a laptop as on an etcd cluster. It is a
// product backend, not a test double.
//
// Durability: keys without a lease, and the revision counter, are written to
// a SQLite file in the same transaction as the change, so jobs and groups
// survive a restart. Leased keys live in memory only and vanish with the
// process, as they would when its leases expired. Event history is kept in
// memory (for watches from an old revision) until Compact, or until it
// exceeds `history_limit` events, when the oldest are compacted away.
//
// Time: leases expire on the injected Clock. A background thread checks for
// expired leases every `expiry_poll` of real time; tests with a FakeClock may
// call ExpireLeases() right after advancing it.
//
// Thread safety: as Store. Watch callbacks run on one dispatcher thread per
// store, in revision order.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "coord/store.h"

namespace forest::coord {

struct EmbeddedStoreOptions {
  // SQLite file for unleased keys; empty = memory only (nothing persisted).
  std::string sqlite_path;
  // Not owned; must outlive the store.
  Clock* clock = &SystemClock::Get();
  std::chrono::milliseconds expiry_poll{50};
  // Events kept for watches from old revisions before auto-compaction.
  size_t history_limit = 100000;
};

class EmbeddedStore final : public Store {
 public:
  // Opens (or creates) the SQLite file and loads its keys. kUnavailable when
  // the file cannot be opened or is not a store of ours; kDataLoss when its
  // contents are corrupt.
  static absl::StatusOr<std::unique_ptr<EmbeddedStore>> Open(EmbeddedStoreOptions options);
  ~EmbeddedStore() override;

  // Revokes every lease whose TTL has run out on the clock, deleting its keys
  // (watchers see the deletes). Also runs in the background.
  void ExpireLeases();

  absl::StatusOr<RangeResponse> Range(const RangeRequest& request) override;
  absl::StatusOr<PutResponse> Put(const PutRequest& request) override;
  absl::StatusOr<DeleteResponse> Delete(const DeleteRequest& request) override;
  absl::StatusOr<TxnResponse> Txn(const TxnRequest& request) override;
  absl::Status Compact(Revision revision) override;
  absl::StatusOr<LeaseGrant> GrantLease(std::chrono::seconds ttl) override;
  absl::Status RevokeLease(LeaseId id) override;
  absl::StatusOr<LeaseStatus> LeaseTimeToLive(LeaseId id, bool with_keys) override;
  absl::StatusOr<std::unique_ptr<LeaseKeeper>> KeepAlive(LeaseId id,
                                                         KeepAliveOptions options) override;
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      const WatchRequest& request, std::function<void(WatchUpdate)> callback) override;

 private:
  struct State;
  explicit EmbeddedStore(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace forest::coord
