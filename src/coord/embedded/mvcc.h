// Internal to EmbeddedStore: its state machine. Keys, their event history and
// leases, with etcd v3's revision semantics (store.h). No I/O and no locking:
// EmbeddedStore calls it under its mutex, persists the events each change
// returns, and hands them back to Undo() when persisting fails.
//
// Representation: the current value of every key (an ordered map) plus a log
// of events, each carrying the key's previous value. A read at an old
// revision R takes the current values and undoes the events after R. The log
// holds every event from watch_floor() on; reads are served at any revision
// from compact_revision() on (compact_revision() <= watch_floor() <= it + 1:
// after a reopen the events of the current revision are gone, so a read at it
// works but a watch from it does not).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "coord/store.h"

namespace forest::coord::embedded_internal {

// Whether `key` is in [start, end) with store.h's conventions for `end`.
bool KeyInRange(const std::string& key, const std::string& start, const std::string& end);

// One change of one key. Inside Mvcc, prev_kv is set whenever the key
// existed; the revision of the event is kv.mod_revision.
using Event = WatchEvent;

class Mvcc {
 public:
  // A store at `revision` holding `kvs` (as loaded from disk). `history_lost`:
  // the events up to `revision` are unknown (a reopened file), so watches can
  // start from revision + 1 only.
  Mvcc(Revision revision, std::vector<KeyValue> kvs, bool history_lost);

  Revision revision() const { return revision_; }
  Revision compact_revision() const { return compact_revision_; }
  Revision watch_floor() const { return watch_floor_; }

  // kInvalidArgument (a single empty key), kOutOfRange (compacted or future revision).
  absl::StatusOr<RangeResponse> Range(const RangeRequest& request) const;

  // Validates (kInvalidArgument: too many ops, duplicate key, empty key;
  // kNotFound: a put's lease; kOutOfRange: a range's revision) and applies
  // the transaction; nothing changes when it fails. Its events, in order, are
  // appended to *events (empty when it wrote nothing).
  absl::StatusOr<TxnResponse> Txn(const TxnRequest& request, std::vector<Event>* events);

  // Reverts the change that produced `events` (the last one applied).
  void Undo(const std::vector<Event>& events);

  // kOutOfRange when `revision` is already compacted or in the future.
  absl::Status Compact(Revision revision);
  // Drops the oldest revisions until at most `limit` events remain.
  void TrimHistory(size_t limit);

  // The logged events with revision >= `from` for keys in [key, range_end).
  // REQUIRES: from >= watch_floor().
  std::vector<Event> EventsFrom(Revision from, const std::string& key,
                                const std::string& range_end) const;

  // Leases. Expiry is on the caller's clock; `now` is its reading.
  bool LeaseExists(LeaseId id) const { return leases_.contains(id); }
  void GrantLease(LeaseId id, std::chrono::seconds ttl, Time now);
  // The granted TTL, restarted from `now`; kNotFound when the lease is gone.
  absl::StatusOr<std::chrono::seconds> RenewLease(LeaseId id, Time now);
  absl::StatusOr<LeaseStatus> LeaseTimeToLive(LeaseId id, bool with_keys, Time now) const;
  // Leases whose expiry is <= now, soonest first.
  std::vector<LeaseId> ExpiredLeases(Time now) const;
  // Deletes the lease's keys as one change (no events when it has none); the
  // lease stays until EraseLease, so Undo can reattach them.
  // REQUIRES: LeaseExists(id).
  std::vector<Event> DeleteLeaseKeys(LeaseId id);
  void EraseLease(LeaseId id);

 private:
  struct Lease {
    std::chrono::seconds ttl{0};
    Time expiry;
    std::set<std::string> keys;
  };

  const KeyValue* Find(const std::string& key) const;
  // Sets (or, with nullopt, deletes) the current value, keeping the leases'
  // key sets in step.
  void SetKey(const std::string& key, const std::optional<KeyValue>& kv);
  // A range at `read_revision` (0 = now); `header_revision` goes in the reply.
  RangeResponse RangeAt(const RangeRequest& request, Revision header_revision) const;
  absl::Status CheckReadRevision(Revision revision, Revision current) const;
  bool CompareHolds(const Compare& compare) const;
  // State-dependent checks of the branch about to run (leases, revisions).
  absl::Status CheckBranch(const std::vector<Op>& ops) const;
  void AppendEvent(Event event, std::vector<Event>* events);

  std::map<std::string, KeyValue> kvs_;
  std::deque<Event> history_;  // in revision order
  Revision revision_;
  Revision compact_revision_;
  Revision watch_floor_;
  std::unordered_map<LeaseId, Lease> leases_;
  std::set<std::pair<Time, LeaseId>> expiries_;
};

}  // namespace forest::coord::embedded_internal
