// REST v1: jobs and groups (api/catalog.h does the work).
#include <fmt/format.h>

#include <memory>

#include "api/api.h"
#include "api/catalog.h"
#include "api/errors.h"
#include "common/time_zone.h"
#include "scheduler/run_request.h"

namespace forest::api {
namespace {

using nlohmann::json;

json JobJson(const model::Job& job) { return json::parse(job.ToJson()); }
json GroupJson(const model::Group& g) { return json::parse(g.ToJson()); }

std::string User(const Request& r) { return r.caller ? r.caller->user : std::string(); }

// The answer of a call that produced `value` (converted by `to_json`), or its error.
template <typename T, typename F>
Response Answer(const absl::StatusOr<T>& value, F&& to_json, int status = 200) {
  if (!value.ok()) return ErrorResponse(value.status());
  return JsonResponse(to_json(*value), status);
}

Response NoContent(const absl::Status& status) {
  if (!status.ok()) return ErrorResponse(status);
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

absl::StatusOr<model::Job> JobFromBody(const Request& r) {
  ASSIGN_OR_RETURN(const json body, ParseJsonObject(r.body));
  return model::Job::FromJson(r.body);
}

absl::StatusOr<JobFilter> Filter(const Request& r) {
  JobFilter f;
  f.group = r.Query("group").value_or("");
  f.text = r.Query("q").value_or(r.Query("name").value_or(""));
  f.tag = r.Query("tag").value_or("");
  f.sort = r.Query("sort").value_or("name");
  if (auto status = r.Query("status")) {
    if (*status == "1" || *status == "enabled") {
      f.status = model::JobStatus::kEnabled;
    } else if (*status == "2" || *status == "stopped" || *status == "paused") {
      f.status = model::JobStatus::kStopped;
    } else {
      return FieldError("status", fmt::format("\"{}\" is not enabled (1) or stopped (2)", *status));
    }
  }
  ASSIGN_OR_RETURN(const int64_t page, QueryInt(r, "page", 1, 1, 1000000));
  ASSIGN_OR_RETURN(const int64_t size, QueryInt(r, "pageSize", 50, 1, 1000));
  f.page = static_cast<int>(page);
  f.page_size = static_cast<int>(size);
  return f;
}

}  // namespace

std::shared_ptr<Catalog> MakeCatalog(const ApiDeps& deps) {
  return std::make_shared<Catalog>(*deps.store, *deps.clock, JobView::Start(*deps.store));
}

void AddCatalogRoutes(Router& router, const ApiDeps& deps) {
  std::shared_ptr<Catalog> catalog = deps.catalog ? deps.catalog : MakeCatalog(deps);
  coord::Store* store = deps.store;
  Clock* clock = deps.clock;

  router.Add("GET", "/api/v1/jobs", Access::kViewer, [catalog](Request& r) {
    auto filter = Filter(r);
    if (!filter.ok()) return ErrorResponse(filter.status());
    return Answer(catalog->ListJobs(*filter), [&](const JobPage& page) {
      json items = json::array();
      for (const model::Job& j : page.items) items.push_back(JobJson(j));
      return json{{"items", items},
                  {"total", page.total},
                  {"page", filter->page},
                  {"pageSize", filter->page_size}};
    });
  });
  router.Add("POST", "/api/v1/jobs", Access::kOperator, [catalog](Request& r) {
    auto job = JobFromBody(r);
    if (!job.ok()) return ErrorResponse(job.status());
    return Answer(catalog->CreateJob(*job, User(r)), JobJson, 201);
  });
  router.Add("POST", "/api/v1/jobs:apply", Access::kOperator, [catalog](Request& r) {
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    if (!body->contains("jobs") || !(*body)["jobs"].is_array()) {
      return ErrorResponse(FieldError("jobs", "must be an array of jobs"));
    }
    std::vector<model::Job> jobs;
    for (size_t i = 0; i < (*body)["jobs"].size(); ++i) {
      auto job = model::Job::FromJson((*body)["jobs"][i].dump());
      if (!job.ok()) {
        const std::string field = model::ErrorField(job.status());
        return ErrorResponse(
            FieldError(fmt::format("jobs[{}]{}{}", i, field.empty() ? "" : ".", field),
                       std::string(job.status().message())));
      }
      jobs.push_back(*std::move(job));
    }
    return Answer(catalog->ApplyJobs(std::move(jobs), User(r)),
                  [](const std::vector<Applied>& applied) {
                    json results = json::array();
                    for (const Applied& a : applied) {
                      results.push_back({{"name", a.name}, {"id", a.id}, {"action", a.action}});
                    }
                    return json{{"results", results}};
                  });
  });
  router.Add("GET", "/api/v1/jobs/{id}", Access::kViewer,
             [catalog](Request& r) { return Answer(catalog->GetJob(r.Param("id")), JobJson); });
  router.Add("PUT", "/api/v1/jobs/{id}", Access::kOperator, [catalog](Request& r) {
    auto body = ParseJsonObject(r.body);
    if (!body.ok()) return ErrorResponse(body.status());
    if (!body->contains("version")) {
      return ErrorResponse(FieldError("version", "required: the version you edited"));
    }
    auto job = model::Job::FromJson(r.body);
    if (!job.ok()) return ErrorResponse(job.status());
    if (!job->id.empty() && job->id != r.Param("id")) {
      return ErrorResponse(FieldError(
          "id", fmt::format("\"{}\" differs from the path's \"{}\"", job->id, r.Param("id"))));
    }
    job->id = r.Param("id");
    return Answer(catalog->UpdateJob(*job, User(r)), JobJson);
  });
  router.Add("DELETE", "/api/v1/jobs/{id}", Access::kOperator,
             [catalog](Request& r) { return NoContent(catalog->DeleteJob(r.Param("id"))); });
  router.Add("POST", "/api/v1/jobs/{id}/pause", Access::kOperator, [catalog](Request& r) {
    return Answer(catalog->SetJobStatus(r.Param("id"), model::JobStatus::kStopped, User(r)),
                  JobJson);
  });
  router.Add("POST", "/api/v1/jobs/{id}/resume", Access::kOperator, [catalog](Request& r) {
    return Answer(catalog->SetJobStatus(r.Param("id"), model::JobStatus::kEnabled, User(r)),
                  JobJson);
  });
  router.Add("POST", "/api/v1/jobs/{id}/run", Access::kOperator, [store, clock](Request& r) {
    scheduler::RunRequest run;
    run.job_id = r.Param("id");
    // A person at the UI (a session) runs it by hand; a script by API token.
    run.trigger = r.caller && r.caller->browser ? model::Trigger::kManual : model::Trigger::kApi;
    run.requested_by = User(r);
    if (!r.body.empty()) {
      auto body = ParseJsonObject(r.body);
      if (!body.ok()) return ErrorResponse(body.status());
      if (body->contains("params")) {
        if (!(*body)["params"].is_string()) {
          return ErrorResponse(FieldError("params", "must be a string"));
        }
        run.params = (*body)["params"].get<std::string>();
      }
    }
    return Answer(
        scheduler::RequestRun(*store, *clock, run),
        [](const std::string& id) {
          return json{{"executionId", id}};
        },
        202);
  });
  router.Add("GET", "/api/v1/jobs/{id}/next", Access::kViewer, [catalog, clock](Request& r) {
    auto count = QueryInt(r, "count", 5, 1, 100);
    if (!count.ok()) return ErrorResponse(count.status());
    auto job = catalog->GetJob(r.Param("id"));
    if (!job.ok()) return ErrorResponse(job.status());
    auto schedule = job->Schedule();
    if (!schedule.ok()) return ErrorResponse(schedule.status());
    json times = json::array();
    for (Time t : schedule->NextN(clock->Now(), static_cast<int>(*count))) {
      times.push_back(FormatRfc3339Millis(t));
    }
    return JsonResponse({{"id", job->id}, {"times", times}});
  });

  router.Add("GET", "/api/v1/groups", Access::kViewer, [catalog](Request&) {
    return Answer(catalog->ListGroups(), [](const std::vector<model::Group>& groups) {
      json items = json::array();
      for (const model::Group& g : groups) items.push_back(GroupJson(g));
      return json{{"items", items}};
    });
  });
  router.Add("POST", "/api/v1/groups", Access::kOperator, [catalog](Request& r) {
    if (auto body = ParseJsonObject(r.body); !body.ok()) return ErrorResponse(body.status());
    auto group = model::Group::FromJson(r.body);
    if (!group.ok()) return ErrorResponse(group.status());
    return Answer(catalog->CreateGroup(*group), GroupJson, 201);
  });
  router.Add("GET", "/api/v1/groups/{name}", Access::kViewer, [catalog](Request& r) {
    return Answer(catalog->GetGroup(r.Param("name")), GroupJson);
  });
  router.Add("PUT", "/api/v1/groups/{name}", Access::kOperator, [catalog](Request& r) {
    if (auto body = ParseJsonObject(r.body); !body.ok()) return ErrorResponse(body.status());
    auto group = model::Group::FromJson(r.body);
    if (!group.ok()) return ErrorResponse(group.status());
    if (!group->name.empty() && group->name != r.Param("name")) {
      return ErrorResponse(FieldError("name", "differs from the path's"));
    }
    group->name = r.Param("name");
    return Answer(catalog->UpdateGroup(*group), GroupJson);
  });
  router.Add("DELETE", "/api/v1/groups/{name}", Access::kOperator,
             [catalog](Request& r) { return NoContent(catalog->DeleteGroup(r.Param("name"))); });
}

}  // namespace forest::api
