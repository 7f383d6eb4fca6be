// The documents of one run of a job: the assignment the leader writes for a
// worker (the original's JobSnapshot, under /forest/client/snapshot/...) and
// the execution record the worker keeps (JobExecuteSnapshot, under
// /forest/client/execute/snapshot/...). Plain values, no I/O.
//
// The original's fields keep their names and types, timestamps included
// ("2006-01-02 15:04:05" in the server's local zone). Forest's fields are
// additive (old clients ignore them and do not copy them into their
// records, so everything that reads a record falls back on the id, which
// encodes them). Unknown fields are kept in `extra`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time.h"
#include "common/time_zone.h"

namespace forest::model {

// Why a run exists.
enum class Trigger { kCron, kManual, kRetry, kFailover, kApi };
std::string_view Name(Trigger t);
absl::StatusOr<Trigger> ParseTrigger(std::string_view name);

// Execution status, as the original numbers them.
enum class RunStatus { kRunning = 1, kSuccess = 2, kUnknown = 3, kError = -1 };
// True for success, error and unknown.
inline bool IsFinal(RunStatus s) { return s != RunStatus::kRunning; }

// The original's timestamp layout: "2026-01-01 08:00:30", local wall time
// (milliseconds truncated).
std::string FormatLegacyTime(Time t, const TimeZone& zone);

// The 17 digits that open a snapshot id (and name a run request):
// "20260101000030000", the UTC time yyyyMMddHHmmssSSS.
// REQUIRES: t is in the years 0000-9999.
std::string TimestampDigits(Time t);

// What a snapshot id is made of. Ids are derived, never random, so the same
// fire always gets the same id and a repeated write cannot make a second
// run: cron fires (and their retries and failover moves) are keyed by the
// scheduled time; manual and API runs by the instant they were requested.
struct RunKey {
  std::string job_id;
  Time scheduled{};
  bool manual = false;  // requested by a user (manual / api) rather than the schedule
  int attempt = 1;
  int shard_index = 0;

  friend bool operator==(const RunKey&, const RunKey&) = default;
};
// "20260101000030000-job1" for the first attempt of a cron fire (shard 0);
// otherwise "20260101000030000c2.0-job1" / "...m1.3-job1" (origin, attempt,
// shard). The 17 digits are TimestampDigits(scheduled).
// REQUIRES: attempt >= 1, shard_index >= 0, job_id not empty.
std::string SnapshotId(const RunKey& key);
// The inverse; InvalidArgument for an id that is not one of ours (the
// original's ids, for instance).
absl::StatusOr<RunKey> ParseSnapshotId(std::string_view id);

// JobSnapshot: one run dispatched to one worker.
struct Assignment {
  // The original's fields.
  std::string id;
  std::string job_id;
  std::string name;
  std::string ip;  // the chosen worker's name
  std::string group;
  std::string cron;
  std::string target;
  std::string params;
  std::string mobile;
  std::string remark;
  std::string create_time;  // legacy layout
  // Forest's.
  std::optional<Time> scheduled_time;
  Trigger trigger = Trigger::kCron;
  int attempt = 1;
  int shard_index = 0;
  int shard_total = 1;
  int64_t timeout_seconds = 0;  // 0 = none

  nlohmann::json extra = nlohmann::json::object();

  // InvalidArgument naming the field (FieldError) for a wrong JSON type, an
  // unknown trigger, attempt < 1, shardTotal < 1, shardIndex outside
  // [0, shardTotal) or a negative timeoutSeconds.
  static absl::StatusOr<Assignment> FromJson(std::string_view json);
  std::string ToJson() const;
};

// JobExecuteSnapshot: the record of one run, written by the worker that
// claimed it (and by the leader when no worker could: no live worker,
// worker lost, timed out).
struct ExecutionRecord {
  Assignment run;  // the snapshot's fields, copied
  std::string start_time;   // legacy layout
  std::string finish_time;  // legacy layout; empty while running
  int64_t times = 0;        // whole seconds
  RunStatus status = RunStatus::kRunning;
  std::string result;
  // Forest's.
  std::optional<int64_t> duration_ms;
  std::optional<int> exit_code;
  std::string output;
  // Wall-clock start (ours, RFC 3339), which timeouts are measured from.
  std::optional<Time> started_at;

  // As Assignment::FromJson (unknown fields go to run.extra), and a status
  // other than 1, 2, 3, -1 is an error too.
  static absl::StatusOr<ExecutionRecord> FromJson(std::string_view json);
  std::string ToJson() const;
};

}  // namespace forest::model
