// Alarm channels and the group and global default rules, in the
// coordination store (a job's own rule is its `alarm` field):
//
//   /forest/alarm/channel/{id}        a Channel (channel.h), secrets included
//   /forest/alarm/rule/global         the global default AlarmRule
//   /forest/alarm/rule/group/{group}  a group's default AlarmRule
//
// Kept there, not in SQL, because they are configuration like jobs and
// groups: every node reads the same, edits are compare-and-set, and a
// standalone server keeps them in its embedded store.
//
// Thread safety: all methods may be called from any thread (the store is).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarm/channel.h"
#include "common/clock.h"
#include "common/status.h"
#include "coord/store.h"
#include "model/alarm_rule.h"

namespace forest::alarm {

inline constexpr std::string_view kAlarmPrefix = "/forest/alarm/";
inline constexpr std::string_view kChannelPrefix = "/forest/alarm/channel/";
inline constexpr std::string_view kGlobalRuleKey = "/forest/alarm/rule/global";
inline constexpr std::string_view kGroupRulePrefix = "/forest/alarm/rule/group/";

struct AlarmRules {
  std::optional<model::AlarmRule> global;
  std::map<std::string, model::AlarmRule> groups;
};

// Everything under /forest/alarm/, read at one revision.
struct AlarmSnapshot {
  std::map<std::string, Channel> channels;  // by id
  AlarmRules rules;
};

class AlarmConfig {
 public:
  // `store` and `clock` (edit times) must outlive it.
  AlarmConfig(coord::Store& store, Clock& clock);

  absl::StatusOr<AlarmSnapshot> Load() const;

  // Sorted by id.
  absl::StatusOr<std::vector<Channel>> Channels() const;
  // NotFound when there is none.
  absl::StatusOr<Channel> GetChannel(std::string_view id) const;
  // Validates and stores a new channel (an id is drawn when it has none):
  // AlreadyExists when the id is taken. Answers it as stored (version 1).
  absl::StatusOr<Channel> CreateChannel(Channel channel, std::string_view by);
  // Applies `patch` (Channel::Patch), validates and stores it, if the
  // channel is still at `expected_version` (when given): Aborted when it
  // changed meanwhile (or another edit won the race); NotFound.
  absl::StatusOr<Channel> UpdateChannel(std::string_view id, const nlohmann::json& patch,
                                        std::optional<int64_t> expected_version,
                                        std::string_view by);
  // NotFound when there is none. Rules naming it keep the name; their
  // alarms record a failed delivery saying the channel is gone.
  absl::Status DeleteChannel(std::string_view id);

  absl::StatusOr<AlarmRules> Rules() const;
  absl::StatusOr<std::optional<model::AlarmRule>> GlobalRule() const;
  absl::StatusOr<std::optional<model::AlarmRule>> GroupRule(std::string_view group) const;
  // Validates (the channels it names must exist: field "channels") and
  // stores. A group rule needs the group to exist (NotFound).
  absl::Status PutGlobalRule(const model::AlarmRule& rule);
  absl::Status PutGroupRule(std::string_view group, const model::AlarmRule& rule);
  // NotFound when there was none.
  absl::Status DeleteGlobalRule();
  absl::Status DeleteGroupRule(std::string_view group);

 private:
  absl::Status CheckChannels(const model::AlarmRule& rule) const;
  absl::Status PutRule(const std::string& key, const model::AlarmRule& rule);
  absl::Status DeleteKey(const std::string& key, std::string_view what);

  coord::Store& store_;
  Clock& clock_;
};

}  // namespace forest::alarm
