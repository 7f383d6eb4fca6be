// Internal to EtcdStore: store.h types <-> etcd's protobuf messages.
#pragma once

#include "coord/etcd/etcd.pb.h"
#include "coord/store.h"

namespace forest::coord::etcd_internal {

// The key to send: "" with a range end is sent as "\0" (from the first key).
std::string WireKey(const std::string& key, const std::string& range_end);

void ToProto(const RangeRequest& in, etcdserverpb::RangeRequest* out);
void ToProto(const PutRequest& in, etcdserverpb::PutRequest* out);
void ToProto(const DeleteRequest& in, etcdserverpb::DeleteRangeRequest* out);
void ToProto(const Compare& in, etcdserverpb::Compare* out);
void ToProto(const TxnRequest& in, etcdserverpb::TxnRequest* out);

KeyValue FromProto(const etcdserverpb::KeyValue& in);
// `revision`: the store's revision the response belongs to (the header's, or
// the enclosing transaction's: etcd leaves the headers of a transaction's
// inner responses partly empty).
RangeResponse FromProto(const etcdserverpb::RangeResponse& in, Revision revision);
PutResponse FromProto(const etcdserverpb::PutResponse& in, Revision revision);
DeleteResponse FromProto(const etcdserverpb::DeleteRangeResponse& in, Revision revision);
absl::StatusOr<TxnResponse> FromProto(const etcdserverpb::TxnResponse& in);
WatchEvent FromProto(const etcdserverpb::Event& in);

}  // namespace forest::coord::etcd_internal
