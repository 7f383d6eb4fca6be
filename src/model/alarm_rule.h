// An alarm rule: which events of a job (or of a group's jobs, or of every
// job) raise an alarm, and on which channels. The same document is a job's
// `alarm` field, a group's default and the global default (alarm/ keeps
// those two under /forest/alarm/rule/).
//
//   {"onFailure": true, "onTimeout": true, "channels": ["ch-ops"],
//    "runningLongerThanSeconds": 3600, "groupWindowSeconds": 300}
//
// Every field is optional: a field left out inherits from the less specific
// rule (job -> group -> global), so a job may say only `"channels": [...]`
// and take its events from its group's default. Merge() does that.
// `enabled: false` at a scope silences everything it covers.
//
// Plain values, no I/O. Unknown fields are kept and written back. Errors are
// InvalidArgument naming the field with the caller's prefix ("alarm.channels").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace forest::model {

// Limits checked by Validate.
inline constexpr int64_t kMaxAlarmRunningSeconds = 30LL * 24 * 3600;
inline constexpr int64_t kMaxAlarmWindowSeconds = 24 * 3600;
inline constexpr size_t kMaxAlarmChannels = 32;

struct AlarmRule {
  std::optional<bool> enabled;           // enabled: false silences the scope
  std::optional<bool> on_failure;        // onFailure: a run ended in error
  std::optional<bool> on_timeout;        // onTimeout: timed out (the leader's "timed out")
  std::optional<bool> on_unknown;        // onUnknown: ended unknown (its worker was lost)
  std::optional<bool> on_no_worker;      // onNoWorker: no live worker took it (unset: as onFailure)
  std::optional<bool> on_misfire;        // onMisfire: times missed beyond the misfire threshold
  std::optional<bool> on_recovered;      // onRecovered: the first success after failures
  std::optional<bool> on_group_empty;    // onGroupEmpty: the group has no live worker
  std::optional<bool> on_leader_change;  // onLeaderChange (the global rule only)
  // runningLongerThanSeconds: a run still running this long after it
  // started (0 = off).
  std::optional<int64_t> running_longer_than_seconds;
  // channels: ids of alarm channels (replaces, never adds to, the inherited list).
  std::optional<std::vector<std::string>> channels;
  // groupWindowSeconds: repeats of one event kind for one job (or group)
  // within this window are sent as one summary at its end (0 = every one).
  std::optional<int64_t> group_window_seconds;

  nlohmann::json extra = nlohmann::json::object();

  // `field` prefixes error fields ("alarm" -> "alarm.onFailure").
  static absl::StatusOr<AlarmRule> FromJson(const nlohmann::json& value, std::string_view field);
  static absl::StatusOr<AlarmRule> FromJsonText(std::string_view text, std::string_view field);
  nlohmann::json ToJson() const;
  absl::Status Validate(std::string_view field) const;

  // This rule, with every field it leaves unset taken from `fallback`.
  AlarmRule Merge(const AlarmRule& fallback) const;
  // No field set (and no unknown field).
  bool empty() const;

  friend bool operator==(const AlarmRule&, const AlarmRule&) = default;
};

}  // namespace forest::model
