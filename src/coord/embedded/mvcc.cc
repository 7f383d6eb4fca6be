#include "coord/embedded/mvcc.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "common/check.h"

namespace forest::coord::embedded_internal {
namespace {

// etcd's messages, so both backends read alike in logs.
constexpr const char* kEmptyKey = "etcdserver: key is not provided";
constexpr const char* kTooManyOps = "etcdserver: too many operations in txn request";
constexpr const char* kDuplicateKey = "etcdserver: duplicate key given in txn request";

bool IsFromKeyEnd(const std::string& end) { return end.size() == 1 && end[0] == '\0'; }

absl::Status LeaseNotFound(LeaseId id) {
  return absl::NotFoundError(fmt::format("etcdserver: requested lease not found (lease {})", id));
}

// Calls f(kv) for each key of `kvs` in [start, end), in key order.
template <typename F>
void ForEachInRange(const std::map<std::string, KeyValue>& kvs, const std::string& start,
                    const std::string& end, F f) {
  if (end.empty()) {
    const auto it = kvs.find(start);
    if (it != kvs.end()) f(it->second);
    return;
  }
  const bool to_last = IsFromKeyEnd(end);
  for (auto it = kvs.lower_bound(start); it != kvs.end() && (to_last || it->first < end); ++it) {
    f(it->second);
  }
}

bool CompareOne(const Compare& c, const KeyValue& kv) {
  int order = 0;
  if (c.target == Compare::Target::kValue) {
    const int r = kv.value.compare(c.value);
    order = r < 0 ? -1 : (r > 0 ? 1 : 0);
  } else {
    int64_t v = 0;
    switch (c.target) {
      case Compare::Target::kVersion:
        v = kv.version;
        break;
      case Compare::Target::kCreateRevision:
        v = kv.create_revision;
        break;
      case Compare::Target::kModRevision:
        v = kv.mod_revision;
        break;
      case Compare::Target::kLease:
        v = kv.lease;
        break;
      case Compare::Target::kValue:
        break;
    }
    order = v < c.number ? -1 : (v > c.number ? 1 : 0);
  }
  switch (c.result) {
    case Compare::Result::kEqual:
      return order == 0;
    case Compare::Result::kNotEqual:
      return order != 0;
    case Compare::Result::kGreater:
      return order > 0;
    case Compare::Result::kLess:
      return order < 0;
  }
  return false;
}

const std::string& OpKey(const Op& op) {
  return std::visit([](const auto& r) -> const std::string& { return r.key; }, op);
}

// A range or delete over [key, range_end). An empty key there selects what
// "\0" does (no key is empty), as etcd's clients send it; only a single
// empty key is refused, as etcd's server does.
bool IsRangeOp(const Op& op) {
  if (const auto* range = std::get_if<RangeRequest>(&op)) return !range->range_end.empty();
  if (const auto* del = std::get_if<DeleteRequest>(&op)) return !del->range_end.empty();
  return false;
}

// The request-shape checks etcd makes on both branches before anything else.
absl::Status CheckOps(const std::vector<Op>& ops) {
  if (ops.size() > kMaxTxnOps) return absl::InvalidArgumentError(kTooManyOps);
  std::set<std::string> puts;
  std::vector<const DeleteRequest*> deletes;
  for (const Op& op : ops) {
    if (OpKey(op).empty() && !IsRangeOp(op)) return absl::InvalidArgumentError(kEmptyKey);
    if (const auto* put = std::get_if<PutRequest>(&op)) {
      if (!puts.insert(put->key).second) return absl::InvalidArgumentError(kDuplicateKey);
    } else if (const auto* del = std::get_if<DeleteRequest>(&op)) {
      deletes.push_back(del);
    }
  }
  // Overlapping deletes are fine (as in etcd); a put inside a delete is not.
  for (const std::string& key : puts) {
    for (const DeleteRequest* del : deletes) {
      if (KeyInRange(key, del->key, del->range_end)) {
        return absl::InvalidArgumentError(kDuplicateKey);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool KeyInRange(const std::string& key, const std::string& start, const std::string& end) {
  if (end.empty()) return key == start;
  return key >= start && (IsFromKeyEnd(end) || key < end);
}

Mvcc::Mvcc(Revision revision, std::vector<KeyValue> kvs, bool history_lost)
    : revision_(revision), compact_revision_(0), watch_floor_(1) {
  for (KeyValue& kv : kvs) {
    std::string key = kv.key;
    kvs_.insert_or_assign(std::move(key), std::move(kv));
  }
  // At revision 1 nothing ever happened: no history to lose.
  if (history_lost && revision > 1) {
    compact_revision_ = revision;
    watch_floor_ = revision + 1;
  }
}

const KeyValue* Mvcc::Find(const std::string& key) const {
  const auto it = kvs_.find(key);
  return it == kvs_.end() ? nullptr : &it->second;
}

void Mvcc::SetKey(const std::string& key, const std::optional<KeyValue>& kv) {
  const auto it = kvs_.find(key);
  if (it != kvs_.end() && it->second.lease != 0) {
    const auto lease = leases_.find(it->second.lease);
    if (lease != leases_.end()) lease->second.keys.erase(key);
  }
  if (!kv) {
    if (it != kvs_.end()) kvs_.erase(it);
    return;
  }
  kvs_.insert_or_assign(key, *kv);
  if (kv->lease != 0) {
    const auto lease = leases_.find(kv->lease);
    FOREST_CHECK(lease != leases_.end());
    lease->second.keys.insert(key);
  }
}

void Mvcc::AppendEvent(Event event, std::vector<Event>* events) {
  SetKey(event.kv.key,
         event.type == Event::Type::kPut ? std::optional<KeyValue>(event.kv) : std::nullopt);
  history_.push_back(event);
  events->push_back(std::move(event));
}

absl::Status Mvcc::CheckReadRevision(Revision revision, Revision current) const {
  if (revision <= 0) return absl::OkStatus();
  if (revision > current) {
    return absl::OutOfRangeError(
        fmt::format("mvcc: required revision is a future revision (revision {}, current {})",
                    revision, current));
  }
  if (revision < compact_revision_) {
    return absl::OutOfRangeError(
        fmt::format("mvcc: required revision has been compacted (revision {}, compacted at {})",
                    revision, compact_revision_));
  }
  return absl::OkStatus();
}

absl::StatusOr<RangeResponse> Mvcc::Range(const RangeRequest& request) const {
  if (request.key.empty() && request.range_end.empty()) {
    return absl::InvalidArgumentError(kEmptyKey);
  }
  RETURN_IF_ERROR(CheckReadRevision(request.revision, revision_));
  return RangeAt(request, revision_);
}

RangeResponse Mvcc::RangeAt(const RangeRequest& request, Revision header_revision) const {
  std::vector<const KeyValue*> found;
  if (request.revision <= 0) {
    ForEachInRange(kvs_, request.key, request.range_end,
                   [&](const KeyValue& kv) { found.push_back(&kv); });
  } else {
    // The current values, with every event after the revision undone: for
    // each key the first such event's previous value is its value then.
    std::map<std::string_view, const KeyValue*> at;
    ForEachInRange(kvs_, request.key, request.range_end,
                   [&](const KeyValue& kv) { at.emplace(kv.key, &kv); });
    std::map<std::string_view, const std::optional<KeyValue>*> before;
    auto it = std::partition_point(history_.begin(), history_.end(), [&](const Event& e) {
      return e.kv.mod_revision <= request.revision;
    });
    for (; it != history_.end(); ++it) {
      if (KeyInRange(it->kv.key, request.key, request.range_end)) {
        before.try_emplace(it->kv.key, &it->prev_kv);
      }
    }
    for (const auto& [key, prev] : before) {
      if (prev->has_value()) {
        at[key] = &prev->value();
      } else {
        at.erase(key);
      }
    }
    for (const auto& entry : at) found.push_back(entry.second);
  }

  RangeResponse response;
  response.revision = header_revision;
  response.count = static_cast<int64_t>(found.size());
  if (request.count_only) return response;
  size_t n = found.size();
  if (request.limit > 0 && static_cast<uint64_t>(request.limit) < n) {
    n = static_cast<size_t>(request.limit);
    response.more = true;
  }
  response.kvs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    KeyValue kv = *found[i];
    if (request.keys_only) kv.value.clear();
    response.kvs.push_back(std::move(kv));
  }
  return response;
}

bool Mvcc::CompareHolds(const Compare& compare) const {
  bool any = false;
  bool holds = true;
  ForEachInRange(kvs_, compare.key, compare.range_end, [&](const KeyValue& kv) {
    any = true;
    holds = holds && CompareOne(compare, kv);
  });
  if (any) return holds;
  // An absent key: zero revisions, version and lease, and no value at all.
  if (compare.target == Compare::Target::kValue) return false;
  return CompareOne(compare, KeyValue{});
}

absl::Status Mvcc::CheckBranch(const std::vector<Op>& ops) const {
  for (const Op& op : ops) {
    if (const auto* put = std::get_if<PutRequest>(&op)) {
      if (put->lease != 0 && !LeaseExists(put->lease)) return LeaseNotFound(put->lease);
    } else if (const auto* range = std::get_if<RangeRequest>(&op)) {
      RETURN_IF_ERROR(CheckReadRevision(range->revision, revision_));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TxnResponse> Mvcc::Txn(const TxnRequest& request, std::vector<Event>* events) {
  if (request.compare.size() > kMaxTxnOps) return absl::InvalidArgumentError(kTooManyOps);
  RETURN_IF_ERROR(CheckOps(request.success));
  RETURN_IF_ERROR(CheckOps(request.failure));
  const bool succeeded = std::all_of(request.compare.begin(), request.compare.end(),
                                     [this](const Compare& c) { return CompareHolds(c); });
  const std::vector<Op>& ops = succeeded ? request.success : request.failure;
  RETURN_IF_ERROR(CheckBranch(ops));

  // Nothing below fails: the whole branch applies as revision `next`, and
  // reads inside it see its earlier writes (as etcd's do).
  const Revision begin = revision_;
  const Revision next = begin + 1;
  const size_t first_event = events->size();
  const auto wrote = [&] { return events->size() > first_event; };
  TxnResponse response;
  response.succeeded = succeeded;
  response.responses.reserve(ops.size());
  for (const Op& op : ops) {
    if (const auto* range = std::get_if<RangeRequest>(&op)) {
      response.responses.emplace_back(RangeAt(*range, wrote() ? next : begin));
    } else if (const auto* put = std::get_if<PutRequest>(&op)) {
      const KeyValue* old = Find(put->key);
      Event event;
      event.type = Event::Type::kPut;
      event.kv.key = put->key;
      event.kv.value = put->value;
      event.kv.create_revision = old ? old->create_revision : next;
      event.kv.mod_revision = next;
      event.kv.version = old ? old->version + 1 : 1;
      event.kv.lease = put->lease;
      if (old) event.prev_kv = *old;
      PutResponse out;
      out.revision = next;
      if (put->prev_kv && old) out.prev_kv = *old;
      AppendEvent(std::move(event), events);
      response.responses.emplace_back(std::move(out));
    } else if (const auto* del = std::get_if<DeleteRequest>(&op)) {
      std::vector<KeyValue> doomed;
      ForEachInRange(kvs_, del->key, del->range_end,
                     [&](const KeyValue& kv) { doomed.push_back(kv); });
      DeleteResponse out;
      out.deleted = static_cast<int64_t>(doomed.size());
      for (KeyValue& kv : doomed) {
        Event event;
        event.type = Event::Type::kDelete;
        event.kv.key = kv.key;
        event.kv.mod_revision = next;
        if (del->prev_kv) out.prev_kvs.push_back(kv);
        event.prev_kv = std::move(kv);
        AppendEvent(std::move(event), events);
      }
      out.revision = wrote() ? next : begin;
      response.responses.emplace_back(std::move(out));
    }
  }
  if (wrote()) revision_ = next;
  response.revision = revision_;
  return response;
}

void Mvcc::Undo(const std::vector<Event>& events) {
  if (events.empty()) return;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    FOREST_CHECK(!history_.empty() && history_.back().kv.key == it->kv.key &&
                 history_.back().kv.mod_revision == revision_);
    SetKey(it->kv.key, it->prev_kv);
    history_.pop_back();
  }
  --revision_;
}

absl::Status Mvcc::Compact(Revision revision) {
  if (revision <= compact_revision_) {
    return absl::OutOfRangeError(
        fmt::format("mvcc: required revision has been compacted (revision {}, compacted at {})",
                    revision, compact_revision_));
  }
  if (revision > revision_) {
    return absl::OutOfRangeError(
        fmt::format("mvcc: required revision is a future revision (revision {}, current {})",
                    revision, revision_));
  }
  while (!history_.empty() && history_.front().kv.mod_revision < revision) history_.pop_front();
  compact_revision_ = revision;
  watch_floor_ = std::max(watch_floor_, revision);
  return absl::OkStatus();
}

void Mvcc::TrimHistory(size_t limit) {
  if (history_.size() <= limit) return;
  // Whole revisions only: a watch from any revision >= the floor sees all of it.
  const Revision last_dropped = history_[history_.size() - limit - 1].kv.mod_revision;
  while (!history_.empty() && history_.front().kv.mod_revision <= last_dropped) {
    history_.pop_front();
  }
  watch_floor_ = std::max(watch_floor_, last_dropped + 1);
  compact_revision_ = std::max(compact_revision_, std::min(last_dropped + 1, revision_));
}

std::vector<Event> Mvcc::EventsFrom(Revision from, const std::string& key,
                                    const std::string& range_end) const {
  FOREST_CHECK(from >= watch_floor_);
  std::vector<Event> out;
  auto it = std::partition_point(history_.begin(), history_.end(),
                                 [&](const Event& e) { return e.kv.mod_revision < from; });
  for (; it != history_.end(); ++it) {
    if (KeyInRange(it->kv.key, key, range_end)) out.push_back(*it);
  }
  return out;
}

void Mvcc::GrantLease(LeaseId id, std::chrono::seconds ttl, Time now) {
  FOREST_CHECK(!leases_.contains(id));
  Lease& lease = leases_[id];
  lease.ttl = ttl;
  lease.expiry = now + std::chrono::duration_cast<Millis>(ttl);
  expiries_.emplace(lease.expiry, id);
}

absl::StatusOr<std::chrono::seconds> Mvcc::RenewLease(LeaseId id, Time now) {
  const auto it = leases_.find(id);
  if (it == leases_.end()) return LeaseNotFound(id);
  Lease& lease = it->second;
  expiries_.erase({lease.expiry, id});
  lease.expiry = now + std::chrono::duration_cast<Millis>(lease.ttl);
  expiries_.emplace(lease.expiry, id);
  return lease.ttl;
}

absl::StatusOr<LeaseStatus> Mvcc::LeaseTimeToLive(LeaseId id, bool with_keys, Time now) const {
  const auto it = leases_.find(id);
  if (it == leases_.end()) return LeaseNotFound(id);
  const Lease& lease = it->second;
  LeaseStatus status;
  status.id = id;
  status.granted_ttl = lease.ttl;
  // Whole seconds left, rounded down (as etcd reports them).
  status.remaining = std::max(std::chrono::seconds(0),
                              std::chrono::floor<std::chrono::seconds>(lease.expiry - now));
  if (with_keys) status.keys.assign(lease.keys.begin(), lease.keys.end());
  return status;
}

std::vector<LeaseId> Mvcc::ExpiredLeases(Time now) const {
  std::vector<LeaseId> out;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= now; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::vector<Event> Mvcc::DeleteLeaseKeys(LeaseId id) {
  const auto it = leases_.find(id);
  FOREST_CHECK(it != leases_.end());
  const std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
  std::vector<Event> events;
  const Revision next = revision_ + 1;
  for (const std::string& key : keys) {
    const KeyValue* old = Find(key);
    FOREST_CHECK(old != nullptr);
    Event event;
    event.type = Event::Type::kDelete;
    event.kv.key = key;
    event.kv.mod_revision = next;
    event.prev_kv = *old;
    AppendEvent(std::move(event), &events);
  }
  if (!events.empty()) revision_ = next;
  return events;
}

void Mvcc::EraseLease(LeaseId id) {
  const auto it = leases_.find(id);
  if (it == leases_.end()) return;
  FOREST_CHECK(it->second.keys.empty());
  expiries_.erase({it->second.expiry, id});
  leases_.erase(it);
}

}  // namespace forest::coord::embedded_internal
