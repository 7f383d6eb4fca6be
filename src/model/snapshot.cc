#include "model/snapshot.h"

#include <fmt/format.h>

#include <chrono>
#include <limits>

#include "common/check.h"
#include "model/job.h"
#include "model/json_internal.h"

namespace forest::model {
namespace {

using internal::EnumNames;
using internal::ParseObject;
using internal::Reader;
using nlohmann::json;

constexpr EnumNames<Trigger, 5> kTriggers{{{{Trigger::kCron, "cron"},
                                            {Trigger::kManual, "manual"},
                                            {Trigger::kRetry, "retry"},
                                            {Trigger::kFailover, "failover"},
                                            {Trigger::kApi, "api"}}}};

constexpr size_t kTimestampDigits = 17;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads the `n` digits at `s[pos]`; false when one is not a digit.
bool FixedDigits(std::string_view s, size_t pos, size_t n, int& out) {
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (i >= s.size() || !IsDigit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// The inverse of TimestampDigits: a real calendar time or nullopt.
std::optional<Time> ParseTimestampDigits(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (s.size() != kTimestampDigits || !FixedDigits(s, 0, 4, year) || !FixedDigits(s, 4, 2, month) ||
      !FixedDigits(s, 6, 2, day) || !FixedDigits(s, 8, 2, hour) || !FixedDigits(s, 10, 2, minute) ||
      !FixedDigits(s, 12, 2, second) || !FixedDigits(s, 14, 3, millis)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(unsigned(month)),
                                        std::chrono::day(unsigned(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  return Time(std::chrono::sys_days(ymd)) + std::chrono::hours(hour) +
         std::chrono::minutes(minute) + std::chrono::seconds(second) + Millis(millis);
}

// A decimal number without sign or leading zeros ("0" itself is fine), as
// SnapshotId writes attempts and shards; it ends at the first non-digit,
// which `pos` is left at.
std::optional<int> CanonicalNumber(std::string_view s, size_t& pos) {
  const size_t start = pos;
  int64_t v = 0;
  while (pos < s.size() && IsDigit(s[pos])) {
    v = v * 10 + (s[pos] - '0');
    if (v > std::numeric_limits<int>::max()) return std::nullopt;
    ++pos;
  }
  if (pos == start) return std::nullopt;
  if (s[start] == '0' && pos - start > 1) return std::nullopt;
  return static_cast<int>(v);
}

absl::Status ReadAssignment(Reader& r, Assignment& a) {
  RETURN_IF_ERROR(r.String("id", a.id));
  RETURN_IF_ERROR(r.String("jobId", a.job_id));
  RETURN_IF_ERROR(r.String("name", a.name));
  RETURN_IF_ERROR(r.String("ip", a.ip));
  RETURN_IF_ERROR(r.String("group", a.group));
  RETURN_IF_ERROR(r.String("cron", a.cron));
  RETURN_IF_ERROR(r.String("target", a.target));
  RETURN_IF_ERROR(r.String("params", a.params));
  RETURN_IF_ERROR(r.String("mobile", a.mobile));
  RETURN_IF_ERROR(r.String("remark", a.remark));
  RETURN_IF_ERROR(r.String("createTime", a.create_time));

  RETURN_IF_ERROR(r.Time("scheduledTime", a.scheduled_time));
  RETURN_IF_ERROR(r.Enum("trigger", kTriggers, a.trigger));
  RETURN_IF_ERROR(r.Int("attempt", a.attempt));
  if (a.attempt < 1) return FieldError("attempt", "must be at least 1");
  RETURN_IF_ERROR(r.Int("shardTotal", a.shard_total));
  if (a.shard_total < 1) return FieldError("shardTotal", "must be at least 1");
  RETURN_IF_ERROR(r.Int("shardIndex", a.shard_index));
  if (a.shard_index < 0 || a.shard_index >= a.shard_total) {
    return FieldError("shardIndex", fmt::format("{} is not between 0 and shardTotal - 1 ({})",
                                                a.shard_index, a.shard_total - 1));
  }
  RETURN_IF_ERROR(r.Int("timeoutSeconds", a.timeout_seconds));
  if (a.timeout_seconds < 0) return FieldError("timeoutSeconds", "must not be negative");
  return absl::OkStatus();
}

json WriteAssignment(const Assignment& a) {
  json j = a.extra.is_object() ? a.extra : json::object();
  j["id"] = a.id;
  j["jobId"] = a.job_id;
  j["name"] = a.name;
  j["ip"] = a.ip;
  j["group"] = a.group;
  j["cron"] = a.cron;
  j["target"] = a.target;
  j["params"] = a.params;
  j["mobile"] = a.mobile;
  j["remark"] = a.remark;
  j["createTime"] = a.create_time;

  if (a.scheduled_time) {
    j["scheduledTime"] = FormatRfc3339Millis(*a.scheduled_time);
  } else {
    j.erase("scheduledTime");
  }
  j["trigger"] = std::string(Name(a.trigger));
  j["attempt"] = a.attempt;
  j["shardIndex"] = a.shard_index;
  j["shardTotal"] = a.shard_total;
  j["timeoutSeconds"] = a.timeout_seconds;
  return j;
}

// An integer field that may be absent: `out` stays nullopt then.
template <typename T>
absl::Status OptionalInt(Reader& r, const json& object, const char* field, std::optional<T>& out) {
  const auto it = object.find(field);
  const bool present = it != object.end() && !it->is_null();
  T v = 0;
  RETURN_IF_ERROR(r.Int(field, v));
  if (present) out = v;
  return absl::OkStatus();
}

}  // namespace

std::string_view Name(Trigger t) { return kTriggers.Name(t); }

absl::StatusOr<Trigger> ParseTrigger(std::string_view name) {
  const std::optional<Trigger> t = kTriggers.Parse(name);
  if (!t) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a trigger (one of {})", name, kTriggers.List()));
  }
  return *t;
}

std::string FormatLegacyTime(Time t, const TimeZone& zone) {
  const LocalSeconds local = zone.ToLocal(std::chrono::floor<std::chrono::seconds>(t));
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<std::chrono::seconds> tod{local - day};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), tod.hours().count(), tod.minutes().count(),
                     tod.seconds().count());
}

std::string TimestampDigits(Time t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  FOREST_CHECK(int(ymd.year()) >= 0 && int(ymd.year()) <= 9999);
  const std::chrono::hh_mm_ss<Millis> tod{t - day};
  return fmt::format("{:04}{:02}{:02}{:02}{:02}{:02}{:03}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), tod.hours().count(), tod.minutes().count(),
                     tod.seconds().count(), tod.subseconds().count());
}

std::string SnapshotId(const RunKey& key) {
  FOREST_CHECK(key.attempt >= 1 && key.shard_index >= 0 && !key.job_id.empty());
  const std::string digits = TimestampDigits(key.scheduled);
  if (!key.manual && key.attempt == 1 && key.shard_index == 0) {
    return fmt::format("{}-{}", digits, key.job_id);
  }
  return fmt::format("{}{}{}.{}-{}", digits, key.manual ? 'm' : 'c', key.attempt, key.shard_index,
                     key.job_id);
}

absl::StatusOr<RunKey> ParseSnapshotId(std::string_view id) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a Forest snapshot id: {} (expected e.g. "
                    "20260101000030000-job1 or 20260101000030000c2.0-job1)",
                    id, why));
  };
  if (id.size() < kTimestampDigits) return bad("too short");
  const std::optional<Time> scheduled = ParseTimestampDigits(id.substr(0, kTimestampDigits));
  if (!scheduled) return bad("it does not start with a UTC time yyyyMMddHHmmssSSS");
  RunKey key;
  key.scheduled = *scheduled;
  size_t pos = kTimestampDigits;
  if (pos < id.size() && (id[pos] == 'c' || id[pos] == 'm')) {
    key.manual = id[pos] == 'm';
    ++pos;
    const std::optional<int> attempt = CanonicalNumber(id, pos);
    if (!attempt || *attempt < 1) return bad("the attempt is not a number from 1");
    if (pos >= id.size() || id[pos] != '.') return bad("no '.' after the attempt");
    ++pos;
    const std::optional<int> shard = CanonicalNumber(id, pos);
    if (!shard) return bad("the shard is not a number");
    key.attempt = *attempt;
    key.shard_index = *shard;
    // The short form is the only spelling of a cron fire's first attempt.
    if (!key.manual && key.attempt == 1 && key.shard_index == 0) {
      return bad("'c1.0' is written as the short form");
    }
  }
  if (pos >= id.size() || id[pos] != '-') return bad("no '-' before the job id");
  key.job_id = std::string(id.substr(pos + 1));
  if (key.job_id.empty()) return bad("the job id is empty");
  return key;
}

// --- Assignment ----------------------------------------------------------------

absl::StatusOr<Assignment> Assignment::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text));
  Assignment a;
  Reader r(j);
  RETURN_IF_ERROR(ReadAssignment(r, a));
  a.extra = r.Rest();
  return a;
}

std::string Assignment::ToJson() const { return internal::Dump(WriteAssignment(*this)); }

// --- ExecutionRecord -----------------------------------------------------------

absl::StatusOr<ExecutionRecord> ExecutionRecord::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text));
  ExecutionRecord rec;
  Reader r(j);
  RETURN_IF_ERROR(ReadAssignment(r, rec.run));
  RETURN_IF_ERROR(r.String("startTime", rec.start_time));
  RETURN_IF_ERROR(r.String("finishTime", rec.finish_time));
  RETURN_IF_ERROR(r.Int("times", rec.times));
  int64_t status = static_cast<int64_t>(RunStatus::kRunning);
  RETURN_IF_ERROR(r.Int("status", status));
  if (status != 1 && status != 2 && status != 3 && status != -1) {
    return FieldError("status", fmt::format("{} is not 1 (running), 2 (success), 3 (unknown) or "
                                            "-1 (error)",
                                            status));
  }
  rec.status = static_cast<RunStatus>(status);
  RETURN_IF_ERROR(r.String("result", rec.result));

  RETURN_IF_ERROR(OptionalInt(r, j, "durationMs", rec.duration_ms));
  RETURN_IF_ERROR(OptionalInt(r, j, "exitCode", rec.exit_code));
  RETURN_IF_ERROR(r.String("output", rec.output));
  RETURN_IF_ERROR(r.Time("startedAt", rec.started_at));
  rec.run.extra = r.Rest();
  return rec;
}

std::string ExecutionRecord::ToJson() const {
  json j = WriteAssignment(run);
  j["startTime"] = start_time;
  j["finishTime"] = finish_time;
  j["times"] = times;
  j["status"] = static_cast<int>(status);
  j["result"] = result;

  const auto optional = [&](const char* field, const auto& v) {
    if (v) {
      j[field] = *v;
    } else {
      j.erase(field);
    }
  };
  optional("durationMs", duration_ms);
  optional("exitCode", exit_code);
  j["output"] = output;
  if (started_at) {
    j["startedAt"] = FormatRfc3339Millis(*started_at);
  } else {
    j.erase("startedAt");
  }
  return internal::Dump(j);
}

}  // namespace forest::model
