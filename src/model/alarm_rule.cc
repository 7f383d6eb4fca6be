#include "model/alarm_rule.h"

#include <fmt/format.h>

#include "model/job.h"
#include "model/json_internal.h"

namespace forest::model {
namespace {

using internal::Reader;
using nlohmann::json;

// The error of a Reader (whose fields have no prefix) about `prefix.field`.
absl::Status Prefixed(std::string_view prefix, const absl::Status& status) {
  if (status.ok() || prefix.empty()) return status;
  const std::string field = ErrorField(status);
  if (field.empty()) return status;
  std::string message(status.message());
  if (message.rfind(field + ": ", 0) == 0) message = message.substr(field.size() + 2);
  return FieldError(fmt::format("{}.{}", prefix, field), message);
}

std::string Name(std::string_view prefix, std::string_view field) {
  return prefix.empty() ? std::string(field) : fmt::format("{}.{}", prefix, field);
}

struct BoolField {
  const char* name;
  std::optional<bool> AlarmRule::*member;
};
constexpr BoolField kBools[] = {
    {"enabled", &AlarmRule::enabled},
    {"onFailure", &AlarmRule::on_failure},
    {"onTimeout", &AlarmRule::on_timeout},
    {"onUnknown", &AlarmRule::on_unknown},
    {"onNoWorker", &AlarmRule::on_no_worker},
    {"onMisfire", &AlarmRule::on_misfire},
    {"onRecovered", &AlarmRule::on_recovered},
    {"onGroupEmpty", &AlarmRule::on_group_empty},
    {"onLeaderChange", &AlarmRule::on_leader_change},
};

}  // namespace

absl::StatusOr<AlarmRule> AlarmRule::FromJson(const json& value, std::string_view field) {
  if (!value.is_object()) {
    return FieldError(field.empty() ? "rule" : field, "expected an object");
  }
  json j = value;
  Reader r(j);
  AlarmRule rule;
  for (const BoolField& b : kBools) {
    RETURN_IF_ERROR(Prefixed(field, r.Bool(b.name, rule.*b.member)));
  }
  int64_t n = 0;
  if (j.contains("runningLongerThanSeconds") && !j["runningLongerThanSeconds"].is_null()) {
    RETURN_IF_ERROR(Prefixed(field, r.Int("runningLongerThanSeconds", n)));
    rule.running_longer_than_seconds = n;
  }
  if (j.contains("groupWindowSeconds") && !j["groupWindowSeconds"].is_null()) {
    RETURN_IF_ERROR(Prefixed(field, r.Int("groupWindowSeconds", n)));
    rule.group_window_seconds = n;
  }
  if (j.contains("channels") && !j["channels"].is_null()) {
    std::vector<std::string> channels;
    RETURN_IF_ERROR(Prefixed(field, r.Strings("channels", channels)));
    rule.channels = std::move(channels);
  }
  rule.extra = r.Rest();
  return rule;
}

absl::StatusOr<AlarmRule> AlarmRule::FromJsonText(std::string_view text, std::string_view field) {
  ASSIGN_OR_RETURN(json j, internal::ParseObject(text));
  return FromJson(j, field);
}

json AlarmRule::ToJson() const {
  json j = extra.is_object() ? extra : json::object();
  for (const BoolField& b : kBools) {
    if ((this->*b.member).has_value()) j[b.name] = *(this->*b.member);
  }
  if (running_longer_than_seconds) j["runningLongerThanSeconds"] = *running_longer_than_seconds;
  if (group_window_seconds) j["groupWindowSeconds"] = *group_window_seconds;
  if (channels) j["channels"] = *channels;
  return j;
}

absl::Status AlarmRule::Validate(std::string_view field) const {
  if (running_longer_than_seconds && (*running_longer_than_seconds < 0 ||
                                      *running_longer_than_seconds > kMaxAlarmRunningSeconds)) {
    return FieldError(Name(field, "runningLongerThanSeconds"),
                      fmt::format("must be between 0 (off) and {}", kMaxAlarmRunningSeconds));
  }
  if (group_window_seconds &&
      (*group_window_seconds < 0 || *group_window_seconds > kMaxAlarmWindowSeconds)) {
    return FieldError(Name(field, "groupWindowSeconds"),
                      fmt::format("must be between 0 and {}", kMaxAlarmWindowSeconds));
  }
  if (channels) {
    if (channels->size() > kMaxAlarmChannels) {
      return FieldError(Name(field, "channels"),
                        fmt::format("more than {} channels", kMaxAlarmChannels));
    }
    for (const std::string& id : *channels) {
      const absl::Status s = ValidateKeyName(Name(field, "channels"), id);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

AlarmRule AlarmRule::Merge(const AlarmRule& fallback) const {
  AlarmRule out = *this;
  for (const BoolField& b : kBools) {
    if (!(out.*b.member).has_value()) out.*b.member = fallback.*b.member;
  }
  if (!out.running_longer_than_seconds) {
    out.running_longer_than_seconds = fallback.running_longer_than_seconds;
  }
  if (!out.group_window_seconds) out.group_window_seconds = fallback.group_window_seconds;
  if (!out.channels) out.channels = fallback.channels;
  return out;
}

bool AlarmRule::empty() const { return *this == AlarmRule{}; }

}  // namespace forest::model
