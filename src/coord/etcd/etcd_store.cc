// EtcdStore: the Store interface on etcd's v3 gRPC API. The parts:
//  - client.{h,cc}: channels, endpoint failover, retries, auth, error codes;
//  - convert.{h,cc}: store.h types <-> protobuf messages;
//  - watch.{h,cc}: all of a store's watches on one Watch stream;
//  - here: the requests, and keep-alives (one LeaseKeepAlive stream per
//    renewal, each round trip bounded by the request timeout).
#include "coord/etcd/etcd_store.h"

#include <fmt/format.h>

#include <mutex>

#include "coord/etcd/client.h"
#include "coord/etcd/convert.h"
#include "coord/etcd/watch.h"
#include "coord/keeper.h"

namespace forest::coord {

using etcd_internal::Client;
using etcd_internal::Endpoint;
using etcd_internal::FromGrpc;
using etcd_internal::FromProto;
using etcd_internal::ToProto;
using Kind = Client::Kind;

struct EtcdStore::Impl {
  std::shared_ptr<Client> client;
  std::shared_ptr<etcd_internal::WatchHub> hub;
};

namespace {

// The round trip in flight of one keeper, so that destroying the keeper can
// interrupt it.
struct Renewal {
  std::mutex mu;
  grpc::ClientContext* context = nullptr;  // set only while a round trip runs
  bool cancelled = false;

  void Cancel() {
    std::lock_guard lock(mu);
    cancelled = true;
    if (context != nullptr) context->TryCancel();
  }
};

// One keep-alive round trip on a fresh LeaseKeepAlive stream, through
// Client::Call's failover (idempotent, so retried like a read) within the
// keeper's budget, so one stuck member cannot use up the lease's deadline
// before another is tried: the TTL the server granted, kNotFound when the
// lease is gone.
absl::StatusOr<std::chrono::seconds> RenewOnce(Client& client, Renewal& renewal, LeaseId id,
                                               Millis budget) {
  etcdserverpb::LeaseKeepAliveResponse response;
  RETURN_IF_ERROR(client.Call(
      "LeaseKeepAlive", Kind::kRead,
      [&](Endpoint& e, grpc::ClientContext& context) {
        {
          std::lock_guard lock(renewal.mu);
          if (renewal.cancelled) return grpc::Status(grpc::StatusCode::CANCELLED, "stopped");
          renewal.context = &context;
        }
        auto stream = e.lease->LeaseKeepAlive(&context);
        etcdserverpb::LeaseKeepAliveRequest request;
        request.set_id(id);
        const bool answered = stream->Write(request) && stream->Read(&response);
        if (answered) stream->WritesDone();
        const grpc::Status s = stream->Finish();
        {
          std::lock_guard lock(renewal.mu);
          renewal.context = nullptr;
        }
        return answered ? grpc::Status::OK : s;
      },
      budget));
  if (response.ttl() <= 0) {
    return absl::NotFoundError(fmt::format("etcd: lease {} not found (expired or revoked)", id));
  }
  return std::chrono::seconds(response.ttl());
}

bool ReadOnly(const std::vector<Op>& ops) {
  for (const Op& op : ops) {
    if (!std::holds_alternative<RangeRequest>(op)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdStore>> EtcdStore::Connect(EtcdStoreOptions options) {
  ASSIGN_OR_RETURN(std::shared_ptr<Client> client, Client::Create(options));
  RETURN_IF_ERROR(client->Connect());
  auto impl = std::make_unique<Impl>();
  impl->client = client;
  impl->hub = std::make_shared<etcd_internal::WatchHub>(client);
  return std::unique_ptr<EtcdStore>(new EtcdStore(std::move(impl)));
}

EtcdStore::EtcdStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EtcdStore::~EtcdStore() {
  // Watches first (their last callbacks may still use the store), then the rest.
  impl_->hub->Close();
  impl_->client->Close();
}

absl::StatusOr<RangeResponse> EtcdStore::Range(const RangeRequest& request) {
  etcdserverpb::RangeRequest proto;
  ToProto(request, &proto);
  etcdserverpb::RangeResponse response;
  RETURN_IF_ERROR(impl_->client->Call("Range", Kind::kRead, [&](Endpoint& e, auto& context) {
    response.Clear();
    return e.kv->Range(&context, proto, &response);
  }));
  return FromProto(response, response.header().revision());
}

absl::StatusOr<PutResponse> EtcdStore::Put(const PutRequest& request) {
  etcdserverpb::PutRequest proto;
  ToProto(request, &proto);
  etcdserverpb::PutResponse response;
  RETURN_IF_ERROR(impl_->client->Call("Put", Kind::kWrite, [&](Endpoint& e, auto& context) {
    response.Clear();
    return e.kv->Put(&context, proto, &response);
  }));
  return FromProto(response, response.header().revision());
}

absl::StatusOr<DeleteResponse> EtcdStore::Delete(const DeleteRequest& request) {
  etcdserverpb::DeleteRangeRequest proto;
  ToProto(request, &proto);
  etcdserverpb::DeleteRangeResponse response;
  RETURN_IF_ERROR(impl_->client->Call("DeleteRange", Kind::kWrite, [&](Endpoint& e, auto& context) {
    response.Clear();
    return e.kv->DeleteRange(&context, proto, &response);
  }));
  return FromProto(response, response.header().revision());
}

absl::StatusOr<TxnResponse> EtcdStore::Txn(const TxnRequest& request) {
  if (request.compare.size() > kMaxTxnOps || request.success.size() > kMaxTxnOps ||
      request.failure.size() > kMaxTxnOps) {
    return absl::InvalidArgumentError(fmt::format(
        "etcd Txn: too many operations ({} compares, {} + {} ops; at most {} each)",
        request.compare.size(), request.success.size(), request.failure.size(), kMaxTxnOps));
  }
  etcdserverpb::TxnRequest proto;
  ToProto(request, &proto);
  const Kind kind =
      ReadOnly(request.success) && ReadOnly(request.failure) ? Kind::kRead : Kind::kWrite;
  etcdserverpb::TxnResponse response;
  RETURN_IF_ERROR(impl_->client->Call("Txn", kind, [&](Endpoint& e, auto& context) {
    response.Clear();
    return e.kv->Txn(&context, proto, &response);
  }));
  return FromProto(response);
}

absl::Status EtcdStore::Compact(Revision revision) {
  etcdserverpb::CompactionRequest proto;
  proto.set_revision(revision);
  etcdserverpb::CompactionResponse response;
  return impl_->client->Call("Compact", Kind::kWrite, [&](Endpoint& e, auto& context) {
    return e.kv->Compact(&context, proto, &response);
  });
}

absl::StatusOr<LeaseGrant> EtcdStore::GrantLease(std::chrono::seconds ttl) {
  etcdserverpb::LeaseGrantRequest proto;
  proto.set_ttl(ttl.count());
  etcdserverpb::LeaseGrantResponse response;
  RETURN_IF_ERROR(impl_->client->Call("LeaseGrant", Kind::kWrite, [&](Endpoint& e, auto& context) {
    response.Clear();
    return e.lease->LeaseGrant(&context, proto, &response);
  }));
  if (!response.error().empty()) {
    return absl::InternalError(fmt::format("etcd LeaseGrant: {}", response.error()));
  }
  return LeaseGrant{response.id(), std::chrono::seconds(response.ttl())};
}

absl::Status EtcdStore::RevokeLease(LeaseId id) {
  etcdserverpb::LeaseRevokeRequest proto;
  proto.set_id(id);
  etcdserverpb::LeaseRevokeResponse response;
  return impl_->client->Call("LeaseRevoke", Kind::kWrite, [&](Endpoint& e, auto& context) {
    return e.lease->LeaseRevoke(&context, proto, &response);
  });
}

absl::StatusOr<LeaseStatus> EtcdStore::LeaseTimeToLive(LeaseId id, bool with_keys) {
  etcdserverpb::LeaseTimeToLiveRequest proto;
  proto.set_id(id);
  proto.set_keys(with_keys);
  etcdserverpb::LeaseTimeToLiveResponse response;
  RETURN_IF_ERROR(
      impl_->client->Call("LeaseTimeToLive", Kind::kRead, [&](Endpoint& e, auto& context) {
        response.Clear();
        return e.lease->LeaseTimeToLive(&context, proto, &response);
      }));
  // etcd answers a missing lease with TTL -1, not an error.
  if (response.ttl() < 0) {
    return absl::NotFoundError(fmt::format("etcd: lease {} not found (expired or revoked)", id));
  }
  LeaseStatus status;
  status.id = id;
  status.remaining = std::chrono::seconds(response.ttl());
  status.granted_ttl = std::chrono::seconds(response.grantedttl());
  status.keys.assign(response.keys().begin(), response.keys().end());
  return status;
}

absl::StatusOr<std::unique_ptr<LeaseKeeper>> EtcdStore::KeepAlive(LeaseId id,
                                                                  KeepAliveOptions options) {
  auto renewal = std::make_shared<Renewal>();
  // The keeper may outlive the store: it shares the client, which answers
  // kCancelled once the store is gone.
  auto renew = [client = impl_->client, renewal, id](Millis budget) {
    return RenewOnce(*client, *renewal, id, budget);
  };
  auto cancel = [renewal] { renewal->Cancel(); };
  ASSIGN_OR_RETURN(std::unique_ptr<KeeperCore> keeper,
                   KeeperCore::Start(id, std::move(options), *impl_->client->options().clock,
                                     std::move(renew), std::move(cancel)));
  return std::unique_ptr<LeaseKeeper>(std::move(keeper));
}

absl::StatusOr<std::unique_ptr<WatchHandle>> EtcdStore::Watch(
    const WatchRequest& request, std::function<void(WatchUpdate)> callback) {
  return impl_->hub->Watch(request, std::move(callback));
}

}  // namespace forest::coord
