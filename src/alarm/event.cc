#include "alarm/event.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "alarm/signing.h"
#include "common/time_zone.h"

namespace forest::alarm {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<Kind, std::string_view>, 10> kKinds{{
    {Kind::kFailed, "failed"},
    {Kind::kTimedOut, "timed_out"},
    {Kind::kUnknown, "unknown"},
    {Kind::kNoWorker, "no_worker"},
    {Kind::kMisfire, "misfire"},
    {Kind::kLongRunning, "long_running"},
    {Kind::kRecovered, "recovered"},
    {Kind::kGroupEmpty, "group_empty"},
    {Kind::kLeaderChanged, "leader_changed"},
    {Kind::kTest, "test"},
}};

std::string TimeText(const std::optional<Time>& t) {
  return t ? FormatRfc3339Millis(*t) : std::string();
}

std::string WindowText(int64_t seconds) {
  if (seconds > 0 && seconds % 3600 == 0) return fmt::format("{} h", seconds / 3600);
  if (seconds > 0 && seconds % 60 == 0) return fmt::format("{} min", seconds / 60);
  return fmt::format("{} s", seconds);
}

std::string JobName(const Event& e) { return e.job_name.empty() ? e.job_id : e.job_name; }

std::optional<Time> OptionalTime(const json& j, const char* field) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto t = ParseIso8601(it->get<std::string>(), TimeZone::Utc());
  if (!t.ok()) return std::nullopt;
  return *t;
}

}  // namespace

std::string_view Name(Kind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<Kind> ParseKind(std::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string Event::Title() const {
  const std::string job = JobName(*this);
  if (count > 1) {
    const std::string window = WindowText(window_seconds);
    switch (kind) {
      case Kind::kFailed:
        return fmt::format("Job {} failed {} more times in {}", job, count, window);
      case Kind::kTimedOut:
        return fmt::format("Job {} timed out {} more times in {}", job, count, window);
      case Kind::kUnknown:
        return fmt::format("Job {} lost its worker {} more times in {}", job, count, window);
      case Kind::kNoWorker:
        return fmt::format("Job {} found no worker {} more times in {}", job, count, window);
      case Kind::kMisfire:
        return fmt::format("Job {} missed its schedule {} more times in {}", job, count, window);
      case Kind::kLongRunning:
        return fmt::format("{} more runs of job {} ran too long in {}", count, job, window);
      default:
        return fmt::format("{} more {} events in {}", count, Name(kind), window);
    }
  }
  switch (kind) {
    case Kind::kFailed:
      return worker.empty() ? fmt::format("Job {} failed", job)
                            : fmt::format("Job {} failed on {}", job, worker);
    case Kind::kTimedOut:
      return worker.empty() ? fmt::format("Job {} timed out", job)
                            : fmt::format("Job {} timed out on {}", job, worker);
    case Kind::kUnknown:
      return fmt::format("Job {} ended unknown: worker {} was lost", job, worker);
    case Kind::kNoWorker:
      return fmt::format("Job {}: no live worker in group {}", job, group);
    case Kind::kMisfire:
      return fmt::format("Job {} missed scheduled times beyond the misfire threshold", job);
    case Kind::kLongRunning:
      return fmt::format("Job {} is still running on {}", job, worker);
    case Kind::kRecovered:
      return fmt::format("Job {} recovered", job);
    case Kind::kGroupEmpty:
      return fmt::format("Group {} has no live worker", group);
    case Kind::kLeaderChanged:
      return fmt::format("Node {} is the leader now", node);
    case Kind::kTest:
      return "Test message from Forest";
  }
  return "Forest alarm";
}

std::string Event::Text() const {
  std::string out = "[Forest] " + Title();
  const auto line = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) out += fmt::format("\n{}: {}", name, value);
  };
  if (!job_id.empty()) {
    line("Job", job_name.empty() || job_name == job_id ? job_id
                                                       : fmt::format("{} ({})", job_name, job_id));
  }
  line("Group", group);
  line("Execution", execution_id);
  line("Worker", worker);
  line("Status", status);
  line("Scheduled", TimeText(scheduled_at));
  line("Started", TimeText(started_at));
  line("Finished", TimeText(finished_at));
  line("Result", result);
  if (count > 1) {
    line("Events", fmt::format("{} between {} and {}", count, FormatRfc3339Millis(first_at),
                               FormatRfc3339Millis(last_at)));
  } else {
    line("At", FormatRfc3339Millis(at));
  }
  line("Leader", node);
  line("Link", link);
  return out;
}

std::map<std::string, std::string> Event::Variables() const {
  return {{"kind", std::string(Name(kind))},
          {"title", Title()},
          {"text", Text()},
          {"jobId", job_id},
          {"jobName", job_name},
          {"group", group},
          {"executionId", execution_id},
          {"worker", worker},
          {"node", node},
          {"status", status},
          {"result", result},
          {"mobile", mobile},
          {"scheduledAt", TimeText(scheduled_at)},
          {"startedAt", TimeText(started_at)},
          {"finishedAt", TimeText(finished_at)},
          {"at", FormatRfc3339Millis(at)},
          {"count", std::to_string(count)},
          {"firstAt", FormatRfc3339Millis(first_at)},
          {"lastAt", FormatRfc3339Millis(last_at)},
          {"link", link}};
}

json Event::ToJson() const {
  json j{{"kind", std::string(Name(kind))},
         {"key", key},
         {"jobId", job_id},
         {"jobName", job_name},
         {"group", group},
         {"executionId", execution_id},
         {"worker", worker},
         {"node", node},
         {"status", status},
         {"result", result},
         {"mobile", mobile},
         {"at", FormatRfc3339Millis(at)},
         {"count", count},
         {"firstAt", FormatRfc3339Millis(first_at)},
         {"lastAt", FormatRfc3339Millis(last_at)},
         {"windowSeconds", window_seconds},
         {"link", link}};
  if (scheduled_at) j["scheduledAt"] = FormatRfc3339Millis(*scheduled_at);
  if (started_at) j["startedAt"] = FormatRfc3339Millis(*started_at);
  if (finished_at) j["finishedAt"] = FormatRfc3339Millis(*finished_at);
  return j;
}

absl::StatusOr<Event> Event::FromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("an alarm's facts are not a JSON object");
  }
  const auto str = [&](const char* field) {
    const auto it = j.find(field);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Event e;
  const auto kind = ParseKind(str("kind"));
  if (!kind) return absl::InvalidArgumentError("an alarm's facts name no known kind");
  e.kind = *kind;
  e.key = str("key");
  e.job_id = str("jobId");
  e.job_name = str("jobName");
  e.group = str("group");
  e.execution_id = str("executionId");
  e.worker = str("worker");
  e.node = str("node");
  e.status = str("status");
  e.result = str("result");
  e.mobile = str("mobile");
  e.link = str("link");
  e.scheduled_at = OptionalTime(j, "scheduledAt");
  e.started_at = OptionalTime(j, "startedAt");
  e.finished_at = OptionalTime(j, "finishedAt");
  e.at = OptionalTime(j, "at").value_or(Time{});
  e.first_at = OptionalTime(j, "firstAt").value_or(e.at);
  e.last_at = OptionalTime(j, "lastAt").value_or(e.at);
  if (const auto it = j.find("count"); it != j.end() && it->is_number_integer()) {
    e.count = it->get<int64_t>();
  }
  if (const auto it = j.find("windowSeconds"); it != j.end() && it->is_number_integer()) {
    e.window_seconds = it->get<int64_t>();
  }
  return e;
}

std::string AlarmId(std::string_view event_key) { return Sha256Hex(event_key).substr(0, 32); }

}  // namespace forest::alarm
