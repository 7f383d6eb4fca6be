// The catalog: jobs and groups, read and written in the coordination store
// (/forest/server/conf/{id}, /forest/server/group/{name}), so any node takes
// a write and every leader sees it. The REST and legacy endpoints both go
// through here.
//
// Writes are compare-and-set transactions:
//  - create: the key must be absent (AlreadyExists otherwise; a generated
//    id is drawn again) and the job's group must exist (InvalidArgument,
//    field "group");
//  - update: the caller's `version` must equal the stored one (Aborted,
//    "version conflict", otherwise: HTTP 409), and the stored document must
//    not have changed since it was read (retried then); the version goes
//    up by one; unknown fields of the stored document are kept;
//  - pause/resume: the same, status only (idempotent: pausing a paused job
//    changes nothing and keeps the version);
//  - group delete: refused (FailedPrecondition) while a job names the
//    group, and only done if no job was written since that was checked.
// Every error names the field it is about where there is one.
//
// Thread-safe; every call is one or a few store round trips.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/job_view.h"
#include "common/clock.h"
#include "common/status.h"
#include "coord/store.h"
#include "model/job.h"

namespace forest::api {

struct JobFilter {
  std::string group;
  std::optional<model::JobStatus> status;
  std::string text;  // case-insensitive, in id, name, description, remark, target
  std::string tag;
  std::string sort = "name";  // name | -name | id | updated | -updated | group
  int page = 1;
  int page_size = 50;  // 1..1000
};

struct JobPage {
  std::vector<model::Job> items;
  int64_t total = 0;
};

// One result of Apply.
struct Applied {
  std::string name;
  std::string id;
  std::string action;  // "created", "updated", "unchanged"
};

// A job as read, with the revision of its document: what ReplaceJob
// compares against.
struct StoredJob {
  model::Job job;
  coord::Revision mod_revision = 0;
};

class Catalog {
 public:
  Catalog(coord::Store& store, Clock& clock) : store_(store), clock_(clock) {}
  // Lists read `view` (kept by a watch) instead of the store; a list after
  // a write through this catalog sees it.
  Catalog(coord::Store& store, Clock& clock, std::unique_ptr<JobView> view)
      : store_(store), clock_(clock), view_(std::move(view)) {}

  absl::StatusOr<JobPage> ListJobs(const JobFilter& filter);
  // Every job in key order (by id as a string), unpaged; documents that do
  // not parse are skipped. For the legacy /job/list.
  absl::StatusOr<std::vector<model::Job>> ListAllJobs();
  absl::StatusOr<model::Job> GetJob(const std::string& id);
  // The job and its document's revision, for ReplaceJob.
  absl::StatusOr<StoredJob> GetStoredJob(const std::string& id);
  // Fills id (when empty: the original's form, a 14-digit local timestamp
  // and 6 random digits), version 1, created/updated time and user.
  absl::StatusOr<model::Job> CreateJob(model::Job job, const std::string& user);
  // `job.version` is the version the caller edited.
  absl::StatusOr<model::Job> UpdateJob(model::Job job, const std::string& user);
  // Replaces `stored` (as GetStoredJob read it) with `job` (same id): the
  // version becomes the stored one + 1 whatever `job.version` says, the
  // creation fields and the stored document's unknown fields are kept.
  // Compare-and-set on stored.mod_revision, not retried: Aborted when the
  // document changed since it was read, NotFound when it is gone,
  // FailedPrecondition (field "group") when the group does not exist.
  absl::StatusOr<model::Job> ReplaceJob(model::Job job, const StoredJob& stored,
                                        const std::string& user);
  absl::Status DeleteJob(const std::string& id);
  absl::StatusOr<model::Job> SetJobStatus(const std::string& id, model::JobStatus status,
                                          const std::string& user);
  // Creates or updates each job by name (names must be unique in `jobs`
  // and among stored jobs), all validated before anything is written;
  // a job equal to the stored one is left alone.
  absl::StatusOr<std::vector<Applied>> ApplyJobs(std::vector<model::Job> jobs,
                                                 const std::string& user);

  absl::StatusOr<std::vector<model::Group>> ListGroups();
  absl::StatusOr<model::Group> GetGroup(const std::string& name);
  absl::StatusOr<model::Group> CreateGroup(const model::Group& group);
  absl::StatusOr<model::Group> UpdateGroup(const model::Group& group);
  absl::Status DeleteGroup(const std::string& name);

 private:
  using Stored = StoredJob;
  absl::StatusOr<Stored> ReadJob(const std::string& id);
  absl::StatusOr<std::vector<model::Job>> AllJobs();
  absl::Status CheckGroupExists(const std::string& group);
  // Writes `job` over the stored version read at `mod_revision` (0: absent),
  // with the group's existence as a compare. FailedPrecondition names the
  // group; Aborted when the job changed meanwhile.
  absl::Status WriteJob(const model::Job& job, coord::Revision mod_revision);
  std::string NewJobId();

  // Notes the revision of a write to the jobs (lists wait for the view to get there).
  void Wrote(coord::Revision revision);

  coord::Store& store_;
  Clock& clock_;
  std::unique_ptr<JobView> view_;
  std::atomic<coord::Revision> last_write_{0};
};

struct ApiDeps;
// The catalog the routes share: with a job view on deps.store (lists without
// a store read), or without one when the store cannot be watched now.
std::shared_ptr<Catalog> MakeCatalog(const ApiDeps& deps);

}  // namespace forest::api
