// REST v1: executions and statistics (history/history.h), and killing a
// running execution through the coordination store (the worker watches
// /forest/client/kill/{group}/{worker}/ and stops the run; worker/worker.h).
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/api.h"
#include "api/errors.h"
#include "common/strings.h"
#include "common/time_zone.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::api {
namespace {

using nlohmann::json;
namespace keys = model::keys;

// Times the kill's compare-and-set is tried when the record keeps changing.
constexpr int kKillAttempts = 3;

absl::Status NoHistory() {
  return absl::UnavailableError("this node has no execution history configured");
}

json OptionalJson(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json OptionalJson(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// The record as the worker wrote it (the original's fields and ours), plus
// where it came from.
json ExecutionJson(const history::Execution& e, bool with_output) {
  json j = json::parse(e.record.ToJson());
  if (!with_output) j.erase("output");
  j["worker"] = e.worker;
  j["leaderNode"] = e.leader_node;
  return j;
}

absl::StatusOr<model::RunStatus> ParseStatus(std::string_view text) {
  if (text == "1" || text == "running") return model::RunStatus::kRunning;
  if (text == "2" || text == "success") return model::RunStatus::kSuccess;
  if (text == "3" || text == "unknown") return model::RunStatus::kUnknown;
  if (text == "-1" || text == "error") return model::RunStatus::kError;
  return FieldError(
      "status",
      fmt::format("\"{}\" is not 1 (running), 2 (success), 3 (unknown) or -1 (error)", text));
}

absl::StatusOr<history::Query> ExecutionQuery(const Request& r) {
  history::Query q;
  q.id = r.Query("id").value_or("");
  q.job_id = r.Query("jobId").value_or("");
  q.job_name = r.Query("name").value_or("");
  q.group = r.Query("group").value_or("");
  q.worker = r.Query("worker").value_or("");
  if (const auto status = r.Query("status"); status && !status->empty()) {
    ASSIGN_OR_RETURN(q.status, ParseStatus(*status));
  }
  if (const auto trigger = r.Query("trigger"); trigger && !trigger->empty()) {
    auto t = model::ParseTrigger(*trigger);
    if (!t.ok()) return FieldError("trigger", std::string(t.status().message()));
    q.trigger = *t;
  }
  ASSIGN_OR_RETURN(q.from, TimeQuery(r, "from", TimeZone::Utc()));
  ASSIGN_OR_RETURN(q.to, TimeQuery(r, "to", TimeZone::Utc()));
  if (q.from && q.to && *q.to <= *q.from) return FieldError("to", "must be after from");
  ASSIGN_OR_RETURN(const int64_t page, QueryInt(r, "page", 1, 1, 1000000));
  ASSIGN_OR_RETURN(const int64_t size, QueryInt(r, "pageSize", 20, 1, 1000));
  q.page_no = static_cast<int>(page);
  q.page_size = static_cast<int>(size);
  return q;
}

absl::StatusOr<json> ListExecutions(history::HistoryStore& history, const Request& r) {
  ASSIGN_OR_RETURN(const history::Query q, ExecutionQuery(r));
  ASSIGN_OR_RETURN(const history::Page page, history.List(q));
  json items = json::array();
  for (const history::Execution& e : page.rows) items.push_back(ExecutionJson(e, false));
  return json{{"items", items},
              {"total", page.total_count},
              {"totalPages", page.total_pages},
              {"page", q.page_no},
              {"pageSize", q.page_size}};
}

// --- kill ----------------------------------------------------------------------

struct Killed {
  std::string group;
  std::string worker;
};

// The keys of the records of run `id` (one per worker, normally one).
absl::StatusOr<std::vector<std::string>> RecordKeys(coord::Store& store, const std::string& id) {
  coord::RangeRequest request = coord::RangeRequest::Prefix(keys::kExecutePrefix);
  request.keys_only = true;
  ASSIGN_OR_RETURN(const coord::RangeResponse response, store.Range(request));
  std::vector<std::string> found;
  for (const coord::KeyValue& kv : response.kvs) {
    const auto parsed = keys::Parse(kv.key);
    if (parsed && parsed->kind == keys::Parsed::Kind::kExecute && parsed->c == id) {
      found.push_back(kv.key);
    }
  }
  return found;
}

absl::Status NotRunning(const std::string& id, model::RunStatus status) {
  return absl::FailedPreconditionError(
      fmt::format("execution \"{}\" is not running (status {})", id, static_cast<int>(status)));
}

// Writes the kill key the worker of run `id` watches, if the run is still
// running: the put is conditional on the record being unchanged since read.
absl::StatusOr<Killed> Kill(coord::Store& store, history::HistoryStore* history, Clock& clock,
                            const std::string& id, const std::string& reason,
                            const std::string& user) {
  for (int attempt = 0; attempt < kKillAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const std::vector<std::string> record_keys, RecordKeys(store, id));
    if (record_keys.empty()) {
      // Collected already (final records leave the store) or never started.
      if (history != nullptr) {
        if (auto stored = history->Get(id); stored.ok()) {
          return NotRunning(id, stored->record.status);
        }
      }
      return absl::NotFoundError(fmt::format("no execution \"{}\" is in the store", id));
    }
    std::optional<coord::KeyValue> running;
    std::optional<model::RunStatus> other;
    absl::Status unreadable;
    for (const std::string& key : record_keys) {
      ASSIGN_OR_RETURN(const coord::RangeResponse read,
                       store.Range(coord::RangeRequest::Single(key)));
      if (read.kvs.empty()) continue;  // collected meanwhile
      auto record = model::ExecutionRecord::FromJson(read.kvs[0].value);
      if (!record.ok()) {
        unreadable = record.status();
        continue;
      }
      if (record->status == model::RunStatus::kRunning) {
        running = read.kvs[0];
        break;
      }
      other = record->status;
    }
    if (!running) {
      if (other) return NotRunning(id, *other);
      if (!unreadable.ok()) {
        return absl::FailedPreconditionError(
            fmt::format("the record of execution \"{}\" does not parse ({}); it cannot be killed",
                        id, std::string(unreadable.message())));
      }
      continue;  // collected meanwhile: look again
    }
    const auto parsed = keys::Parse(running->key);
    Killed killed{std::string(parsed->a), std::string(parsed->b)};
    // The worker reads "reason" (its result becomes "killed: <reason>");
    // the rest is for people reading the store.
    json value{{"reason", reason}, {"at", FormatRfc3339Millis(clock.Now())}};
    if (!user.empty()) value["by"] = user;
    coord::TxnRequest txn;
    txn.compare.push_back(coord::Compare::ModRevision(running->key, coord::Compare::Result::kEqual,
                                                      running->mod_revision));
    coord::PutRequest put;
    put.key = keys::Kill(killed.group, killed.worker, id);
    put.value = value.dump();
    txn.success.push_back(std::move(put));
    ASSIGN_OR_RETURN(const coord::TxnResponse response, store.Txn(txn));
    if (response.succeeded) return killed;
    // The record changed (finished, most likely): decide again.
  }
  return absl::AbortedError(
      fmt::format("execution \"{}\" kept changing while it was being killed; try again", id));
}

absl::StatusOr<std::string> KillReason(const Request& r) {
  std::string reason = "killed through the API";
  if (r.caller && !r.caller->user.empty()) reason += " by " + r.caller->user;
  if (Trim(r.body).empty()) return reason;
  ASSIGN_OR_RETURN(const json body, ParseJsonObject(r.body));
  if (body.contains("reason")) {
    if (!body["reason"].is_string()) return FieldError("reason", "must be a string");
    const std::string given = body["reason"].get<std::string>();
    if (given.size() > 1024) return FieldError("reason", "longer than 1024 bytes");
    if (!given.empty()) reason = given;
  }
  return reason;
}

// --- statistics ------------------------------------------------------------------

json StatsRowJson(const history::StatsRow& row) {
  return json{{"key", row.key},
              {"jobName", row.job_name},
              {"group", row.group},
              {"total", row.total},
              {"running", row.running},
              {"success", row.success},
              {"error", row.error},
              {"unknown", row.unknown},
              {"successRate", OptionalJson(row.success_rate)},
              {"durationP50Ms", OptionalJson(row.duration_p50_ms)},
              {"durationP95Ms", OptionalJson(row.duration_p95_ms)},
              {"durationMaxMs", OptionalJson(row.duration_max_ms)},
              {"lagP50Ms", OptionalJson(row.lag_p50_ms)},
              {"lagP95Ms", OptionalJson(row.lag_p95_ms)}};
}

absl::StatusOr<json> Statistics(history::HistoryStore& history, const Request& r, Time now) {
  history::StatsQuery q;
  const std::string by = r.Query("by").value_or("job");
  if (by == "job" || by.empty()) {
    q.by = history::StatsBy::kJob;
  } else if (by == "group") {
    q.by = history::StatsBy::kGroup;
  } else if (by == "day") {
    q.by = history::StatsBy::kDay;
  } else {
    return FieldError("by", fmt::format("\"{}\" is not job, group or day", by));
  }
  if (const auto zone = r.Query("zone"); zone && !zone->empty()) {
    auto z = TimeZone::Load(*zone);
    if (!z.ok()) return FieldError("zone", std::string(z.status().message()));
    q.zone = *z;
  }
  // Days start at midnight in the zone, so a bare date is read there too.
  ASSIGN_OR_RETURN(const std::optional<Time> to, TimeQuery(r, "to", q.zone));
  ASSIGN_OR_RETURN(const std::optional<Time> from, TimeQuery(r, "from", q.zone));
  q.to = to.value_or(now);
  q.from = from.value_or(q.to - std::chrono::days(7));
  if (q.to <= q.from) return FieldError("to", "must be after from");
  if (q.to - q.from > history::kMaxStatsRange) {
    return FieldError("from", fmt::format("the range is longer than {} days",
                                          history::kMaxStatsRange.count() / 24));
  }
  q.job_id = r.Query("jobId").value_or("");
  q.group = r.Query("group").value_or("");
  ASSIGN_OR_RETURN(const std::vector<history::StatsRow> rows, history.Statistics(q));
  json items = json::array();
  for (const history::StatsRow& row : rows) items.push_back(StatsRowJson(row));
  const char* by_name = q.by == history::StatsBy::kJob     ? "job"
                        : q.by == history::StatsBy::kGroup ? "group"
                                                           : "day";
  return json{{"by", by_name},
              {"from", FormatRfc3339Millis(q.from)},
              {"to", FormatRfc3339Millis(q.to)},
              {"zone", q.zone.name()},
              {"items", items}};
}

json OverviewJson(const history::Overview& o, Time now) {
  return json{
      {"at", FormatRfc3339Millis(now)}, {"runs24h", o.runs_24h},
      {"success24h", o.success_24h},    {"failures24h", o.failures_24h},
      {"runningNow", o.running_now},    {"successRate24h", OptionalJson(o.success_rate_24h)}};
}

template <typename T>
Response Answer(const absl::StatusOr<T>& value, int status = 200) {
  if (!value.ok()) return ErrorResponse(value.status());
  return JsonResponse(*value, status);
}

}  // namespace

void AddHistoryRoutes(Router& router, const ApiDeps& deps) {
  coord::Store* store = deps.store;
  Clock* clock = deps.clock;
  history::HistoryStore* history = deps.history;

  router.Add("GET", "/api/v1/executions", Access::kViewer, [history](Request& r) {
    if (history == nullptr) return ErrorResponse(NoHistory());
    return Answer(ListExecutions(*history, r));
  });
  router.Add("GET", "/api/v1/executions/{id}", Access::kViewer, [history](Request& r) {
    if (history == nullptr) return ErrorResponse(NoHistory());
    auto e = history->Get(r.Param("id"));
    if (!e.ok()) return ErrorResponse(e.status());
    return JsonResponse(ExecutionJson(*e, true));
  });
  router.Add("POST", "/api/v1/executions/{id}/kill", Access::kOperator,
             [store, history, clock](Request& r) {
               const std::string id = r.Param("id");
               auto reason = KillReason(r);
               if (!reason.ok()) return ErrorResponse(reason.status());
               const std::string user = r.caller ? r.caller->user : std::string();
               auto killed = Kill(*store, history, *clock, id, *reason, user);
               if (!killed.ok()) return ErrorResponse(killed.status());
               return JsonResponse(
                   {{"id", id}, {"group", killed->group}, {"worker", killed->worker}}, 202);
             });
  router.Add("GET", "/api/v1/stats", Access::kViewer, [history, clock](Request& r) {
    if (history == nullptr) return ErrorResponse(NoHistory());
    return Answer(Statistics(*history, r, clock->Now()));
  });
  router.Add("GET", "/api/v1/stats/overview", Access::kViewer, [history, clock](Request&) {
    if (history == nullptr) return ErrorResponse(NoHistory());
    const Time now = clock->Now();
    auto overview = history->Summary(now);
    if (!overview.ok()) return ErrorResponse(overview.status());
    return JsonResponse(OverviewJson(*overview, now));
  });
}

}  // namespace forest::api
