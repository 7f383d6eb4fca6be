#include "coord/etcd/convert.h"

#include <fmt/format.h>

namespace forest::coord::etcd_internal {

std::string WireKey(const std::string& key, const std::string& range_end) {
  // etcd's server rejects an empty key; with a range end, "" means "from the
  // first key", which etcd's clients send as "\0" (store.h).
  return key.empty() && !range_end.empty() ? std::string(1, '\0') : key;
}

void ToProto(const RangeRequest& in, etcdserverpb::RangeRequest* out) {
  out->set_key(WireKey(in.key, in.range_end));
  out->set_range_end(in.range_end);
  out->set_limit(in.limit);
  out->set_revision(in.revision);
  out->set_keys_only(in.keys_only);
  out->set_count_only(in.count_only);
}

void ToProto(const PutRequest& in, etcdserverpb::PutRequest* out) {
  out->set_key(in.key);
  out->set_value(in.value);
  out->set_lease(in.lease);
  out->set_prev_kv(in.prev_kv);
}

void ToProto(const DeleteRequest& in, etcdserverpb::DeleteRangeRequest* out) {
  out->set_key(WireKey(in.key, in.range_end));
  out->set_range_end(in.range_end);
  out->set_prev_kv(in.prev_kv);
}

void ToProto(const Compare& in, etcdserverpb::Compare* out) {
  using P = etcdserverpb::Compare;
  out->set_key(WireKey(in.key, in.range_end));
  out->set_range_end(in.range_end);
  switch (in.result) {
    case Compare::Result::kEqual:
      out->set_result(P::EQUAL);
      break;
    case Compare::Result::kNotEqual:
      out->set_result(P::NOT_EQUAL);
      break;
    case Compare::Result::kGreater:
      out->set_result(P::GREATER);
      break;
    case Compare::Result::kLess:
      out->set_result(P::LESS);
      break;
  }
  switch (in.target) {
    case Compare::Target::kValue:
      out->set_target(P::VALUE);
      out->set_value(in.value);
      break;
    case Compare::Target::kVersion:
      out->set_target(P::VERSION);
      out->set_version(in.number);
      break;
    case Compare::Target::kCreateRevision:
      out->set_target(P::CREATE);
      out->set_create_revision(in.number);
      break;
    case Compare::Target::kModRevision:
      out->set_target(P::MOD);
      out->set_mod_revision(in.number);
      break;
    case Compare::Target::kLease:
      out->set_target(P::LEASE);
      out->set_lease(in.number);
      break;
  }
}

namespace {

void OpToProto(const Op& op, etcdserverpb::RequestOp* out) {
  if (const auto* range = std::get_if<RangeRequest>(&op)) {
    ToProto(*range, out->mutable_request_range());
  } else if (const auto* put = std::get_if<PutRequest>(&op)) {
    ToProto(*put, out->mutable_request_put());
  } else {
    ToProto(std::get<DeleteRequest>(op), out->mutable_request_delete_range());
  }
}

}  // namespace

void ToProto(const TxnRequest& in, etcdserverpb::TxnRequest* out) {
  for (const Compare& c : in.compare) ToProto(c, out->add_compare());
  for (const Op& op : in.success) OpToProto(op, out->add_success());
  for (const Op& op : in.failure) OpToProto(op, out->add_failure());
}

KeyValue FromProto(const etcdserverpb::KeyValue& in) {
  KeyValue kv;
  kv.key = in.key();
  kv.value = in.value();
  kv.create_revision = in.create_revision();
  kv.mod_revision = in.mod_revision();
  kv.version = in.version();
  kv.lease = in.lease();
  return kv;
}

RangeResponse FromProto(const etcdserverpb::RangeResponse& in, Revision revision) {
  RangeResponse out;
  out.revision = revision;
  out.kvs.reserve(in.kvs_size());
  for (const auto& kv : in.kvs()) out.kvs.push_back(FromProto(kv));
  out.count = in.count();
  out.more = in.more();
  return out;
}

PutResponse FromProto(const etcdserverpb::PutResponse& in, Revision revision) {
  PutResponse out;
  out.revision = revision;
  if (in.has_prev_kv()) out.prev_kv = FromProto(in.prev_kv());
  return out;
}

DeleteResponse FromProto(const etcdserverpb::DeleteRangeResponse& in, Revision revision) {
  DeleteResponse out;
  out.revision = revision;
  out.deleted = in.deleted();
  out.prev_kvs.reserve(in.prev_kvs_size());
  for (const auto& kv : in.prev_kvs()) out.prev_kvs.push_back(FromProto(kv));
  return out;
}

absl::StatusOr<TxnResponse> FromProto(const etcdserverpb::TxnResponse& in) {
  TxnResponse out;
  out.revision = in.header().revision();
  out.succeeded = in.succeeded();
  out.responses.reserve(in.responses_size());
  for (const auto& r : in.responses()) {
    switch (r.response_case()) {
      case etcdserverpb::ResponseOp::kResponseRange:
        out.responses.emplace_back(FromProto(r.response_range(), out.revision));
        break;
      case etcdserverpb::ResponseOp::kResponsePut:
        out.responses.emplace_back(FromProto(r.response_put(), out.revision));
        break;
      case etcdserverpb::ResponseOp::kResponseDeleteRange:
        out.responses.emplace_back(FromProto(r.response_delete_range(), out.revision));
        break;
      default:
        return absl::InternalError(
            fmt::format("etcd Txn: unexpected response kind {}", int(r.response_case())));
    }
  }
  return out;
}

WatchEvent FromProto(const etcdserverpb::Event& in) {
  WatchEvent out;
  out.type =
      in.type() == etcdserverpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
  out.kv = FromProto(in.kv());
  if (in.has_prev_kv()) out.prev_kv = FromProto(in.prev_kv());
  return out;
}

}  // namespace forest::coord::etcd_internal
