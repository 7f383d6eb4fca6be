// The alarm engine: turns what the leader sees into alarms and delivers
// them. It runs on every node and acts only while its node leads (Lead /
// Follow, as the collector).
//
// Sources (all on the leader):
//  - OnStored: the collector's batches, told after the database stored
//    them and before their keys are deleted (history/collector.h): a final
//    record in error is `failed` (`timed_out` when its result says "timed
//    out", `no_worker` under worker "~"), status unknown is `unknown`, and a
//    success after alarmed failures is `recovered`. A failed attempt that the
//    job's retry policy will retry raises nothing: alarms come after the
//    last attempt. An error here makes the collector keep the batch and
//    tell it again later, so nothing the leader stored is ever missed.
//  - OnMisfire (scheduler::LeaderObserver): misfires, queued (bounded; an
//    overflow is counted and logged) and handled on the engine's thread.
//  - Lead: `leader_changed` (the global rule's onLeaderChange).
//  - Every check_interval: runs running longer than their rule's
//    runningLongerThanSeconds (from the history's running rows), and groups
//    without a live worker for group_empty_after (onGroupEmpty).
//
// Rules: the job's `alarm` field over its group's default over the global
// one (model/alarm_rule.h, config.h), field by field. A job with a `mobile`
// (the original's field) also alarms, on failures, timeouts and lost
// workers unless its rules say otherwise, through every enabled webhook
// channel marked smsGateway, whose template can use {{mobile}}.
//
// Exactly once: every event has a key (event.h) that names it whoever sees
// it; its alarm is recorded in the alarm log under AlarmId(key), once,
// before anything is sent. Conditions ("job failing", "group empty") are
// kept in the log with an episode number, so a new leader neither repeats
// nor misses a `recovered` or `group_empty`. Delivery reads the log: each
// (alarm, channel) is claimed (compare-and-set) before every attempt and
// its outcome recorded after, so a new leader sends what the last one left
// unsent, and two nodes never send the same attempt. One window remains:
// a leader that dies during the HTTP call itself, after the service took
// the message but before the outcome was recorded; the next leader takes
// such an attempt over after stale_sending and sends it again, with the
// same X-Forest-Alarm-Id (the alarm id is in every message) for receivers
// that drop repeats.
//
// Grouping: repeats of one kind for one job (or group) within the rule's
// groupWindowSeconds are not sent one by one: the first goes at once, the
// others are counted, and one summary ("failed 17 more times in 5 min")
// goes at the end of the window; while they keep coming, one summary per
// window. The counts live in the leader's memory: a leader change loses a
// window's count (the next event is sent at once).
//
// Delivery never slows scheduling or collecting: it runs on
// delivery_threads threads of its own, at most one attempt per channel at
// a time (a slow channel holds one thread, not all), from a bounded queue
// filled from the log; failed attempts are retried with exponential
// backoff up to max_attempts, then the delivery is `failed`.
//
// Threads: Start starts the engine's thread and the delivery threads; all
// public methods are thread-safe. Lead, Follow and OnMisfire only queue
// (the scheduler's loop thread calls them; a slow database never holds it);
// OnStored does its work on the caller's thread (the collector's).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alarm/config.h"
#include "alarm/event.h"
#include "alarm/probe.h"
#include "alarm/sender.h"
#include "common/clock.h"
#include "common/status.h"
#include "coord/store.h"
#include "history/alarm_log.h"
#include "history/history.h"
#include "scheduler/leader.h"

namespace forest::alarm {

// Where a test may stop the engine as a crash would (EngineOptions::fault).
enum class FaultPoint {
  kRecorded,  // an alarm is in the log, nothing sent
  kClaimed,   // a delivery is claimed, not sent
};

struct EngineOptions {
  std::string node_id;  // required; the alarms' leader_node
  // The UI's address ("https://forest.example.com"): messages link to
  // {ui_url}/executions?id={execution}. Empty: no links.
  std::string ui_url;
  // Not owned. Windows, backoffs and checks are measured on it.
  Clock* clock = &SystemClock::Get();
  // Told of every attempt and alarm; not owned. Default: NoopProbe().
  AlarmProbe* probe = nullptr;

  // groupWindowSeconds when no rule sets it.
  std::chrono::seconds default_window{300};
  // Attempts per delivery, and the backoff between them (doubling).
  int max_attempts = 8;
  std::chrono::milliseconds retry_min{2000};
  std::chrono::milliseconds retry_max{300000};
  int delivery_threads = 4;
  // Deliveries held in memory; the rest wait in the log.
  size_t queue_limit = 256;
  // Misfire events waiting for the engine's thread; more are dropped.
  size_t event_queue_limit = 10000;
  // How often the log is read for due deliveries (also at once after an
  // alarm is recorded).
  std::chrono::milliseconds poll{1000};
  // Long-running and empty-group checks.
  std::chrono::milliseconds check_interval{30000};
  // A group alarms once it has had no live worker this long.
  std::chrono::milliseconds group_empty_after{60000};
  // An attempt another node claimed and left unfinished this long is
  // taken over (that node died mid-attempt).
  std::chrono::milliseconds stale_sending{60000};
  // Rules and channels are re-read from the store at most this often.
  std::chrono::milliseconds config_ttl{2000};
  // Alarms older than this are deleted (by the leader, every 10 minutes);
  // 0 keeps them.
  int retention_days = 30;
  // Tests: called at each FaultPoint; false stops the work there, as a
  // crash would (nothing after it is written), and the engine follows.
  std::function<bool(FaultPoint point, std::string_view alarm_id)> fault;
};

struct EngineStats {
  bool leading = false;
  int64_t raised = 0;      // alarms recorded by this node (summaries included)
  int64_t suppressed = 0;  // events counted into a window instead of sent
  int64_t sent = 0;        // successful attempts
  int64_t retried = 0;     // failed attempts with another to come
  int64_t failed = 0;      // deliveries given up
  int64_t dropped = 0;     // misfire events dropped (queue full)
  int64_t errors = 0;      // store or database errors
};

class AlarmEngine final : public scheduler::LeaderObserver {
 public:
  // `store`, `log`, `sender` and `history` (running runs; null: no
  // long-running check) must outlive the engine. InvalidArgument without a
  // node id, a clock, or with non-positive limits.
  static absl::StatusOr<std::unique_ptr<AlarmEngine>> Start(coord::Store& store,
                                                            history::AlarmLog& log, Sender& sender,
                                                            history::HistoryStore* history,
                                                            EngineOptions options);
  ~AlarmEngine() override;
  AlarmEngine(const AlarmEngine&) = delete;
  AlarmEngine& operator=(const AlarmEngine&) = delete;

  // This node leads with `token`: raise leader_changed, deliver, check.
  void Lead(coord::Revision token);
  // It no longer does: attempts in flight finish, nothing new starts.
  void Follow();
  // Stops every thread; idempotent.
  void Stop();

  // The collector's on_stored. Unavailable until Lead has loaded the
  // engine's state (the collector retries).
  absl::Status OnStored(const std::vector<history::Execution>& rows);
  // scheduler::LeaderObserver: queued, never blocks.
  void OnMisfire(const scheduler::MisfireEvent& event) override;

  EngineStats stats() const;

 private:
  class Impl;
  explicit AlarmEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The message of POST /api/v1/alarm-channels/{id}/test, for `channel`.
Message TestMessage(const Channel& channel, std::string_view node, std::string_view ui_url,
                    Time now);

}  // namespace forest::alarm
