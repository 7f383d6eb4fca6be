// The coordination store: key-value with revisions, transactions, leases and
// watches, with etcd v3's semantics. Everything Forest guarantees (fenced
// leadership, exactly-once dispatch, gap-free watches) is built on this
// interface; the scheduler, workers and collector use nothing else, and no
// module above coord/ includes a gRPC header.
//
// Two implementations pass one conformance suite (store_conformance_test.cc):
//  - EtcdStore (coord/etcd/): etcd v3 over gRPC, for cluster mode;
//  - EmbeddedStore (coord/embedded/): in-process, unleased keys persisted to
//    SQLite, for standalone mode.
//
// Semantics (as etcd's): every change bumps the store's revision by one, and
// a transaction is one change however many writes it makes. A key's
// create_revision is the revision that created it (0 when absent), its
// mod_revision the last one that changed it, its version the number of
// changes since creation. Ranges are [key, range_end): an empty range_end is
// the single key, "\0" every key >= key, PrefixEnd(p) every key starting with p.
//
// Errors: kNotFound (a lease that does not exist or expired, also when a
// transaction's branch puts with one: the whole transaction fails),
// kOutOfRange (a read at a compacted or future revision; Compact at or below
// the compacted revision), kInvalidArgument (bad request: an empty key
// without a range_end, more than kMaxTxnOps compares or operations, a key
// written twice in one branch), kUnavailable (no endpoint reachable: the
// request was not applied, or the embedded store's file cannot be written),
// kUnknown and kDeadlineExceeded (for a write: it was sent and its answer
// lost or late, so it may or may not have been applied; read before
// retrying), kUnauthenticated / kPermissionDenied (etcd auth), kCancelled (the
// store is closing).
//
// An empty key with a range_end means "from the first key": ("", "\0") and
// ("", PrefixEnd("")) select every key, as etcd's clients map them.
//
// Thread safety: all methods may be called from any thread concurrently.
// Watch and keep-alive callbacks run on a thread of the store's; they must not
// block for long, and may call the store (including starting watches), but
// must not destroy the store. Handles (watches, keepers) may outlive the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace forest::coord {

using Revision = int64_t;
using LeaseId = int64_t;

// etcd rejects transactions with more operations than this (--max-txn-ops).
inline constexpr size_t kMaxTxnOps = 128;

// The range_end that selects every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  int64_t version = 0;
  LeaseId lease = 0;  // 0 = none

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct RangeRequest {
  std::string key;
  std::string range_end;  // see above; empty = the single key
  int64_t limit = 0;      // 0 = no limit; results are sorted by key
  Revision revision = 0;  // 0 = the latest; otherwise read as of that revision
  bool keys_only = false;
  bool count_only = false;

  // The latest value of one key; of every key under a prefix.
  static RangeRequest Single(std::string key) {
    RangeRequest r;
    r.key = std::move(key);
    return r;
  }
  static RangeRequest Prefix(std::string_view prefix) {
    RangeRequest r;
    r.key = std::string(prefix);
    r.range_end = PrefixEnd(prefix);
    return r;
  }
};
struct RangeResponse {
  Revision revision = 0;  // the store's revision when the read was served
  std::vector<KeyValue> kvs;
  int64_t count = 0;  // keys in the range, regardless of limit
  bool more = false;  // limit cut the result
};

struct PutRequest {
  std::string key;
  std::string value;
  LeaseId lease = 0;  // 0 = permanent; otherwise the key goes with the lease
  bool prev_kv = false;
};
struct PutResponse {
  Revision revision = 0;
  std::optional<KeyValue> prev_kv;  // when asked for and the key existed
};

struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};
struct DeleteResponse {
  Revision revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;  // when asked for
};

// One condition of a transaction. For a range (non-empty range_end) every key
// in the range must satisfy it. An absent key has version, create and mod
// revision 0, lease 0 and no value (a value compare on it is false).
struct Compare {
  enum class Target { kValue, kVersion, kCreateRevision, kModRevision, kLease };
  enum class Result { kEqual, kNotEqual, kGreater, kLess };

  std::string key;
  std::string range_end;
  Target target = Target::kVersion;
  Result result = Result::kEqual;
  std::string value;   // kValue
  int64_t number = 0;  // the other targets

  static Compare Value(std::string key, Result r, std::string value);
  static Compare Version(std::string key, Result r, int64_t version);
  static Compare CreateRevision(std::string key, Result r, Revision rev);
  static Compare ModRevision(std::string key, Result r, Revision rev);
  static Compare Lease(std::string key, Result r, LeaseId lease);
  // The key does not exist (create_revision == 0).
  static Compare Absent(std::string key);
};

using Op = std::variant<RangeRequest, PutRequest, DeleteRequest>;
using OpResponse = std::variant<RangeResponse, PutResponse, DeleteResponse>;

// If every compare holds, run `success`, else `failure`, atomically. At most
// kMaxTxnOps compares, and as many operations in each branch; within a
// branch a key may be put at most once and not inside a range the branch
// deletes (etcd's rule; overlapping deletes are allowed).
struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<Op> success;
  std::vector<Op> failure;
};
struct TxnResponse {
  Revision revision = 0;
  bool succeeded = false;
  std::vector<OpResponse> responses;  // one per operation of the branch taken
};

struct LeaseGrant {
  LeaseId id = 0;
  std::chrono::seconds ttl{0};
};
struct LeaseStatus {
  LeaseId id = 0;
  std::chrono::seconds remaining{0};    // what is left of the TTL
  std::chrono::seconds granted_ttl{0};  // the TTL it was granted with
  std::vector<std::string> keys;        // when asked for
};

// A kept-alive lease. Destroying the keeper stops the renewals (it does not
// revoke the lease; call Store::RevokeLease for that).
class LeaseKeeper {
 public:
  virtual ~LeaseKeeper() = default;
  virtual LeaseId id() const = 0;
  // The instant after which the holder must consider the lease gone even if
  // nobody told it: last successful renewal + TTL - safety margin, on the
  // store clock's monotonic reading (Clock::Monotonic). A leader stops acting
  // as one at this instant, before the server can expire the lease and let
  // someone else lead.
  virtual Time deadline() const = 0;
  // True once the lease is known gone (expired, revoked, or deadline passed).
  virtual bool lost() const = 0;
};

struct KeepAliveOptions {
  // The keeper renews every third of the TTL the server last acknowledged,
  // and deadline() = last acknowledged renewal's send time + that TTL -
  // safety_margin. The margin must be shorter than the TTL (InvalidArgument).
  std::chrono::milliseconds safety_margin{1000};
  // Called once, from one of the keeper's threads, when the lease is lost;
  // it must not destroy the keeper.
  std::function<void()> on_lost;
};

struct WatchRequest {
  std::string key;
  std::string range_end;
  // 0 = changes after the current revision; otherwise from this revision on
  // (the usual pattern: Range at R, then Watch from R + 1). A future revision
  // is fine: events arrive once the store gets there.
  Revision start_revision = 0;
  bool prev_kv = false;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for a delete: the key and the deleting mod_revision
  std::optional<KeyValue> prev_kv;
};

// What a watch callback receives: either events, or the end of the watch.
struct WatchUpdate {
  // In revision order; each event is delivered exactly once, across any
  // reconnects of the store.
  std::vector<WatchEvent> events;
  // Non-zero: the watch's next revision was compacted away; the watch is over
  // (`ended`, status kOutOfRange) and the caller must reload (Range) and
  // watch again. It is the oldest revision a new watch can start from.
  Revision compact_revision = 0;
  // The watch is over (see `status`): compacted (kOutOfRange), canceled by
  // the server (kPermissionDenied when etcd says so, kAborted otherwise), or
  // the store is closing (kCancelled). No further updates follow.
  bool ended = false;
  absl::Status status;
};

// A running watch. Destroying it cancels the watch; once the destructor
// returns, its callback is not running and will not run again.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual absl::StatusOr<RangeResponse> Range(const RangeRequest& request) = 0;
  virtual absl::StatusOr<PutResponse> Put(const PutRequest& request) = 0;
  virtual absl::StatusOr<DeleteResponse> Delete(const DeleteRequest& request) = 0;
  virtual absl::StatusOr<TxnResponse> Txn(const TxnRequest& request) = 0;
  // Forgets the history before `revision` (reads and watches at older
  // revisions then fail with kOutOfRange / a compacted watch update).
  virtual absl::Status Compact(Revision revision) = 0;

  // A new lease; the server may round the TTL up to its minimum.
  virtual absl::StatusOr<LeaseGrant> GrantLease(std::chrono::seconds ttl) = 0;
  // Revokes the lease and deletes its keys (kNotFound if it is gone).
  virtual absl::Status RevokeLease(LeaseId id) = 0;
  virtual absl::StatusOr<LeaseStatus> LeaseTimeToLive(LeaseId id, bool with_keys) = 0;
  // Starts renewing `id` in the background.
  virtual absl::StatusOr<std::unique_ptr<LeaseKeeper>> KeepAlive(LeaseId id,
                                                                 KeepAliveOptions options) = 0;

  // Starts a watch; `callback` receives updates on the store's thread.
  virtual absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      const WatchRequest& request, std::function<void(WatchUpdate)> callback) = 0;
};

}  // namespace forest::coord
