#include "scheduler/plan_table.h"

#include "common/check.h"
#include "common/strings.h"

namespace forest::scheduler {
PlanTable::PlanTable() : index_(0, IdHash{&slots_}, IdEq{&slots_}) {}

size_t PlanTable::IdHash::operator()(uint32_t slot) const {
  return absl::Hash<absl::string_view>{}(ToAbsl((*slots)[slot].job_id));
}
size_t PlanTable::IdHash::operator()(absl::string_view id) const {
  return absl::Hash<absl::string_view>{}(id);
}
bool PlanTable::IdEq::operator()(uint32_t a, absl::string_view b) const {
  return ToAbsl((*slots)[a].job_id) == b;
}

std::optional<Time> PlanTable::FirstFire(const cron::Schedule& schedule, Time after,
                                         std::optional<Time> start_at, Time end_at) {
  // Fires at or after start_at: search from just before it.
  if (start_at && *start_at - Millis(1) > after) after = *start_at - Millis(1);
  const std::optional<Time> next = schedule.Next(after);
  if (!next || *next >= end_at) return std::nullopt;
  return next;
}

bool PlanTable::Upsert(std::string_view job_id, cron::Schedule schedule, Time after,
                       std::optional<Time> start_at, std::optional<Time> end_at) {
  const Time end = end_at.value_or(Time::max());
  const std::optional<Time> first = FirstFire(schedule, after, start_at, end);
  if (!first) {
    Remove(job_id);
    return false;
  }
  const auto it = index_.find(ToAbsl(job_id));
  if (it != index_.end()) {
    Slot& slot = slots_[*it];
    slot.schedule = std::move(schedule);
    slot.end_at = end;
    const Time old = slot.next;
    slot.next = *first;
    heap_[slot.heap_at].next = *first;
    if (*first < old) {
      SiftUp(slot.heap_at);
    } else {
      SiftDown(slot.heap_at);
    }
    return true;
  }
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    slots_[index] = Slot{std::string(job_id), std::move(schedule), *first, end, 0};
  } else {
    FOREST_CHECK(slots_.size() < UINT32_MAX);
    index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{std::string(job_id), std::move(schedule), *first, end, 0});
  }
  index_.insert(index);
  heap_.push_back(HeapEntry{*first, index});
  slots_[index].heap_at = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(slots_[index].heap_at);
  return true;
}

void PlanTable::Clear() {
  index_.clear();
  heap_.clear();
  free_.clear();
  slots_.clear();
}

bool PlanTable::Remove(std::string_view job_id) {
  const auto it = index_.find(ToAbsl(job_id));
  if (it == index_.end()) return false;
  const uint32_t slot = *it;
  index_.erase(it);
  EraseFromHeap(slots_[slot].heap_at);
  FreeSlot(slot);
  return true;
}

std::optional<Time> PlanTable::NextDue() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().next;
}

std::optional<Time> PlanTable::Next(std::string_view job_id) const {
  const auto it = index_.find(ToAbsl(job_id));
  if (it == index_.end()) return std::nullopt;
  return slots_[*it].next;
}

size_t PlanTable::TakeDue(Time now, size_t max, std::vector<Fire>& out) {
  size_t taken = 0;
  while (taken < max && !heap_.empty() && heap_.front().next <= now) {
    const uint32_t index = heap_.front().slot;
    Slot& slot = slots_[index];
    out.push_back(Fire{slot.job_id, slot.next});
    ++taken;
    const std::optional<Time> following = slot.schedule.Next(slot.next);
    if (!following || *following >= slot.end_at) {
      index_.erase(ToAbsl(slot.job_id));
      EraseFromHeap(0);
      FreeSlot(index);
      continue;
    }
    slot.next = *following;
    heap_.front().next = *following;
    SiftDown(0);
  }
  return taken;
}

void PlanTable::Place(uint32_t heap_index, HeapEntry entry) {
  heap_[heap_index] = entry;
  slots_[entry.slot].heap_at = heap_index;
}

void PlanTable::SiftUp(uint32_t i) {
  const HeapEntry entry = heap_[i];
  while (i > 0) {
    const uint32_t parent = (i - 1) / 2;
    if (!Before(entry, heap_[parent])) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, entry);
}

void PlanTable::SiftDown(uint32_t i) {
  const HeapEntry entry = heap_[i];
  const auto n = static_cast<uint32_t>(heap_.size());
  while (true) {
    uint32_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], entry)) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, entry);
}

void PlanTable::EraseFromHeap(uint32_t i) {
  const auto last = static_cast<uint32_t>(heap_.size() - 1);
  if (i == last) {
    heap_.pop_back();
    return;
  }
  // Move the last entry into the hole; it belongs either above or below it.
  Place(i, heap_[last]);
  heap_.pop_back();
  if (i > 0 && Before(heap_[i], heap_[(i - 1) / 2])) {
    SiftUp(i);
  } else {
    SiftDown(i);
  }
}

void PlanTable::FreeSlot(uint32_t slot) {
  slots_[slot].job_id = std::string();
  slots_[slot].job_id.shrink_to_fit();
  free_.push_back(slot);
}

}  // namespace forest::scheduler
