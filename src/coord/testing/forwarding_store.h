// Test support: a Store that passes every call to another, for tests that
// override a few calls (count them, fail them, intercept a watch).
#pragma once

#include "coord/store.h"

namespace forest::coord::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  absl::StatusOr<RangeResponse> Range(const RangeRequest& r) override { return inner_.Range(r); }
  absl::StatusOr<PutResponse> Put(const PutRequest& r) override { return inner_.Put(r); }
  absl::StatusOr<DeleteResponse> Delete(const DeleteRequest& r) override {
    return inner_.Delete(r);
  }
  absl::StatusOr<TxnResponse> Txn(const TxnRequest& r) override { return inner_.Txn(r); }
  absl::Status Compact(Revision revision) override { return inner_.Compact(revision); }
  absl::StatusOr<LeaseGrant> GrantLease(std::chrono::seconds ttl) override {
    return inner_.GrantLease(ttl);
  }
  absl::Status RevokeLease(LeaseId id) override { return inner_.RevokeLease(id); }
  absl::StatusOr<LeaseStatus> LeaseTimeToLive(LeaseId id, bool with_keys) override {
    return inner_.LeaseTimeToLive(id, with_keys);
  }
  absl::StatusOr<std::unique_ptr<LeaseKeeper>> KeepAlive(LeaseId id,
                                                         KeepAliveOptions options) override {
    return inner_.KeepAlive(id, std::move(options));
  }
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      const WatchRequest& r, std::function<void(WatchUpdate)> callback) override {
    return inner_.Watch(r, std::move(callback));
  }

 protected:
  Store& inner_;
};

}  // namespace forest::coord::testing
