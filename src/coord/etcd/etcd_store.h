// The cluster mode's coordination store: etcd v3 over its gRPC API
// (KV, Watch, Lease, Auth), declared in etcd.proto from the public API
// reference and generated with protoc + grpc_cpp_plugin.
//
// Endpoints: requests go to one endpoint at a time; when it is unavailable
// the store moves to the next (round robin) and retries the request once per
// endpoint for reads and for writes that failed before reaching a server
// (kUnavailable); a write whose outcome is unknown (kDeadlineExceeded) is
// reported, never retried blindly.
// Watches survive reconnects: a watch resumes from the last delivered
// revision + 1, so events arrive without gaps or repeats; a compacted resume
// point ends the watch with compact_revision set. Keep-alive streams are
// re-established; the keeper's deadline still rules.
//
// Thread safety: as Store. Callbacks run on the store's own threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "coord/store.h"

namespace forest::coord {

struct EtcdStoreOptions {
  // "127.0.0.1:2379" or "http://127.0.0.1:2379" / "https://..."; at least one.
  std::vector<std::string> endpoints;
  std::chrono::milliseconds dial_timeout{5000};
  std::chrono::milliseconds request_timeout{5000};
  // etcd authentication (user/password -> token), when `user` is set.
  std::string user;
  std::string password;
  // TLS when `ca_file` is set (PEM files); client cert and key optional.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Not owned; must outlive the store. Used for lease deadlines.
  Clock* clock = &SystemClock::Get();
};

class EtcdStore final : public Store {
 public:
  // Connects to the first endpoint that answers within dial_timeout
  // (kUnavailable naming every endpoint tried otherwise) and authenticates
  // when asked (kUnauthenticated on bad credentials).
  static absl::StatusOr<std::unique_ptr<EtcdStore>> Connect(EtcdStoreOptions options);
  ~EtcdStore() override;

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
  struct Impl;
  explicit EtcdStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forest::coord
