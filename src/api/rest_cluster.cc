// REST v1: nodes, workers, plans, pending assignments, cron preview.
//
// Everything here is read from the coordination store at the time of the
// request (no cache): the node and client keys of the original's layout,
// the worker facts and cursors Forest adds (model/keys.h). Keys are told
// apart with keys::Parse, never by prefix alone, so a group called
// "claim", "snapshot" or "clients" cannot be mistaken for another kind.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/api.h"
#include "api/errors.h"
#include "common/time_zone.h"
#include "coord/election.h"
#include "cron/cron.h"
#include "model/job.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::api {
namespace {

using nlohmann::json;
namespace keys = model::keys;

constexpr std::string_view kClientRoot = "/forest/client/";
constexpr size_t kMaxExprBytes = 1024;

json TimeOrNull(const std::optional<Time>& t) {
  return t ? json(FormatRfc3339Millis(*t)) : json(nullptr);
}

absl::StatusOr<std::vector<coord::KeyValue>> RangePrefix(coord::Store& store,
                                                         std::string_view prefix,
                                                         bool keys_only = false) {
  coord::RangeRequest request = coord::RangeRequest::Prefix(prefix);
  request.keys_only = keys_only;
  ASSIGN_OR_RETURN(coord::RangeResponse response, store.Range(request));
  return std::move(response.kvs);
}

// An optional query parameter naming a key segment (group, worker): ""
// when absent or empty, InvalidArgument naming it when it cannot be one.
absl::StatusOr<std::string> NameQuery(const Request& r, const std::string& field) {
  std::string value = r.Query(field).value_or("");
  if (!value.empty()) RETURN_IF_ERROR(model::ValidateKeyName(field, value));
  return value;
}

// --- nodes ---------------------------------------------------------------------

absl::StatusOr<json> Nodes(coord::Store& store, const ApiDeps& deps) {
  ASSIGN_OR_RETURN(const auto nodes, RangePrefix(store, keys::kNodePrefix));
  ASSIGN_OR_RETURN(const coord::RangeResponse leader_kv,
                   store.Range(coord::RangeRequest::Single(std::string(coord::kLeaderKey))));
  std::optional<std::string> leader;
  if (!leader_kv.kvs.empty() && !leader_kv.kvs[0].value.empty()) leader = leader_kv.kvs[0].value;

  std::set<std::string> ids;
  for (const coord::KeyValue& kv : nodes) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != keys::Parsed::Kind::kNode) continue;
    // The value is the node id (the original writes its IP in both places).
    ids.insert(kv.value.empty() ? std::string(parsed->a) : kv.value);
  }
  // A leader whose node key is not (or no longer) there is still the leader.
  if (leader) ids.insert(*leader);
  // What each node published about itself at its start.
  ASSIGN_OR_RETURN(const auto infos, RangePrefix(store, keys::kNodeInfoPrefix));
  std::map<std::string, json> info;
  for (const coord::KeyValue& kv : infos) {
    try {
      json j = json::parse(kv.value);
      if (j.is_object()) info[kv.key.substr(keys::kNodeInfoPrefix.size())] = std::move(j);
    } catch (const std::exception&) {
      // Not ours to judge: shown without facts.
    }
  }

  json items = json::array();
  for (const std::string& id : ids) {
    json node{{"id", id}, {"role", id == leader ? "leader" : "follower"}, {"self", false}};
    if (auto it = info.find(id); it != info.end()) {
      for (const char* field : {"httpAddress", "version", "startedAt", "host", "pid"}) {
        if (it->second.contains(field)) node[field] = it->second[field];
      }
    }
    if (!deps.node_id.empty() && id == deps.node_id) {
      node["self"] = true;
      node["httpAddress"] = deps.http_address;
      node["version"] = deps.version;
      node["startedAt"] = FormatRfc3339Millis(deps.started_at);
    }
    items.push_back(std::move(node));
  }
  return json{{"items", items}, {"leader", leader ? json(*leader) : json(nullptr)}};
}

// --- workers -------------------------------------------------------------------

// Every group anyone knows of: the catalog's, and those that workers
// registered in (a worker may serve a group nobody created) or that still
// have facts (a draining worker has withdrawn its client key).
absl::StatusOr<std::set<std::string>> AllGroups(coord::Store& store) {
  std::set<std::string> groups;
  ASSIGN_OR_RETURN(const auto conf, RangePrefix(store, keys::kGroupPrefix, true));
  for (const coord::KeyValue& kv : conf) {
    const auto parsed = keys::Parse(kv.key);
    if (parsed && parsed->kind == keys::Parsed::Kind::kGroup) groups.emplace(parsed->a);
  }
  ASSIGN_OR_RETURN(const auto clients, RangePrefix(store, kClientRoot, true));
  for (const coord::KeyValue& kv : clients) {
    const auto parsed = keys::Parse(kv.key);
    if (parsed && parsed->kind == keys::Parsed::Kind::kClient) groups.emplace(parsed->a);
  }
  ASSIGN_OR_RETURN(const auto facts, RangePrefix(store, keys::kWorkerPrefix, true));
  for (const coord::KeyValue& kv : facts) {
    const auto parsed = keys::Parse(kv.key);
    if (parsed && parsed->kind == keys::Parsed::Kind::kWorkerFacts) groups.emplace(parsed->a);
  }
  return groups;
}

// The workers of one group, by name: the client keys joined with the facts
// the worker publishes (worker/worker.cc: name, version, capacity, labels,
// pid, host; the original's workers publish none), and what the store says
// they hold (pending assignments, running records).
absl::Status GroupWorkers(coord::Store& store, const std::string& group, json& items) {
  using Kind = keys::Parsed::Kind;
  struct Worker {
    bool registered = false;
    json facts = json::object();
    bool has_facts = false;
    int64_t pending = 0;
    int64_t running = 0;
  };
  std::map<std::string, Worker> workers;

  ASSIGN_OR_RETURN(const auto clients, RangePrefix(store, keys::ClientPrefix(group), true));
  for (const coord::KeyValue& kv : clients) {
    const auto parsed = keys::Parse(kv.key);
    if (parsed && parsed->kind == Kind::kClient && parsed->a == group) {
      workers[std::string(parsed->b)].registered = true;
    }
  }
  ASSIGN_OR_RETURN(const auto facts,
                   RangePrefix(store, fmt::format("{}{}/", keys::kWorkerPrefix, group)));
  for (const coord::KeyValue& kv : facts) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != Kind::kWorkerFacts || parsed->a != group) continue;
    Worker& w = workers[std::string(parsed->b)];
    json j = json::parse(kv.value, nullptr, false);
    if (j.is_object()) w.facts = std::move(j);
    w.has_facts = true;
  }
  if (workers.empty()) return absl::OkStatus();

  ASSIGN_OR_RETURN(const auto pending,
                   RangePrefix(store, fmt::format("{}{}/", keys::kSnapshotPrefix, group), true));
  for (const coord::KeyValue& kv : pending) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != Kind::kSnapshot || parsed->a != group) continue;
    if (auto it = workers.find(std::string(parsed->b)); it != workers.end()) ++it->second.pending;
  }
  ASSIGN_OR_RETURN(const auto records,
                   RangePrefix(store, fmt::format("{}{}/", keys::kExecutePrefix, group)));
  for (const coord::KeyValue& kv : records) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != Kind::kExecute || parsed->a != group) continue;
    const auto it = workers.find(std::string(parsed->b));
    if (it == workers.end()) continue;
    const json j = json::parse(kv.value, nullptr, false);
    if (j.is_object() && j.contains("status") && j["status"] == 1) ++it->second.running;
  }

  for (auto& [name, w] : workers) {
    // What the worker wrote first (fields a newer worker adds pass through),
    // then what this API knows better.
    json item = std::move(w.facts);
    item["group"] = group;
    item["name"] = name;
    item["state"] = w.registered ? "active" : "draining";
    item["facts"] = w.has_facts;
    item["pending"] = w.pending;
    item["running"] = w.running;
    items.push_back(std::move(item));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> Workers(coord::Store& store, const std::string& group) {
  std::set<std::string> groups;
  if (group.empty()) {
    ASSIGN_OR_RETURN(groups, AllGroups(store));
  } else {
    groups.insert(group);
  }
  json items = json::array();
  for (const std::string& g : groups) RETURN_IF_ERROR(GroupWorkers(store, g, items));
  return json{{"items", items}};
}

// --- plans ---------------------------------------------------------------------

// The first fire after `now` within the job's [startAt, endAt), as the
// leader's plan table computes it (scheduler/plan_table.cc).
std::optional<Time> NextFire(const model::Job& job, const cron::Schedule& schedule, Time now) {
  Time after = now;
  if (job.start_at && *job.start_at - Millis(1) > after) after = *job.start_at - Millis(1);
  const std::optional<Time> next = schedule.Next(after);
  if (!next || (job.end_at && *next >= *job.end_at)) return std::nullopt;
  return next;
}

// The cursor's scheduledTime: how far the leader has handled the schedule.
std::optional<Time> CursorTime(std::string_view value) {
  const json j = json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("scheduledTime") || !j["scheduledTime"].is_string()) {
    return std::nullopt;
  }
  auto t = ParseIso8601(j["scheduledTime"].get<std::string>(), TimeZone::Utc());
  return t.ok() ? std::optional<Time>(*t) : std::nullopt;
}

// Which plans GET /api/v1/plans answers.
struct PlanFilter {
  std::string group;              // empty: every group
  std::optional<Time> before;     // only plans whose next fire is before it
  size_t limit = 0;               // at most this many (soonest first); 0: all
};

absl::StatusOr<json> Plans(coord::Store& store, Time now, const PlanFilter& filter) {
  const std::string& group = filter.group;
  using Kind = keys::Parsed::Kind;
  ASSIGN_OR_RETURN(const auto confs, RangePrefix(store, keys::kConfPrefix));
  ASSIGN_OR_RETURN(const auto cursor_kvs, RangePrefix(store, keys::kCursorPrefix));
  std::map<std::string, Time, std::less<>> cursors;
  for (const coord::KeyValue& kv : cursor_kvs) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != Kind::kCursor) continue;
    if (const auto t = CursorTime(kv.value)) cursors.emplace(std::string(parsed->a), *t);
  }

  struct Plan {
    std::optional<Time> next;
    json item;
  };
  std::vector<Plan> plans;
  for (const coord::KeyValue& kv : confs) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != Kind::kConf) continue;
    auto job = model::Job::FromJson(kv.value);
    if (!job.ok()) continue;  // the leader cannot plan it either; the catalog shows it
    if (job->status != model::JobStatus::kEnabled) continue;
    if (!group.empty() && job->group != group) continue;
    const std::string id = job->id.empty() ? std::string(parsed->a) : job->id;
    Plan plan;
    json& item = plan.item;
    item = {{"id", id},
            {"name", job->name},
            {"group", job->group},
            {"cron", job->cron},
            {"timezone", job->timezone.empty() ? "UTC" : job->timezone},
            {"cronDialect", std::string(cron::DialectName(job->cron_dialect))}};
    if (auto schedule = job->Schedule(); schedule.ok()) {
      plan.next = NextFire(*job, *schedule, now);
    } else {
      item["error"] = std::string(schedule.status().message());
    }
    if (filter.before && (!plan.next || *plan.next >= *filter.before)) continue;
    item["nextTime"] = TimeOrNull(plan.next);
    const auto cursor = cursors.find(id);
    item["previousTime"] =
        cursor == cursors.end() ? json(nullptr) : json(FormatRfc3339Millis(cursor->second));
    plans.push_back(std::move(plan));
  }
  // Soonest first; jobs that will not fire last.
  std::stable_sort(plans.begin(), plans.end(), [](const Plan& a, const Plan& b) {
    if (a.next.has_value() != b.next.has_value()) return a.next.has_value();
    return a.next && *a.next < *b.next;
  });
  const size_t total = plans.size();
  if (filter.limit > 0 && plans.size() > filter.limit) plans.resize(filter.limit);
  json items = json::array();
  for (Plan& p : plans) items.push_back(std::move(p.item));
  return json{{"items", items}, {"total", total}, {"at", FormatRfc3339Millis(now)}};
}

// --- assignments ---------------------------------------------------------------

json AssignmentJson(std::string_view group, std::string_view worker, std::string_view id,
                    const coord::KeyValue& kv) {
  json item{{"group", group}, {"worker", worker}, {"id", id}};
  auto a = model::Assignment::FromJson(kv.value);
  if (!a.ok()) {
    // Shown rather than hidden: an operator may want to delete it.
    item["error"] = std::string(a.status().message());
    return item;
  }
  item["jobId"] = a->job_id;
  item["name"] = a->name;
  item["scheduledTime"] = TimeOrNull(a->scheduled_time);
  item["trigger"] = std::string(model::Name(a->trigger));
  item["attempt"] = a->attempt;
  item["shardIndex"] = a->shard_index;
  item["shardTotal"] = a->shard_total;
  item["createTime"] = a->create_time;
  return item;
}

absl::StatusOr<json> Assignments(coord::Store& store, const Request& r) {
  ASSIGN_OR_RETURN(const std::string group, NameQuery(r, "group"));
  ASSIGN_OR_RETURN(const std::string worker, NameQuery(r, "worker"));
  if (!worker.empty() && group.empty()) {
    return FieldError("worker", "needs group: a worker name is only unique within its group");
  }
  ASSIGN_OR_RETURN(const int64_t page_size, QueryInt(r, "pageSize", 100, 1, 1000));
  std::string prefix(keys::kSnapshotPrefix);
  if (!worker.empty()) {
    prefix = keys::SnapshotPrefix(group, worker);
  } else if (!group.empty()) {
    prefix = fmt::format("{}{}/", keys::kSnapshotPrefix, group);
  }
  coord::RangeRequest request = coord::RangeRequest::Prefix(prefix);
  request.limit = page_size;
  ASSIGN_OR_RETURN(const coord::RangeResponse response, store.Range(request));
  json items = json::array();
  for (const coord::KeyValue& kv : response.kvs) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != keys::Parsed::Kind::kSnapshot) continue;
    items.push_back(AssignmentJson(parsed->a, parsed->b, parsed->c, kv));
  }
  return json{{"items", items}, {"total", response.count}, {"more", response.more}};
}

absl::Status DeleteAssignment(coord::Store& store, const Request& r) {
  const std::string group = r.Param("group");
  const std::string worker = r.Param("worker");
  const std::string id = r.Param("id");
  RETURN_IF_ERROR(model::ValidateKeyName("group", group));
  RETURN_IF_ERROR(model::ValidateKeyName("worker", worker));
  if (id.empty()) return FieldError("id", "must not be empty");
  coord::DeleteRequest del;
  del.key = keys::Snapshot(group, worker, id);
  ASSIGN_OR_RETURN(const coord::DeleteResponse response, store.Delete(del));
  if (response.deleted == 0) {
    return absl::NotFoundError(fmt::format(
        "no pending assignment \"{}\" for worker \"{}\" of group \"{}\" (claimed already?)", id,
        worker, group));
  }
  return absl::OkStatus();
}

// --- cron preview ----------------------------------------------------------------

// Parsed as a job with the same fields would be (model::Job::Schedule).
absl::StatusOr<json> CronPreview(const Request& r, Time now) {
  const std::string expr = r.Query("expr").value_or("");
  if (expr.empty()) return FieldError("expr", "required: a cron expression");
  if (expr.size() > kMaxExprBytes) {
    return FieldError("expr", fmt::format("longer than {} bytes", kMaxExprBytes));
  }
  cron::ParseOptions options;
  if (const auto dialect = r.Query("dialect"); dialect && !dialect->empty()) {
    auto d = cron::ParseDialect(*dialect);
    if (!d.ok()) return FieldError("dialect", std::string(d.status().message()));
    options.dialect = *d;
  }
  if (const auto zone = r.Query("zone"); zone && !zone->empty()) {
    auto z = TimeZone::Load(*zone);
    if (!z.ok()) return FieldError("zone", std::string(z.status().message()));
    options.zone = *z;
  }
  ASSIGN_OR_RETURN(const int64_t count, QueryInt(r, "count", 10, 1, 100));
  auto schedule = cron::Schedule::Parse(expr, options);
  if (!schedule.ok()) return FieldError("expr", std::string(schedule.status().message()));

  json normalized = json::array();
  for (const auto& [field, value] : schedule->Fields()) {
    normalized.push_back({{"field", field}, {"value", value}});
  }
  // The zone that applies: a CRON_TZ= prefix overrides the parameter.
  const TimeZone& zone = schedule->zone();
  json next = json::array();
  for (const Time t : schedule->NextN(now, static_cast<int>(count))) {
    std::string local = FormatLocal(t, zone);
    local[10] = 'T';  // RFC 3339 with the zone's offset
    next.push_back({{"time", FormatRfc3339Millis(t)}, {"local", local}});
  }
  json body{{"valid", true},
            {"expr", expr},
            {"dialect", std::string(cron::DialectName(schedule->dialect()))},
            {"zone", zone.name()},
            {"canFire", schedule->can_fire()},
            {"normalized", normalized},
            {"every", nullptr},
            {"next", next}};
  if (schedule->every().count() > 0) body["every"] = schedule->every().count();
  return body;
}

template <typename T>
Response Answer(const absl::StatusOr<T>& value) {
  if (!value.ok()) return ErrorResponse(value.status());
  return JsonResponse(*value);
}

}  // namespace

void AddClusterRoutes(Router& router, const ApiDeps& deps) {
  coord::Store* store = deps.store;
  Clock* clock = deps.clock;

  router.Add("GET", "/api/v1/nodes", Access::kViewer,
             [store, deps](Request&) { return Answer(Nodes(*store, deps)); });
  router.Add("GET", "/api/v1/workers", Access::kViewer, [store](Request& r) {
    auto group = NameQuery(r, "group");
    if (!group.ok()) return ErrorResponse(group.status());
    return Answer(Workers(*store, *group));
  });
  router.Add("GET", "/api/v1/plans", Access::kViewer, [store, clock](Request& r) {
    PlanFilter filter;
    auto group = NameQuery(r, "group");
    if (!group.ok()) return ErrorResponse(group.status());
    filter.group = *group;
    auto before = TimeQuery(r, "before", TimeZone::Utc());
    if (!before.ok()) return ErrorResponse(before.status());
    filter.before = *before;
    auto limit = QueryInt(r, "limit", 0, 0, 100000);
    if (!limit.ok()) return ErrorResponse(limit.status());
    filter.limit = static_cast<size_t>(*limit);
    return Answer(Plans(*store, clock->Now(), filter));
  });
  router.Add("GET", "/api/v1/assignments", Access::kViewer,
             [store](Request& r) { return Answer(Assignments(*store, r)); });
  router.Add("DELETE", "/api/v1/assignments/{group}/{worker}/{id}", Access::kOperator,
             [store](Request& r) {
               const absl::Status status = DeleteAssignment(*store, r);
               if (!status.ok()) return ErrorResponse(status);
               Response response;
               response.status = 204;
               response.content_type.clear();
               return response;
             });
  router.Add("GET", "/api/v1/cron/preview", Access::kViewer,
             [clock](Request& r) { return Answer(CronPreview(r, clock->Now())); });
}

}  // namespace forest::api
