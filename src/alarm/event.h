// What an alarm is about: one event (or a window's summary of several), its
// facts, and how they read as a message. Plain values, no I/O.
//
// Every event has a key that names it whoever sees it: the same failed run
// seen by two leaders has the same key, so its alarm is recorded once
// (AlarmId(key) is the alarm log's primary key).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time.h"

namespace forest::alarm {

enum class Kind {
  kFailed,         // a run ended in error
  kTimedOut,       // ... because it timed out
  kUnknown,        // a run ended unknown: its worker was lost
  kNoWorker,       // no live worker in the group took a run
  kMisfire,        // scheduled times missed beyond the misfire threshold
  kLongRunning,    // a run still running past the rule's limit
  kRecovered,      // the first success after failures
  kGroupEmpty,     // a group has no live worker
  kLeaderChanged,  // a node became the leader
  kTest,           // a test message (POST /api/v1/alarm-channels/{id}/test)
};
// "failed", "timed_out", "unknown", "no_worker", "misfire", "long_running",
// "recovered", "group_empty", "leader_changed", "test".
std::string_view Name(Kind kind);
std::optional<Kind> ParseKind(std::string_view name);

struct Event {
  Kind kind = Kind::kFailed;
  std::string key;  // see above; "summary/..." for a window's summary
  std::string job_id, job_name, group;
  std::string execution_id, worker;
  std::string node;    // the leader that raised it
  std::string status;  // the run's: "error", "unknown", "success", "running" ("" when none)
  std::string result;  // what happened, in words (the run's result, ...)
  std::string mobile;  // the job's `mobile` (the original's field)
  std::optional<Time> scheduled_at, started_at, finished_at;
  Time at{};          // when it happened (the latest event of a summary)
  int64_t count = 1;  // events this stands for
  Time first_at{}, last_at{};
  int64_t window_seconds = 0;  // a summary's window
  std::string link;            // the execution in the UI ("" when none)

  // One line: "Job nightly failed on w1", "Job nightly failed 17 times in 5 min".
  std::string Title() const;
  // The default message text: the title, then one "Name: value" line per fact.
  std::string Text() const;
  // Template variables (template.h): kind, title, text, jobId, jobName,
  // group, executionId, worker, node, status, result, mobile, scheduledAt,
  // startedAt, finishedAt, at, count, firstAt, lastAt, link (times RFC 3339).
  std::map<std::string, std::string> Variables() const;

  // The facts as stored in the alarm log's `detail`, and back.
  nlohmann::json ToJson() const;
  static absl::StatusOr<Event> FromJson(std::string_view text);
};

// The alarm log id of an event key: 32 hex digits of its SHA-256.
std::string AlarmId(std::string_view event_key);

}  // namespace forest::alarm
