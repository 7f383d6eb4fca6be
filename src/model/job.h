// Groups and jobs: the documents under /forest/server/group/{name} and
// /forest/server/conf/{id}, as the original forest writes them (GroupConf,
// JobConf), plus Forest's own fields. Plain values, no I/O.
//
// Compatibility: a document of the original (only its fields) parses and
// gets our defaults; fields this version does not know are kept in `extra`
// and written back unchanged, so an edit never drops what a newer version or
// another tool stored. Our fields are camelCase, times RFC 3339 UTC with
// milliseconds.
//
// Parsing checks JSON types and enum values; Validate() checks every rule
// (and parses the cron expression in the job's dialect and zone). Errors are
// InvalidArgument with the offending field named in the message and in
// ErrorField() (for the API's {"error": {"field": ...}}).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "cron/cron.h"
#include "model/alarm_rule.h"

namespace forest::model {

// An InvalidArgument error about `field`, and how to read the field back.
absl::Status FieldError(std::string_view field, std::string_view message);
std::string ErrorField(const absl::Status& status);

struct Group {
  std::string name;
  std::string remark;
  nlohmann::json extra = nlohmann::json::object();

  static absl::StatusOr<Group> FromJson(std::string_view json);
  std::string ToJson() const;
  absl::Status Validate() const;
};

enum class JobStatus { kEnabled = 1, kStopped = 2 };
enum class Routing { kRandom, kRoundRobin, kLeastBusy, kConsistentHash, kBroadcast, kShard };
enum class Concurrency { kAllow, kForbid, kReplace };
enum class Misfire { kFireOnce, kFireAll, kSkip };

std::string_view Name(Routing r);
std::string_view Name(Concurrency c);
std::string_view Name(Misfire m);

struct RetryPolicy {
  int max_attempts = 1;     // attempts in all, the first included; 1 = no retry
  int backoff_seconds = 0;  // before the first retry
  double factor = 1.0;      // each later backoff is the previous one times this

  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

struct Job {
  // The original's fields.
  std::string id;
  std::string name;
  std::string group;
  std::string cron;
  JobStatus status = JobStatus::kEnabled;
  std::string target;
  std::string params;
  std::string mobile;
  std::string remark;
  int64_t version = 0;  // +1 on every edit

  // Forest's.
  std::string timezone;  // IANA; empty = UTC
  cron::Dialect cron_dialect = cron::Dialect::kForest;
  Routing routing = Routing::kRandom;
  int64_t timeout_seconds = 0;  // 0 = no timeout
  RetryPolicy retry;
  Concurrency concurrency = Concurrency::kAllow;
  Misfire misfire = Misfire::kFireOnce;
  std::optional<Time> start_at;  // no fire before
  std::optional<Time> end_at;    // no fire at or after
  std::string description;
  std::string owner;
  std::vector<std::string> tags;
  std::optional<Time> created_at;
  std::optional<Time> updated_at;
  std::string created_by;
  std::string updated_by;
  // The job's own alarm rule (alarm/): unset fields inherit from its
  // group's default and the global one. The original's `mobile` still
  // works: see alarm/README.md.
  std::optional<AlarmRule> alarm;

  nlohmann::json extra = nlohmann::json::object();

  static absl::StatusOr<Job> FromJson(std::string_view json);
  std::string ToJson() const;
  absl::Status Validate() const;
  // The parsed schedule in the job's dialect and zone.
  absl::StatusOr<cron::Schedule> Schedule() const;
};

// Names used in etcd keys (group names, job ids, worker names): 1-64 of
// letters, digits, '.', '_', '-', and not "." or "..".
absl::Status ValidateKeyName(std::string_view field, std::string_view value);

}  // namespace forest::model
