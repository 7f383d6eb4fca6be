// The alarm log: every alarm the leader raised, and what became of its
// delivery on each channel. alarm/ writes an alarm here before anything is
// sent (so a new leader finds what the last one left unsent), claims each
// delivery before sending it (so two nodes never both send one attempt)
// and records each attempt's outcome; the API lists it.
//
// Stored in the history database (schema version 5): `forest_alarm` (one
// row per alarm: its kind, job, group, execution, the facts its messages
// are made from), `forest_alarm_delivery` (one row per alarm and channel:
// state, attempts, last error, when to try next, who holds it) and
// `forest_alarm_condition` (states that open and close, such as "this job
// is failing" or "this group has no worker", with an episode number, so a
// condition is alarmed once per episode whichever leader sees it).
// OpenAlarmLog connects on its own, as OpenAuditLog does.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/time.h"
#include "history/history.h"

namespace forest::history {

// Column widths; Record refuses ids over theirs (InvalidArgument) and cuts
// text fields to theirs.
inline constexpr size_t kMaxAlarmId = 64;
inline constexpr size_t kMaxAlarmKind = 32;
inline constexpr size_t kMaxAlarmJobId = 128;
inline constexpr size_t kMaxAlarmGroup = 128;
inline constexpr size_t kMaxAlarmExecutionId = 64;
inline constexpr size_t kMaxAlarmChannelId = 128;
inline constexpr size_t kMaxAlarmConditionKey = 255;

// pending: waiting to be sent (first try, or a retry at next_attempt_at);
// sending: claimed by `owner`, an attempt in flight; sent, failed: final.
enum class DeliveryState { kPending, kSending, kSent, kFailed };
std::string_view Name(DeliveryState s);
std::optional<DeliveryState> ParseDeliveryState(std::string_view name);

struct AlarmDelivery {
  std::string alarm_id;
  std::string channel_id;
  std::string channel_name;  // as when the alarm was raised
  std::string channel_type;
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;        // attempts started (claims)
  std::string last_error;  // of the last failed attempt ("" when none)
  Time next_attempt_at{};  // pending: not before
  std::string owner;       // who claimed the last attempt ("" before the first)
  Time updated_at{};
  std::optional<Time> sent_at;
  Time alarm_created_at{};  // the alarm's (Due's order)

  friend bool operator==(const AlarmDelivery&, const AlarmDelivery&) = default;
};

struct AlarmEntry {
  std::string id;    // derived from the event (alarm/): the same event, the same id
  std::string kind;  // "failed", "timed_out", ... (alarm/event.h)
  std::string job_id, job_name, group, execution_id, worker;  // "" when not about one
  std::string title;                                          // one line
  std::string detail;          // the facts, JSON text: what the channels' messages are made of
  int64_t count = 1;           // events it stands for (a window's summary: more than 1)
  Time first_at{}, last_at{};  // of those events
  Time created_at{};           // Record stamps the clock's Now() when left at the epoch
  std::string leader_node;
  std::vector<AlarmDelivery> deliveries;  // one per channel (alarm_id, created_at filled in)

  friend bool operator==(const AlarmEntry&, const AlarmEntry&) = default;
};

// Every filter that is set must match; channel and state match an alarm
// with at least one such delivery.
struct AlarmQuery {
  std::string kind;
  std::string job_id;
  std::string group;
  std::string channel_id;
  std::optional<DeliveryState> state;
  std::optional<Time> from;  // created_at >= from
  std::optional<Time> to;    // created_at < to
  int page_size = 20;        // 1..1000
  int page_no = 1;           // from 1
};

struct AlarmPage {
  int64_t total_count = 0;
  int64_t total_pages = 0;
  std::vector<AlarmEntry> rows;  // newest first, with their deliveries
};

struct AlarmCondition {
  std::string key;  // "failing/{job}", "group_empty/{group}", ...
  bool open = false;
  int64_t episode = 0;  // +1 each time it opens
  Time changed_at{};

  friend bool operator==(const AlarmCondition&, const AlarmCondition&) = default;
};

class AlarmLog {
 public:
  virtual ~AlarmLog() = default;

  // Inserts the alarm and its deliveries in one transaction, unless an
  // alarm with its id exists: true when inserted, false when it was there
  // already (then nothing changes). InvalidArgument for an empty id or
  // kind, an id over its width, or no delivery.
  virtual absl::StatusOr<bool> Record(const AlarmEntry& entry) = 0;

  // Deliveries to work on at `now`, oldest alarm first, at most `limit`:
  // pending ones whose next_attempt_at has come, and sending ones held by
  // an owner other than `owner` (a leader that stopped mid-attempt; the
  // caller decides whether to take them over).
  virtual absl::StatusOr<std::vector<AlarmDelivery>> Due(Time now, std::string_view owner,
                                                         int limit) = 0;
  // Claims `seen` (as Due answered it) for `owner`: state sending,
  // attempts + 1, if its state, owner and attempts are still those seen.
  // False when another node changed it meanwhile (it is theirs).
  virtual absl::StatusOr<bool> Claim(const AlarmDelivery& seen, std::string_view owner,
                                     Time now) = 0;
  // Records the outcome of `owner`'s attempt, if it still holds the
  // delivery: kSent (sent_at = now), kPending (a retry at next_attempt_at,
  // `error` kept) or kFailed (given up, `error` kept). False when it no
  // longer held it.
  virtual absl::StatusOr<bool> Finish(std::string_view alarm_id, std::string_view channel_id,
                                      std::string_view owner, DeliveryState state,
                                      std::string_view error, Time next_attempt_at, Time now) = 0;

  // InvalidArgument for a page size or number out of range.
  virtual absl::StatusOr<AlarmPage> List(const AlarmQuery& query) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<AlarmEntry> Get(std::string_view id) = 0;

  virtual absl::StatusOr<std::vector<AlarmCondition>> OpenConditions() = 0;
  // nullopt when the key was never written.
  virtual absl::StatusOr<std::optional<AlarmCondition>> GetCondition(std::string_view key) = 0;
  // Creates or replaces the condition.
  virtual absl::Status PutCondition(const AlarmCondition& condition) = 0;

  // Deletes at most `limit` alarms created before `before`, with their
  // deliveries; answers how many alarms.
  virtual absl::StatusOr<int64_t> DeleteOlderThan(Time before, int limit) = 0;
};

// As history::Open: kUnavailable when the database cannot be reached,
// kInvalidArgument for an unusable URL. `clock` must outlive the log.
absl::StatusOr<std::unique_ptr<AlarmLog>> OpenAlarmLog(const DbUrl& url, Clock& clock);

}  // namespace forest::history
