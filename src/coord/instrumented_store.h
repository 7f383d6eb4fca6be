// A Store that counts what it forwards: calls, errors and latency by
// operation (range, put, delete, txn, compact, grant_lease, revoke_lease,
// lease_ttl, keep_alive, watch), into a metrics registry. The server wraps
// its store in one, so every module's calls are counted without a line in
// their logic.
//
// A watch counts once when started; a watch that ends with an error (not
// kCancelled: the store closing) counts as a `watch` error too, by its code.
//
// Ownership: owns the inner store. Threads: as Store (thread-safe).
#pragma once

#include <memory>

#include "coord/store.h"
#include "metrics/metrics.h"

namespace forest::coord {

class InstrumentedStore final : public Store {
 public:
  // `registry` must outlive the store; null: counts nowhere.
  InstrumentedStore(std::unique_ptr<Store> inner, metrics::Registry* registry);
  ~InstrumentedStore() override;

  Store& inner() { return *inner_; }

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
  class Probe;
  // Shared with the watch callbacks, which may run until the inner store
  // has closed.
  const std::shared_ptr<Probe> probe_;
  const std::unique_ptr<Store> inner_;
};

}  // namespace forest::coord
