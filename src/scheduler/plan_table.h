// The leader's plan table: for every enabled job, its next scheduled fire
// time, in a min-heap so the leader sleeps until the earliest one and takes
// all fires due at once. O(log n) per fire, insert, update and removal; no
// operation scans the table.
//
// It knows schedules and time windows, nothing about dispatch: TakeDue hands
// out (job, scheduled time) pairs and moves each job to its following fire;
// what the leader does with them (misfire policy, batching, cursors) is its
// business. A job whose schedule ends (or whose window closes) leaves the
// table.
//
// Not thread-safe: the leader loop owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "common/time.h"
#include "cron/cron.h"

namespace forest::scheduler {

struct Fire {
  std::string job_id;
  Time scheduled;
};

class PlanTable {
 public:
  PlanTable();
  // The index refers to slots_ by address.
  PlanTable(const PlanTable&) = delete;
  PlanTable& operator=(const PlanTable&) = delete;

  // Plans `job_id` (replacing its plan if it has one): its first fire is the
  // first time of `schedule` strictly after `after`, at or after `start_at`
  // and before `end_at`. A job with no such time is removed. Answers whether
  // the job is planned.
  bool Upsert(std::string_view job_id, cron::Schedule schedule, Time after,
              std::optional<Time> start_at = std::nullopt,
              std::optional<Time> end_at = std::nullopt);
  // Forgets every job.
  void Clear();
  // Forgets the job; false if it was not planned.
  bool Remove(std::string_view job_id);

  // The earliest planned fire, if any job is planned.
  std::optional<Time> NextDue() const;
  // Appends to `out` every fire due at or before `now`, earliest first, at
  // most `max`, and advances each job to its following fire (a job may
  // appear more than once if several of its times are due). Answers how many
  // were appended.
  size_t TakeDue(Time now, size_t max, std::vector<Fire>& out);

  // The next planned fire of one job.
  std::optional<Time> Next(std::string_view job_id) const;
  size_t size() const { return slots_.size() - free_.size(); }

 private:
  struct Slot {
    std::string job_id;
    cron::Schedule schedule;
    Time next;
    Time end_at;       // Time::max() when open-ended
    uint32_t heap_at;  // position in heap_
  };
  // Heap entries carry the key, so comparisons touch no slot.
  struct HeapEntry {
    Time next;
    uint32_t slot;
  };

  static bool Before(const HeapEntry& a, const HeapEntry& b) {
    return a.next < b.next || (a.next == b.next && a.slot < b.slot);
  }
  void Place(uint32_t heap_index, HeapEntry entry);
  void SiftUp(uint32_t heap_index);
  void SiftDown(uint32_t heap_index);
  void EraseFromHeap(uint32_t heap_index);
  void FreeSlot(uint32_t slot);
  // The first fire of `schedule` after `after` within [start_at, end_at).
  static std::optional<Time> FirstFire(const cron::Schedule& schedule, Time after,
                                       std::optional<Time> start_at, Time end_at);

  // The job-id index holds slot numbers and hashes them through their slot's
  // id, so each id is stored once (in its slot); lookups take an id.
  struct IdHash {
    using is_transparent = void;
    const std::vector<Slot>* slots;
    size_t operator()(uint32_t slot) const;
    size_t operator()(absl::string_view id) const;
  };
  struct IdEq {
    using is_transparent = void;
    const std::vector<Slot>* slots;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, absl::string_view b) const;
    bool operator()(absl::string_view a, uint32_t b) const { return (*this)(b, a); }
  };

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // reusable slots
  std::vector<HeapEntry> heap_;
  absl::flat_hash_set<uint32_t, IdHash, IdEq> index_;
};

}  // namespace forest::scheduler
