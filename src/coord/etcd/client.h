// Internal to EtcdStore: the connection to an etcd cluster. One gRPC channel
// per endpoint; requests go to the current endpoint and move to the next one
// (round robin) when it is unreachable. Unary calls carry a per-call
// deadline, and the auth token as metadata "token" when auth is on.
//
// Retry rule (see etcd_store.h): a request is retried on the next endpoint
// when it certainly never reached a server (the channel could not connect,
// within the dial timeout); reads are also retried after any kUnavailable.
// Anything else is reported as is: a write whose outcome is unknown is never
// repeated blindly.
//
// Shared (shared_ptr) by the store, its watch hub and its keep-alives, so a
// WatchHandle or LeaseKeeper may outlive the store: after Close() every call
// answers kCancelled.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/status.h"
#include "coord/etcd/etcd.grpc.pb.h"
#include "coord/etcd/etcd_store.h"

namespace forest::coord::etcd_internal {

// gRPC status -> absl status: the codes are the same numbers. etcd's own
// "request timed out" (sent as Unavailable, outcome unknown) becomes
// kDeadlineExceeded; its auth failures (sent as InvalidArgument) become
// kUnauthenticated. `what` and `endpoint` prefix the message.
absl::Status FromGrpc(const grpc::Status& status, std::string_view what, std::string_view endpoint);
// A server's cancel_reason for a watch -> a status.
absl::Status FromCancelReason(std::string_view reason);

struct Endpoint {
  std::string address;  // "127.0.0.1:2379", without the scheme
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
};

class Client {
 public:
  enum class Kind { kRead, kWrite };

  // Builds the channels (no I/O); InvalidArgument on bad options.
  static absl::StatusOr<std::shared_ptr<Client>> Create(const EtcdStoreOptions& options);
  // Picks the first endpoint that connects within the dial timeout, then
  // authenticates when asked.
  absl::Status Connect();
  // Every later call answers kCancelled.
  void Close();
  bool closed() const { return closed_; }

  const EtcdStoreOptions& options() const { return options_; }
  size_t size() const { return endpoints_.size(); }
  Endpoint& endpoint(size_t index) { return *endpoints_[index]; }

  // The endpoint requests go to now.
  size_t current() const { return current_; }
  // `index` failed: move on to the next endpoint, unless someone already did.
  void Rotate(size_t index);
  // How long Connected() waits for a channel in TRANSIENT_FAILURE to recover.
  static constexpr std::chrono::milliseconds kFailureGrace{250};

  // Waits (at most until `deadline`, or kFailureGrace once the channel
  // failed) for the endpoint's channel to be connected; false when it is not.
  bool Connected(size_t index, std::chrono::system_clock::time_point deadline);

  std::string token() const;
  // Adds the auth token (if any) to `context`; returns the token added.
  std::string AddAuth(grpc::ClientContext& context);
  // Whether `status` asks for a new token (invalid or stale one).
  bool NeedsReauth(const grpc::Status& status) const;
  // Replaces `stale` (the token a failed call carried) with a fresh one,
  // unless another caller already did. OK when auth is off.
  absl::Status Reauthenticate(const std::string& stale);

  // One request, with failover and retries as described above.
  // `call(endpoint, context)` performs it and returns the gRPC status. Each
  // attempt gets the request timeout, or `timeout` when that is shorter.
  absl::Status Call(std::string_view what, Kind kind,
                    const std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>& call,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

 private:
  explicit Client(EtcdStoreOptions options) : options_(std::move(options)) {}
  // Fetches a token from endpoint `index` and installs it.
  absl::Status Authenticate(size_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(auth_mu_);

  const EtcdStoreOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> current_{0};
  std::atomic<bool> closed_{false};

  std::mutex auth_mu_;  // serialises authentication (held across the round trip)
  mutable std::mutex token_mu_;
  std::string token_ ABSL_GUARDED_BY(token_mu_);
};

}  // namespace forest::coord::etcd_internal
