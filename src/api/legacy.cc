// The original forest's HTTP API (docs/legacy-api.md), kept so its web UI
// and users' scripts work against us: 13 POST routes, each answering HTTP
// 200 with {"code": 0 | -1, "data": ..., "message": "..."} and the
// original's messages (查询成成功 included). The doc's recommended fixes are
// applied: a manual run is a run request the leader serves once, snapshot
// delete and the three-field snapshot filter use the real key, and
// /execute/snapshot/list honours jobId and takes "" or null as "absent".
//
// Bodies are bound the way the original's framework (echo v3) binds them
// into its structs (Bind below); a body that does not bind gets the route's
// binding-failure message. The four plain lists read no body.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "api/api.h"
#include "api/catalog.h"
#include "api/errors.h"
#include "common/strings.h"
#include "common/time_zone.h"
#include "coord/election.h"
#include "model/keys.h"
#include "model/snapshot.h"
#include "scheduler/run_request.h"

namespace forest::api {
namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;
namespace keys = model::keys;

// The original's texts (docs/legacy-api.md §4), typos included.
constexpr std::string_view kListed = "查询成成功";
constexpr std::string_view kBodyEmpty = "请求参数不能为空";
constexpr std::string_view kNameEmpty = "任务名称不能为空";
constexpr std::string_view kGroupEmpty = "任务分组不能为空";
constexpr std::string_view kCronEmpty = "任务Cron表达式不能为空";
constexpr std::string_view kBadCron = "非法的Cron表达式";
constexpr std::string_view kTargetEmpty = "任务Target不能为空";
constexpr std::string_view kStatusEmpty = "任务状态不能为空";
constexpr std::string_view kNoSuchGroup = "任务集群不存在";
constexpr std::string_view kCreateFailed = "创建失败,请重试！";
constexpr std::string_view kNoJobId = "此任务记录不存在";
constexpr std::string_view kNoSuchJob = "此任务配置记录不存在";
constexpr std::string_view kEditFailed = "修改失败,请重试！";
constexpr std::string_view kBadRunParams = "非法的参数";
constexpr std::string_view kNoRunId = "此任务配置不存在";
constexpr std::string_view kRunReadFailed = "查询任务配置出现异常:";
constexpr std::string_view kRunJobEmpty = "此任务配置内容为空";
constexpr std::string_view kRunJobInvalid = "非法的任务配置内容";
constexpr std::string_view kNoClient = "没有找到此要执行的任务作业节点";
constexpr std::string_view kRunFailed = "手动执行任务失败,请重试";
constexpr std::string_view kRunRequested = "手动执行任务请求已提交";
constexpr std::string_view kGroupNameEmpty = "任务集群名称不能为空";
constexpr std::string_view kGroupRemarkEmpty = "任务集群描述";
constexpr std::string_view kGroupExists = "此任务集群已存在";
constexpr std::string_view kChooseGroup = "请选择任务集群";
constexpr std::string_view kGroupUnknown = "此任务集群不存在";
constexpr std::string_view kBadParams = "非法的请求参数";
constexpr std::string_view kQueryFailed = "查询失败";

// /snapshot/list reads at most this many keys (the UI says so).
constexpr int64_t kSnapshotLimit = 500;
// /execute/snapshot/list: the original's defaults, and our cap.
constexpr int64_t kDefaultPageSize = 10;
constexpr int64_t kMaxPageSize = 1000;

// --- Answers -------------------------------------------------------------------

// Keys in the order given: Go writes struct fields in declaration order.
Response Envelope(int code, ordered data, std::string_view message) {
  ordered body;
  body["code"] = code;
  body["data"] = std::move(data);
  body["message"] = std::string(message);
  Response r;
  r.content_type = "application/json; charset=UTF-8";
  r.body = body.dump(-1, ' ', false, ordered::error_handler_t::replace) + "\n";
  return r;
}
Response Ok(ordered data, std::string_view message) {
  return Envelope(0, std::move(data), message);
}
Response Fail(std::string_view message) { return Envelope(-1, nullptr, message); }
Response Fail(const absl::Status& status) { return Fail(std::string(status.message())); }

// `j` with the fields named in `first` leading, in that order.
ordered Ordered(const json& j, std::span<const char* const> first) {
  ordered out = ordered::object();
  for (const char* name : first) {
    if (j.contains(name)) out[name] = j[name];
  }
  for (const auto& [name, value] : j.items()) {
    if (!out.contains(name)) out[name] = value;
  }
  return out;
}

// JobConf: exactly the original's fields. Ours stay out of it on purpose:
// the UI sends a listed row back to /job/edit, and a stale copy of our
// fields would undo a change made meanwhile through REST v1.
ordered JobConf(const model::Job& job) {
  ordered j;
  j["id"] = job.id;
  j["name"] = job.name;
  j["group"] = job.group;
  j["cron"] = job.cron;
  j["status"] = static_cast<int>(job.status);
  j["target"] = job.target;
  j["params"] = job.params;
  j["mobile"] = job.mobile;
  j["remark"] = job.remark;
  j["version"] = job.version;
  return j;
}

ordered GroupConf(const model::Group& group) {
  ordered j;
  j["name"] = group.name;
  j["remark"] = group.remark;
  return j;
}

// A Go time.Time as encoding/json writes it: RFC 3339 in the server's zone
// ("2019-12-20T10:30:30+08:00", "Z" for a zero offset, a fraction only when
// there is one), the zero time when `t` is unset.
std::string GoTime(std::optional<Time> t, const TimeZone& zone) {
  if (!t) return "0001-01-01T00:00:00Z";
  using std::chrono::seconds;
  const auto secs = std::chrono::floor<seconds>(*t);
  const LocalSeconds local = zone.ToLocal(secs);
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<seconds> tod{local - day};
  std::string text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", int(ymd.year()),
                                 unsigned(ymd.month()), unsigned(ymd.day()), tod.hours().count(),
                                 tod.minutes().count(), tod.seconds().count());
  if (const int64_t ms = (*t - secs).count(); ms != 0) {
    std::string fraction = fmt::format(".{:03}", ms);
    while (fraction.back() == '0') fraction.pop_back();
    text += fraction;
  }
  const int64_t offset = zone.OffsetAt(secs).count();
  if (offset == 0) return text + "Z";
  const int64_t size = offset < 0 ? -offset : offset;
  return fmt::format("{}{}{:02}:{:02}", text, offset < 0 ? '-' : '+', size / 3600,
                     size % 3600 / 60);
}

// --- Binding -------------------------------------------------------------------

enum class Kind { kString, kInt };
struct Field {
  const char* name;
  Kind kind;
};

// The original's request structs (protocol.go).
constexpr Field kJobConfFields[] = {
    {"id", Kind::kString},     {"name", Kind::kString},   {"group", Kind::kString},
    {"cron", Kind::kString},   {"status", Kind::kInt},    {"target", Kind::kString},
    {"params", Kind::kString}, {"mobile", Kind::kString}, {"remark", Kind::kString},
    {"version", Kind::kInt},
};
constexpr Field kGroupConfFields[] = {{"name", Kind::kString}, {"remark", Kind::kString}};
constexpr Field kClientParamFields[] = {{"group", Kind::kString}};
constexpr Field kSnapshotParamFields[] = {
    {"group", Kind::kString}, {"id", Kind::kString}, {"ip", Kind::kString}};
constexpr Field kExecuteParamFields[] = {
    {"group", Kind::kString}, {"id", Kind::kString},   {"ip", Kind::kString},
    {"jobId", Kind::kString}, {"name", Kind::kString}, {"status", Kind::kInt},
    {"pageSize", Kind::kInt}, {"pageNo", Kind::kInt},
};

bool EqualsFolded(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// An application/x-www-form-urlencoded body: the struct's fields only,
// bound by name case-insensitively, the ints parsed.
std::optional<json> BindForm(const std::string& body, std::span<const Field> fields) {
  json out = json::object();
  for (std::string_view pair : Split(body, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    std::replace(name.begin(), name.end(), '+', ' ');
    std::replace(value.begin(), value.end(), '+', ' ');
    name = PercentDecode(name);
    value = PercentDecode(value);
    for (const Field& f : fields) {
      if (!EqualsFolded(name, f.name)) continue;
      if (f.kind == Kind::kString) {
        out[f.name] = value;
      } else if (!value.empty()) {
        const std::optional<int64_t> n = ParseInt(value);
        if (!n) return std::nullopt;
        out[f.name] = *n;
      }
    }
  }
  return out;
}

// The body bound as echo v3 binds it into a struct of `fields`, or nullopt
// when it does not bind (empty, not a JSON object, a field of the wrong
// type). The answer is the JSON object with the struct's fields under their
// exact names (Go matches keys case-insensitively), null fields dropped,
// and every other key of a JSON body left as it was sent.
// Departures, all lenient: "" for an int field is taken as absent (the
// original fails to bind it; its UI sends it for a cleared selector), and a
// body without a JSON content type is read as JSON.
std::optional<json> Bind(const Request& r, std::span<const Field> fields) {
  if (r.Header("content-type").starts_with("application/x-www-form-urlencoded")) {
    if (r.body.empty()) return std::nullopt;
    return BindForm(r.body, fields);
  }
  absl::StatusOr<json> parsed = ParseJsonObject(r.body);
  if (!parsed.ok()) return std::nullopt;
  json& body = *parsed;
  for (const Field& f : fields) {
    if (!body.contains(f.name)) {
      for (auto it = body.begin(); it != body.end(); ++it) {
        if (EqualsFolded(it.key(), f.name)) {
          json value = *it;
          body.erase(it);
          body[f.name] = std::move(value);
          break;
        }
      }
    }
    const auto it = body.find(f.name);
    if (it == body.end()) continue;
    if (it->is_null()) {
      body.erase(it);
    } else if (f.kind == Kind::kString) {
      if (!it->is_string()) return std::nullopt;
    } else if (it->is_string() && it->get_ref<const std::string&>().empty()) {
      body.erase(it);
    } else if (it->is_number_unsigned()) {
      if (it->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
    } else if (!it->is_number_integer()) {
      return std::nullopt;
    }
  }
  return body;
}

std::string Str(const json& bound, const char* name) {
  const auto it = bound.find(name);
  return it == bound.end() ? std::string() : it->get<std::string>();
}
int64_t Int(const json& bound, const char* name) {
  const auto it = bound.find(name);
  return it == bound.end() ? 0 : it->get<int64_t>();
}

std::string User(const Request& r) { return r.caller ? r.caller->user : std::string(); }

// --- Jobs ----------------------------------------------------------------------

// Keys of ours that the server keeps, whatever a legacy body says.
constexpr const char* kBookkeeping[] = {"version", "createdAt", "updatedAt", "createdBy",
                                        "updatedBy"};

// A job from a bound JobConf body (and any of our fields it carries), and
// the status as sent (0 when absent): Job::FromJson takes only 1 and 2, and
// 0 must get the original's message, in the original's order of checks.
struct JobBody {
  model::Job job;
  int64_t status = 0;
};
absl::StatusOr<JobBody> ToJob(json doc) {
  JobBody out;
  out.status = Int(doc, "status");
  doc["status"] = out.status == 2 ? 2 : 1;
  ASSIGN_OR_RETURN(out.job, model::Job::FromJson(doc.dump()));
  return out;
}

// Drops the keys of a JobConf body that no version of the job knows (the
// original ignores them; a UI's row may carry keys of its own), so they do
// not land in the stored document. Our own fields stay.
void DropUnknownKeys(json& body) {
  json probe = body;
  probe["status"] = 1;
  absl::StatusOr<model::Job> parsed = model::Job::FromJson(probe.dump());
  if (!parsed.ok()) return;  // answered when the job is read for real
  for (const auto& [name, value] : parsed->extra.items()) {
    // A known object with unknown members ("retry") is in extra with only those.
    if (body.contains(name) && body[name] == value) body.erase(name);
  }
}

// The original's checks of a job (§4.1), in its order, on the job as it
// would be stored: "" when it passes.
std::string CheckJob(const JobBody& b) {
  const model::Job& job = b.job;
  if (job.name.empty()) return std::string(kNameEmpty);
  if (job.group.empty()) return std::string(kGroupEmpty);
  if (job.cron.empty()) return std::string(kCronEmpty);
  if (absl::StatusOr<cron::Schedule> s = job.Schedule(); !s.ok()) {
    return model::ErrorField(s.status()) == "cron" ? std::string(kBadCron)
                                                   : std::string(s.status().message());
  } else if (!s->can_fire()) {
    return std::string(kBadCron);
  }
  if (job.target.empty()) return std::string(kTargetEmpty);
  if (b.status == 0) return std::string(kStatusEmpty);
  if (b.status != 1 && b.status != 2) {
    return fmt::format("status: {} is not 1 (enabled) or 2 (stopped)", b.status);
  }
  return {};
}

// Whether the group exists (a name that cannot be a key cannot).
absl::StatusOr<bool> GroupExists(coord::Store& store, const std::string& group) {
  if (!model::ValidateKeyName("group", group).ok()) return false;
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store.Range(coord::RangeRequest::Single(keys::Group(group))));
  return !r.kvs.empty() && !r.kvs[0].value.empty();
}

// A catalog write's error, in the original's words where it has some.
std::string JobWriteError(const absl::Status& s) {
  const std::string field = model::ErrorField(s);
  if (s.code() == absl::StatusCode::kFailedPrecondition && field == "group") {
    return std::string(kNoSuchGroup);
  }
  if (s.code() == absl::StatusCode::kInvalidArgument && field == "cron") {
    return std::string(kBadCron);
  }
  switch (s.code()) {
    case absl::StatusCode::kAlreadyExists:
      return std::string(kCreateFailed);
    case absl::StatusCode::kAborted:
      return std::string(kEditFailed);
    case absl::StatusCode::kNotFound:
      return std::string(kNoSuchJob);
    default:
      return std::string(s.message());
  }
}

Response AddJob(Catalog& catalog, coord::Store& store, const Request& r) {
  std::optional<json> body = Bind(r, kJobConfFields);
  if (!body) return Fail(kBodyEmpty);
  // The server names the job and counts its versions.
  body->erase("id");
  for (const char* name : kBookkeeping) body->erase(name);
  DropUnknownKeys(*body);
  absl::StatusOr<JobBody> job = ToJob(*std::move(body));
  if (!job.ok()) return Fail(job.status());
  if (std::string why = CheckJob(*job); !why.empty()) return Fail(why);
  absl::StatusOr<bool> group = GroupExists(store, job->job.group);
  if (!group.ok()) return Fail(group.status());
  if (!*group) return Fail(kNoSuchGroup);
  absl::StatusOr<model::Job> created = catalog.CreateJob(job->job, User(r));
  if (!created.ok()) return Fail(JobWriteError(created.status()));
  return Ok(JobConf(*created), "创建成功");
}

Response EditJob(Catalog& catalog, coord::Store& store, const Request& r) {
  std::optional<json> body = Bind(r, kJobConfFields);
  if (!body) return Fail(kBodyEmpty);
  const std::string id = Str(*body, "id");
  if (id.empty()) return Fail(kNoJobId);
  DropUnknownKeys(*body);
  // Read first: our fields the body leaves out come from the stored job,
  // and the cron check needs its dialect and zone. The original's order of
  // answers is kept (field checks, group, then the job's existence).
  const bool valid_id = model::ValidateKeyName("id", id).ok();
  absl::StatusOr<StoredJob> stored =
      valid_id ? catalog.GetStoredJob(id) : absl::NotFoundError("no such job");
  // The body replaces the original's fields (one left out becomes ""), and
  // any of ours it names; the rest of the stored document stays.
  json doc = stored.ok() ? json::parse(stored->job.ToJson()) : json::object();
  for (const Field& f : kJobConfFields) {
    if (f.kind == Kind::kString) doc[f.name] = Str(*body, f.name);
  }
  doc.erase("status");
  for (const auto& [name, value] : body->items()) {
    if (std::find_if(std::begin(kBookkeeping), std::end(kBookkeeping),
                     [&](const char* b) { return name == b; }) == std::end(kBookkeeping)) {
      doc[name] = value;
    }
  }
  absl::StatusOr<JobBody> job = ToJob(std::move(doc));
  if (!job.ok()) return Fail(job.status());
  if (std::string why = CheckJob(*job); !why.empty()) return Fail(why);
  absl::StatusOr<bool> group = GroupExists(store, job->job.group);
  if (!group.ok()) return Fail(group.status());
  if (!*group) return Fail(kNoSuchGroup);
  if (!stored.ok()) {
    return Fail(stored.status().code() == absl::StatusCode::kNotFound
                    ? std::string(kNoSuchJob)
                    : std::string(stored.status().message()));
  }
  absl::StatusOr<model::Job> replaced = catalog.ReplaceJob(job->job, *stored, User(r));
  if (!replaced.ok()) return Fail(JobWriteError(replaced.status()));
  return Ok(JobConf(*replaced), "修改成功");
}

Response DeleteJob(Catalog& catalog, const Request& r) {
  std::optional<json> body = Bind(r, kJobConfFields);
  if (!body) return Fail(kBodyEmpty);
  const std::string id = Str(*body, "id");
  if (id.empty()) return Fail(kNoJobId);
  if (!model::ValidateKeyName("id", id).ok()) return Fail(kNoSuchJob);
  if (absl::Status deleted = catalog.DeleteJob(id); !deleted.ok()) {
    return Fail(deleted.code() == absl::StatusCode::kNotFound ? std::string(kNoSuchJob)
                                                              : std::string(deleted.message()));
  }
  // The original answers the body as bound.
  ordered echo;
  for (const Field& f : kJobConfFields) {
    if (f.kind == Kind::kString) {
      echo[f.name] = Str(*body, f.name);
    } else {
      echo[f.name] = Int(*body, f.name);
    }
  }
  return Ok(std::move(echo), "删除成功");
}

Response ListJobs(Catalog& catalog) {
  absl::StatusOr<std::vector<model::Job>> jobs = catalog.ListAllJobs();
  if (!jobs.ok()) return Fail(jobs.status());
  if (jobs->empty()) return Ok(nullptr, kListed);
  ordered items = ordered::array();
  for (const model::Job& job : *jobs) items.push_back(JobConf(job));
  return Ok(std::move(items), kListed);
}

Response ExecuteJob(Catalog& catalog, coord::Store& store, Clock& clock, const Request& r) {
  std::optional<json> body = Bind(r, kJobConfFields);
  if (!body) return Fail(kBadRunParams);
  const std::string id = Str(*body, "id");
  if (id.empty()) return Fail(kNoRunId);
  if (!model::ValidateKeyName("id", id).ok()) return Fail(kRunJobEmpty);
  absl::StatusOr<model::Job> job = catalog.GetJob(id);
  if (!job.ok()) {
    switch (job.status().code()) {
      case absl::StatusCode::kNotFound:
        return Fail(kRunJobEmpty);
      case absl::StatusCode::kInvalidArgument:
        return Fail(kRunJobInvalid);
      default:
        return Fail(fmt::format("{}{}", kRunReadFailed, std::string(job.status().message())));
    }
  }
  // The original refuses when no client of the group is live; so do we,
  // rather than leave the leader to record a run that found no worker.
  absl::StatusOr<coord::RangeResponse> clients =
      store.Range(coord::RangeRequest::Prefix(keys::ClientPrefix(job->group)));
  if (!clients.ok()) return Fail(clients.status());
  if (std::none_of(clients->kvs.begin(), clients->kvs.end(),
                   [](const coord::KeyValue& kv) { return !kv.value.empty(); })) {
    return Fail(kNoClient);
  }
  scheduler::RunRequest run;
  run.job_id = id;
  run.trigger = model::Trigger::kManual;
  run.requested_by = User(r);
  absl::StatusOr<std::string> requested = scheduler::RequestRun(store, clock, std::move(run));
  if (!requested.ok()) {
    switch (requested.status().code()) {
      case absl::StatusCode::kNotFound:
        return Fail(kRunJobEmpty);
      case absl::StatusCode::kResourceExhausted:
        return Fail(kRunFailed);
      default:
        return Fail(requested.status());
    }
  }
  return Ok(nullptr, kRunRequested);
}

// --- Groups, nodes, plans, clients -------------------------------------------------

Response AddGroup(Catalog& catalog, const Request& r) {
  std::optional<json> body = Bind(r, kGroupConfFields);
  if (!body) return Fail(kBodyEmpty);
  model::Group group;
  group.name = Str(*body, "name");
  group.remark = Str(*body, "remark");
  if (group.name.empty()) return Fail(kGroupNameEmpty);
  if (group.remark.empty()) return Fail(kGroupRemarkEmpty);
  absl::StatusOr<model::Group> created = catalog.CreateGroup(group);
  if (!created.ok()) {
    return Fail(created.status().code() == absl::StatusCode::kAlreadyExists
                    ? std::string(kGroupExists)
                    : std::string(created.status().message()));
  }
  return Ok(GroupConf(*created), "添加成功");
}

Response ListGroups(Catalog& catalog) {
  absl::StatusOr<std::vector<model::Group>> groups = catalog.ListGroups();
  if (!groups.ok()) return Fail(groups.status());
  if (groups->empty()) return Ok(nullptr, kListed);
  ordered items = ordered::array();
  for (const model::Group& g : *groups) items.push_back(GroupConf(g));
  return Ok(std::move(items), kListed);
}

Response ListNodes(coord::Store& store) {
  absl::StatusOr<coord::RangeResponse> nodes =
      store.Range(coord::RangeRequest::Prefix(keys::kNodePrefix));
  if (!nodes.ok()) return Fail(nodes.status());
  absl::StatusOr<coord::RangeResponse> leader =
      store.Range(coord::RangeRequest::Single(std::string(coord::kLeaderKey)));
  if (!leader.ok()) return Fail(leader.status());
  if (nodes->kvs.empty()) return Ok(nullptr, kListed);
  const std::string leader_id = leader->kvs.empty() ? std::string() : leader->kvs[0].value;
  ordered items = ordered::array();
  for (const coord::KeyValue& kv : nodes->kvs) {
    // The value is the node id; the key ends with it too.
    const std::string name = kv.value.empty() ? kv.key.substr(keys::kNodePrefix.size()) : kv.value;
    ordered node;
    node["name"] = name;
    node["state"] = !leader_id.empty() && name == leader_id ? 1 : 0;
    items.push_back(std::move(node));
  }
  return Ok(std::move(items), kListed);
}

// The scheduledTime of a cursor (/forest/server/cursor/{job}, written by
// the leader: the schedule is handled up to that time).
std::optional<Time> CursorTime(const std::string& value) {
  const json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("scheduledTime") || !j["scheduledTime"].is_string()) {
    return std::nullopt;
  }
  absl::StatusOr<Time> t = ParseIso8601(j["scheduledTime"].get<std::string>(), TimeZone::Utc());
  if (!t.ok()) return std::nullopt;
  return *t;
}

// A plan per enabled job that will fire again. nextTime: its next fire
// after now (and after what its cursor says is handled). beforeTime: the
// cursor's time when that is a fire of the schedule, i.e. the last fire;
// the zero time before any (a new, edited or resumed job's cursor holds the
// time it started from, not a fire). status is 0, as in the original.
Response ListPlans(Catalog& catalog, coord::Store& store, Clock& clock) {
  absl::StatusOr<std::vector<model::Job>> jobs = catalog.ListAllJobs();
  if (!jobs.ok()) return Fail(jobs.status());
  absl::StatusOr<coord::RangeResponse> cursors =
      store.Range(coord::RangeRequest::Prefix(keys::kCursorPrefix));
  if (!cursors.ok()) return Fail(cursors.status());
  std::map<std::string, Time, std::less<>> handled;
  for (const coord::KeyValue& kv : cursors->kvs) {
    const auto parsed = keys::Parse(kv.key);
    if (!parsed || parsed->kind != keys::Parsed::Kind::kCursor) continue;
    if (const auto t = CursorTime(kv.value)) handled.emplace(std::string(parsed->a), *t);
  }
  const Time now = clock.Now();
  const TimeZone zone = TimeZone::Local();
  struct Plan {
    Time next;
    std::string id;
    ordered item;
  };
  std::vector<Plan> plans;
  for (const model::Job& job : *jobs) {
    if (job.status != model::JobStatus::kEnabled) continue;
    absl::StatusOr<cron::Schedule> schedule = job.Schedule();
    if (!schedule.ok()) continue;
    const auto cursor = handled.find(job.id);
    std::optional<Time> before;
    Time after = now;
    if (cursor != handled.end()) {
      after = std::max(after, cursor->second);
      if (cursor->second <= now && schedule->Next(cursor->second - Millis(1)) == cursor->second) {
        before = cursor->second;
      }
    }
    // The job's window: no fire before startAt, none at or after endAt.
    if (job.start_at && *job.start_at - Millis(1) > after) after = *job.start_at - Millis(1);
    const std::optional<Time> next = schedule->Next(after);
    if (!next || (job.end_at && *next >= *job.end_at)) continue;
    ordered item;
    item["id"] = job.id;
    item["name"] = job.name;
    item["group"] = job.group;
    item["cron"] = job.cron;
    item["status"] = 0;
    item["target"] = job.target;
    item["params"] = job.params;
    item["mobile"] = job.mobile;
    item["remark"] = job.remark;
    item["nextTime"] = GoTime(*next, zone);
    item["beforeTime"] = GoTime(before, zone);
    item["version"] = job.version;
    plans.push_back({*next, job.id, std::move(item)});
  }
  if (plans.empty()) return Ok(nullptr, "");
  std::sort(plans.begin(), plans.end(), [](const Plan& a, const Plan& b) {
    return std::tie(a.next, a.id) < std::tie(b.next, b.id);
  });
  ordered items = ordered::array();
  for (Plan& p : plans) items.push_back(std::move(p.item));
  return Ok(std::move(items), "");
}

Response ListClients(coord::Store& store, const Request& r) {
  std::optional<json> body = Bind(r, kClientParamFields);
  if (!body) return Fail(kChooseGroup);
  const std::string group = Str(*body, "group");
  if (group.empty()) return Fail(kChooseGroup);
  absl::StatusOr<bool> exists = GroupExists(store, group);
  if (!exists.ok()) return Fail(exists.status());
  if (!*exists) return Fail(kGroupUnknown);
  absl::StatusOr<coord::RangeResponse> clients =
      store.Range(coord::RangeRequest::Prefix(keys::ClientPrefix(group)));
  if (!clients.ok()) return Fail(clients.status());
  std::vector<std::pair<std::string, std::string>> found;  // name, key
  for (const coord::KeyValue& kv : clients->kvs) {
    if (!kv.value.empty()) found.emplace_back(kv.value, kv.key);
  }
  std::sort(found.begin(), found.end());
  ordered items = ordered::array();
  for (const auto& [name, key] : found) {
    ordered client;
    client["name"] = name;
    client["path"] = key;
    client["group"] = group;
    items.push_back(std::move(client));
  }
  return Ok(std::move(items), kListed);
}

// --- Snapshots and execution records ------------------------------------------------

constexpr const char* kSnapshotOrder[] = {"id",     "jobId",  "name",      "ip",
                                          "group",  "cron",   "target",    "params",
                                          "mobile", "remark", "createTime"};

Response ListSnapshots(coord::Store& store, const Request& r) {
  std::optional<json> body = Bind(r, kSnapshotParamFields);
  if (!body) return Fail(kBadParams);
  const std::string group = Str(*body, "group");
  const std::string ip = Str(*body, "ip");
  const std::string id = Str(*body, "id");
  coord::RangeRequest range;
  if (!group.empty() && !ip.empty() && !id.empty()) {
    range = coord::RangeRequest::Single(keys::Snapshot(group, ip, id));
  } else if (!group.empty() && !ip.empty()) {
    range = coord::RangeRequest::Prefix(keys::SnapshotPrefix(group, ip));
  } else if (!group.empty()) {
    range = coord::RangeRequest::Prefix(fmt::format("{}{}/", keys::kSnapshotPrefix, group));
  } else {
    range = coord::RangeRequest::Prefix(keys::kSnapshotPrefix);
  }
  range.limit = kSnapshotLimit;
  absl::StatusOr<coord::RangeResponse> snapshots = store.Range(range);
  if (!snapshots.ok()) return Fail(snapshots.status());
  ordered items = ordered::array();
  for (const coord::KeyValue& kv : snapshots->kvs) {
    absl::StatusOr<model::Assignment> a = model::Assignment::FromJson(kv.value);
    if (!a.ok()) continue;
    items.push_back(Ordered(json::parse(a->ToJson()), kSnapshotOrder));
  }
  return Ok(std::move(items), kListed);
}

Response DeleteSnapshot(coord::Store& store, const Request& r) {
  std::optional<json> body = Bind(r, kSnapshotParamFields);
  if (!body) return Fail(kBadParams);
  const std::string group = Str(*body, "group");
  const std::string ip = Str(*body, "ip");
  const std::string id = Str(*body, "id");
  // Each must be one key segment, or the key would name something else.
  if (!model::ValidateKeyName("group", group).ok() || !model::ValidateKeyName("ip", ip).ok() ||
      !model::ValidateKeyName("id", id).ok()) {
    return Fail(kBadParams);
  }
  coord::DeleteRequest del;
  del.key = keys::Snapshot(group, ip, id);
  // Already gone (a worker took it meanwhile) is a success too.
  if (absl::StatusOr<coord::DeleteResponse> d = store.Delete(del); !d.ok()) {
    return Fail(d.status());
  }
  return Ok(nullptr, "删除成功");
}

ordered ExecutionJson(const history::Execution& e) {
  const model::ExecutionRecord& rec = e.record;
  const model::Assignment& run = rec.run;
  ordered j;
  j["id"] = run.id;
  j["jobId"] = run.job_id;
  j["name"] = run.name;
  j["ip"] = run.ip;
  j["group"] = run.group;
  j["cron"] = run.cron;
  j["target"] = run.target;
  j["params"] = run.params;
  j["mobile"] = run.mobile;
  j["remark"] = run.remark;
  j["createTime"] = run.create_time;
  j["startTime"] = rec.start_time;
  j["finishTime"] = rec.finish_time;
  j["times"] = rec.times;
  j["status"] = static_cast<int>(rec.status);
  j["result"] = rec.result;
  // Ours, additive.
  j["trigger"] = std::string(model::Name(run.trigger));
  j["attempt"] = run.attempt;
  if (run.scheduled_time) j["scheduledTime"] = FormatRfc3339Millis(*run.scheduled_time);
  if (rec.duration_ms) j["durationMs"] = *rec.duration_ms;
  if (rec.exit_code) j["exitCode"] = *rec.exit_code;
  return j;
}

Response ListExecutions(history::HistoryStore* history, const Request& r) {
  std::optional<json> body = Bind(r, kExecuteParamFields);
  if (!body) return Fail(kBadParams);
  if (history == nullptr) return Fail(kQueryFailed);
  history::Query q;
  q.id = Str(*body, "id");
  q.job_id = Str(*body, "jobId");
  q.job_name = Str(*body, "name");
  q.group = Str(*body, "group");
  q.worker = Str(*body, "ip");
  int64_t size = Int(*body, "pageSize");
  if (size <= 0) size = kDefaultPageSize;
  q.page_size = static_cast<int>(std::min(size, kMaxPageSize));
  const int64_t page = Int(*body, "pageNo");
  q.page_no = page <= 0 ? 1 : static_cast<int>(std::min<int64_t>(page, 1'000'000'000));
  ordered list = ordered::array();
  ordered data;
  if (const int64_t status = Int(*body, "status"); status != 0) {
    if (status != 1 && status != 2 && status != 3 && status != -1) {
      // No record has such a status.
      data["totalPage"] = 0;
      data["totalCount"] = 0;
      data["list"] = std::move(list);
      return Ok(std::move(data), kListed);
    }
    q.status = static_cast<model::RunStatus>(status);
  }
  absl::StatusOr<history::Page> found = history->List(q);
  if (!found.ok()) return Fail(kQueryFailed);
  for (const history::Execution& e : found->rows) list.push_back(ExecutionJson(e));
  data["totalPage"] = found->total_pages;
  data["totalCount"] = found->total_count;
  data["list"] = std::move(list);
  return Ok(std::move(data), kListed);
}

}  // namespace

void AddLegacyRoutes(Router& router, const ApiDeps& deps) {
  std::shared_ptr<Catalog> catalog = deps.catalog ? deps.catalog : MakeCatalog(deps);
  coord::Store* store = deps.store;
  Clock* clock = deps.clock;
  history::HistoryStore* history = deps.history;

  router.Add("POST", "/job/add", Access::kOperator,
             [catalog, store](Request& r) { return AddJob(*catalog, *store, r); });
  router.Add("POST", "/job/edit", Access::kOperator,
             [catalog, store](Request& r) { return EditJob(*catalog, *store, r); });
  router.Add("POST", "/job/delete", Access::kOperator,
             [catalog](Request& r) { return DeleteJob(*catalog, r); });
  router.AddReader("POST", "/job/list", Access::kViewer,
             [catalog](Request&) { return ListJobs(*catalog); });
  router.Add("POST", "/job/execute", Access::kOperator, [catalog, store, clock](Request& r) {
    return ExecuteJob(*catalog, *store, *clock, r);
  });
  router.Add("POST", "/group/add", Access::kOperator,
             [catalog](Request& r) { return AddGroup(*catalog, r); });
  router.AddReader("POST", "/group/list", Access::kViewer,
             [catalog](Request&) { return ListGroups(*catalog); });
  router.AddReader("POST", "/node/list", Access::kViewer,
             [store](Request&) { return ListNodes(*store); });
  router.AddReader("POST", "/plan/list", Access::kViewer,
             [catalog, store, clock](Request&) { return ListPlans(*catalog, *store, *clock); });
  router.AddReader("POST", "/client/list", Access::kViewer,
             [store](Request& r) { return ListClients(*store, r); });
  router.AddReader("POST", "/snapshot/list", Access::kViewer,
             [store](Request& r) { return ListSnapshots(*store, r); });
  router.Add("POST", "/snapshot/delete", Access::kOperator,
             [store](Request& r) { return DeleteSnapshot(*store, r); });
  router.AddReader("POST", "/execute/snapshot/list", Access::kViewer,
             [history](Request& r) { return ListExecutions(history, r); });
}

}  // namespace forest::api
