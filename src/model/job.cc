#include "model/job.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "absl/strings/cord.h"
#include "common/time_zone.h"
#include "model/json_internal.h"

namespace forest::model {
namespace {

using nlohmann::json;
using internal::CheckText;
using internal::EnumNames;
using internal::ParseObject;
using internal::Reader;

constexpr std::string_view kFieldPayload = "forest.dev/field";

constexpr EnumNames<Routing, 6> kRoutings{{{{Routing::kRandom, "random"},
                                            {Routing::kRoundRobin, "round_robin"},
                                            {Routing::kLeastBusy, "least_busy"},
                                            {Routing::kConsistentHash, "consistent_hash"},
                                            {Routing::kBroadcast, "broadcast"},
                                            {Routing::kShard, "shard"}}}};
constexpr EnumNames<Concurrency, 3> kConcurrencies{{{{Concurrency::kAllow, "allow"},
                                                     {Concurrency::kForbid, "forbid"},
                                                     {Concurrency::kReplace, "replace"}}}};
constexpr EnumNames<Misfire, 3> kMisfires{{{{Misfire::kFireOnce, "fire_once"},
                                            {Misfire::kFireAll, "fire_all"},
                                            {Misfire::kSkip, "skip"}}}};

}  // namespace

absl::Status FieldError(std::string_view field, std::string_view message) {
  absl::Status s = absl::InvalidArgumentError(fmt::format("{}: {}", field, message));
  s.SetPayload(std::string(kFieldPayload), absl::Cord(std::string(field)));
  return s;
}

std::string ErrorField(const absl::Status& status) {
  const auto field = status.GetPayload(std::string(kFieldPayload));
  return field ? std::string(*field) : std::string();
}

std::string_view Name(Routing r) { return kRoutings.Name(r); }
std::string_view Name(Concurrency c) { return kConcurrencies.Name(c); }
std::string_view Name(Misfire m) { return kMisfires.Name(m); }

absl::Status ValidateKeyName(std::string_view field, std::string_view value) {
  if (value.empty()) return FieldError(field, "must not be empty");
  if (value.size() > 128) return FieldError(field, "longer than 128 bytes");
  if (value == "." || value == "..") return FieldError(field, "must not be '.' or '..'");
  for (unsigned char c : value) {
    if (c == '/') return FieldError(field, "must not contain '/'");
    if (c <= 0x20 || c == 0x7f)
      return FieldError(field, "must not contain spaces or control characters");
  }
  return absl::OkStatus();
}

// --- Group -------------------------------------------------------------------

absl::StatusOr<Group> Group::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text));
  Group g;
  Reader r(j);
  RETURN_IF_ERROR(r.String("name", g.name));
  RETURN_IF_ERROR(r.String("remark", g.remark));
  g.extra = r.Rest();
  return g;
}

std::string Group::ToJson() const {
  json j = extra.is_object() ? extra : json::object();
  j["name"] = name;
  j["remark"] = remark;
  return internal::Dump(j);
}

absl::Status Group::Validate() const {
  RETURN_IF_ERROR(ValidateKeyName("name", name));
  return CheckText("remark", remark, 1024);
}

// --- Job ---------------------------------------------------------------------

absl::StatusOr<Job> Job::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text));
  Job job;
  Reader r(j);
  RETURN_IF_ERROR(r.String("id", job.id));
  RETURN_IF_ERROR(r.String("name", job.name));
  RETURN_IF_ERROR(r.String("group", job.group));
  RETURN_IF_ERROR(r.String("cron", job.cron));
  int64_t status = static_cast<int64_t>(JobStatus::kEnabled);
  RETURN_IF_ERROR(r.Int("status", status));
  if (status != 1 && status != 2) {
    return FieldError("status", fmt::format("{} is not 1 (enabled) or 2 (stopped)", status));
  }
  job.status = static_cast<JobStatus>(status);
  RETURN_IF_ERROR(r.String("target", job.target));
  RETURN_IF_ERROR(r.String("params", job.params));
  RETURN_IF_ERROR(r.String("mobile", job.mobile));
  RETURN_IF_ERROR(r.String("remark", job.remark));
  RETURN_IF_ERROR(r.Int("version", job.version));

  RETURN_IF_ERROR(r.String("timezone", job.timezone));
  std::string dialect;
  RETURN_IF_ERROR(r.String("cronDialect", dialect));
  if (!dialect.empty()) {
    auto d = cron::ParseDialect(dialect);
    if (!d.ok()) return FieldError("cronDialect", std::string(d.status().message()));
    job.cron_dialect = *d;
  }
  RETURN_IF_ERROR(r.Enum("routing", kRoutings, job.routing));
  RETURN_IF_ERROR(r.Int("timeoutSeconds", job.timeout_seconds));
  RETURN_IF_ERROR(r.Object("retry", [&](Reader& retry) -> absl::Status {
    RETURN_IF_ERROR(retry.Int("maxAttempts", job.retry.max_attempts));
    RETURN_IF_ERROR(retry.Int("backoffSeconds", job.retry.backoff_seconds));
    return retry.Double("factor", job.retry.factor);
  }));
  RETURN_IF_ERROR(r.Enum("concurrency", kConcurrencies, job.concurrency));
  RETURN_IF_ERROR(r.Enum("misfire", kMisfires, job.misfire));
  RETURN_IF_ERROR(r.Time("startAt", job.start_at));
  RETURN_IF_ERROR(r.Time("endAt", job.end_at));
  RETURN_IF_ERROR(r.String("description", job.description));
  RETURN_IF_ERROR(r.String("owner", job.owner));
  RETURN_IF_ERROR(r.Strings("tags", job.tags));
  RETURN_IF_ERROR(r.Time("createdAt", job.created_at));
  RETURN_IF_ERROR(r.Time("updatedAt", job.updated_at));
  RETURN_IF_ERROR(r.String("createdBy", job.created_by));
  RETURN_IF_ERROR(r.String("updatedBy", job.updated_by));
  std::optional<json> alarm;
  RETURN_IF_ERROR(r.Raw("alarm", alarm));
  if (alarm) {
    ASSIGN_OR_RETURN(job.alarm, AlarmRule::FromJson(*alarm, "alarm"));
  }
  job.extra = r.Rest();
  return job;
}

std::string Job::ToJson() const {
  json j = extra.is_object() ? extra : json::object();
  j["id"] = id;
  j["name"] = name;
  j["group"] = group;
  j["cron"] = cron;
  j["status"] = static_cast<int>(status);
  j["target"] = target;
  j["params"] = params;
  j["mobile"] = mobile;
  j["remark"] = remark;
  j["version"] = version;

  j["timezone"] = timezone;
  j["cronDialect"] = std::string(cron::DialectName(cron_dialect));
  j["routing"] = std::string(Name(routing));
  j["timeoutSeconds"] = timeout_seconds;
  json retry_json = j.contains("retry") && j["retry"].is_object() ? j["retry"] : json::object();
  retry_json["maxAttempts"] = retry.max_attempts;
  retry_json["backoffSeconds"] = retry.backoff_seconds;
  retry_json["factor"] = retry.factor;
  j["retry"] = retry_json;
  j["concurrency"] = std::string(Name(concurrency));
  j["misfire"] = std::string(Name(misfire));
  const auto time = [&](const char* field, const std::optional<Time>& t) {
    if (t) {
      j[field] = FormatRfc3339Millis(*t);
    } else {
      j.erase(field);
    }
  };
  time("startAt", start_at);
  time("endAt", end_at);
  j["description"] = description;
  j["owner"] = owner;
  j["tags"] = tags;
  time("createdAt", created_at);
  time("updatedAt", updated_at);
  j["createdBy"] = created_by;
  j["updatedBy"] = updated_by;
  if (alarm) {
    j["alarm"] = alarm->ToJson();
  } else {
    j.erase("alarm");
  }
  return internal::Dump(j);
}

absl::StatusOr<cron::Schedule> Job::Schedule() const {
  cron::ParseOptions options;
  options.dialect = cron_dialect;
  if (!timezone.empty()) {
    auto zone = TimeZone::Load(timezone);
    if (!zone.ok()) return FieldError("timezone", std::string(zone.status().message()));
    options.zone = *zone;
  }
  auto schedule = cron::Schedule::Parse(cron, options);
  if (!schedule.ok()) return FieldError("cron", std::string(schedule.status().message()));
  return schedule;
}

absl::Status Job::Validate() const {
  RETURN_IF_ERROR(ValidateKeyName("id", id));
  if (name.empty()) return FieldError("name", "must not be empty");
  RETURN_IF_ERROR(CheckText("name", name, 128));
  RETURN_IF_ERROR(ValidateKeyName("group", group));
  if (cron.empty()) return FieldError("cron", "must not be empty");
  if (target.empty()) return FieldError("target", "must not be empty");
  RETURN_IF_ERROR(CheckText("target", target, 4096));
  if (params.size() > 65536) return FieldError("params", "longer than 65536 bytes");
  RETURN_IF_ERROR(CheckText("mobile", mobile, 64));
  RETURN_IF_ERROR(CheckText("remark", remark, 1024));
  if (version < 0) return FieldError("version", "must not be negative");
  ASSIGN_OR_RETURN(const cron::Schedule schedule, Schedule());
  if (!schedule.can_fire()) return FieldError("cron", "the expression never fires");
  if (timeout_seconds < 0) return FieldError("timeoutSeconds", "must not be negative");
  if (retry.max_attempts < 1 || retry.max_attempts > 100) {
    return FieldError("retry.maxAttempts", "must be between 1 and 100");
  }
  if (retry.backoff_seconds < 0 || retry.backoff_seconds > 86400) {
    return FieldError("retry.backoffSeconds", "must be between 0 and 86400");
  }
  if (!(retry.factor >= 1.0 && retry.factor <= 10.0)) {
    return FieldError("retry.factor", "must be between 1 and 10");
  }
  if (start_at && end_at && *end_at <= *start_at) {
    return FieldError("endAt", "must be after startAt");
  }
  RETURN_IF_ERROR(CheckText("description", description, 4096));
  RETURN_IF_ERROR(CheckText("owner", owner, 128));
  if (tags.size() > 32) return FieldError("tags", "more than 32 tags");
  for (const std::string& tag : tags) {
    if (tag.empty()) return FieldError("tags", "a tag must not be empty");
    RETURN_IF_ERROR(CheckText("tags", tag, 64));
  }
  if (alarm) RETURN_IF_ERROR(alarm->Validate("alarm"));
  return absl::OkStatus();
}

}  // namespace forest::model
