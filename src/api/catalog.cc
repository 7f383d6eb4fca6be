#include "api/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <ranges>
#include <set>

#include "common/strings.h"
#include "common/time_zone.h"
#include "model/keys.h"
#include "model/snapshot.h"

namespace forest::api {
namespace {

namespace keys = model::keys;

coord::DeleteRequest DeleteOne(std::string key) {
  coord::DeleteRequest r;
  r.key = std::move(key);
  return r;
}

coord::PutRequest PutOne(std::string key, std::string value) {
  coord::PutRequest r;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

// Tries a read-modify-write this many times when the document keeps
// changing under it.
constexpr int kAttempts = 5;

bool ContainsFolded(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower((unsigned char)a) == std::tolower((unsigned char)b);
                        });
  return it != haystack.end();
}

bool Matches(const model::Job& job, const JobFilter& f) {
  if (!f.group.empty() && job.group != f.group) return false;
  if (f.status && job.status != *f.status) return false;
  if (!f.tag.empty() && std::find(job.tags.begin(), job.tags.end(), f.tag) == job.tags.end()) {
    return false;
  }
  if (!f.text.empty()) {
    return ContainsFolded(job.id, f.text) || ContainsFolded(job.name, f.text) ||
           ContainsFolded(job.description, f.text) || ContainsFolded(job.remark, f.text) ||
           ContainsFolded(job.target, f.text);
  }
  return true;
}

absl::Status SortJobs(std::vector<const model::Job*>& jobs, const std::string& sort) {
  using Less = bool (*)(const model::Job&, const model::Job&);
  static const std::map<std::string, Less> kSorts = {
      {"name", [](const model::Job& a,
                  const model::Job& b) { return std::tie(a.name, a.id) < std::tie(b.name, b.id); }},
      {"-name",
       [](const model::Job& a, const model::Job& b) {
         return std::tie(a.name, a.id) > std::tie(b.name, b.id);
       }},
      {"id", [](const model::Job& a, const model::Job& b) { return a.id < b.id; }},
      {"group",
       [](const model::Job& a, const model::Job& b) {
         return std::tie(a.group, a.name, a.id) < std::tie(b.group, b.name, b.id);
       }},
      {"updated",
       [](const model::Job& a, const model::Job& b) {
         return std::tie(a.updated_at, a.id) < std::tie(b.updated_at, b.id);
       }},
      {"-updated",
       [](const model::Job& a, const model::Job& b) {
         return std::tie(a.updated_at, a.id) > std::tie(b.updated_at, b.id);
       }},
  };
  auto it = kSorts.find(sort);
  if (it == kSorts.end()) {
    return model::FieldError("sort", fmt::format("\"{}\" is not one of name, -name, id, group, "
                                                 "updated, -updated",
                                                 sort));
  }
  const auto less = it->second;
  std::sort(jobs.begin(), jobs.end(),
            [less](const model::Job* a, const model::Job* b) { return less(*a, *b); });
  return absl::OkStatus();
}

// Equal as configuration: the bookkeeping fields aside.
bool SameConfig(model::Job a, model::Job b) {
  for (model::Job* j : {&a, &b}) {
    j->version = 0;
    j->created_at.reset();
    j->updated_at.reset();
    j->created_by.clear();
    j->updated_by.clear();
  }
  return a.ToJson() == b.ToJson();
}

}  // namespace

std::string Catalog::NewJobId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  // The original's form: 14 digits of local time, then 6 random digits.
  std::string local = model::FormatLegacyTime(clock_.Now(), TimeZone::Local());
  local.erase(std::remove_if(local.begin(), local.end(), [](char c) { return c < '0' || c > '9'; }),
              local.end());
  return fmt::format("{}{:06}", local.substr(0, 14), random() % 1000000);
}

absl::StatusOr<std::vector<model::Job>> Catalog::AllJobs() {
  ASSIGN_OR_RETURN(const coord::RangeResponse all,
                   store_.Range(coord::RangeRequest::Prefix(keys::kConfPrefix)));
  std::vector<model::Job> jobs;
  jobs.reserve(all.kvs.size());
  for (const coord::KeyValue& kv : all.kvs) {
    // A document that does not parse is the leader's to report; lists skip it.
    if (auto job = model::Job::FromJson(kv.value); job.ok()) jobs.push_back(*std::move(job));
  }
  return jobs;
}

absl::StatusOr<JobPage> Catalog::ListJobs(const JobFilter& filter) {
  if (filter.page < 1) return model::FieldError("page", "must be at least 1");
  if (filter.page_size < 1 || filter.page_size > 1000) {
    return model::FieldError("pageSize", "must be within 1..1000");
  }
  JobPage page;
  // Filters, sorts and copies out one page of `jobs`.
  const auto paginate = [&](auto&& jobs) -> absl::Status {
    std::vector<const model::Job*> matching;
    for (const model::Job& job : jobs) {
      if (Matches(job, filter)) matching.push_back(&job);
    }
    RETURN_IF_ERROR(SortJobs(matching, filter.sort));
    page.total = static_cast<int64_t>(matching.size());
    const size_t first = static_cast<size_t>(filter.page - 1) * filter.page_size;
    for (size_t i = first; i < matching.size() && i < first + filter.page_size; ++i) {
      page.items.push_back(*matching[i]);
    }
    return absl::OkStatus();
  };
  if (view_ != nullptr) {
    absl::Status status;
    const bool read = view_->Read(last_write_.load(), [&](const auto& by_id) {
      status = paginate(by_id | std::views::values);
    });
    if (read) {
      RETURN_IF_ERROR(status);
      return page;
    }
  }
  ASSIGN_OR_RETURN(const std::vector<model::Job> jobs, AllJobs());
  RETURN_IF_ERROR(paginate(jobs));
  return page;
}

void Catalog::Wrote(coord::Revision revision) {
  coord::Revision seen = last_write_.load();
  while (seen < revision && !last_write_.compare_exchange_weak(seen, revision)) {
  }
}

absl::StatusOr<Catalog::Stored> Catalog::ReadJob(const std::string& id) {
  RETURN_IF_ERROR(model::ValidateKeyName("id", id));
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store_.Range(coord::RangeRequest::Single(keys::Conf(id))));
  if (r.kvs.empty()) return absl::NotFoundError(fmt::format("no job with id \"{}\"", id));
  ASSIGN_OR_RETURN(model::Job job, model::Job::FromJson(r.kvs[0].value));
  return Stored{std::move(job), r.kvs[0].mod_revision};
}

absl::StatusOr<model::Job> Catalog::GetJob(const std::string& id) {
  ASSIGN_OR_RETURN(Stored s, ReadJob(id));
  return std::move(s.job);
}

absl::StatusOr<StoredJob> Catalog::GetStoredJob(const std::string& id) { return ReadJob(id); }

absl::StatusOr<std::vector<model::Job>> Catalog::ListAllJobs() { return AllJobs(); }

absl::Status Catalog::CheckGroupExists(const std::string& group) {
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store_.Range(coord::RangeRequest::Single(keys::Group(group))));
  if (r.kvs.empty()) {
    return model::FieldError("group", fmt::format("no group \"{}\": create it first", group));
  }
  return absl::OkStatus();
}

absl::Status Catalog::WriteJob(const model::Job& job, coord::Revision mod_revision) {
  coord::TxnRequest t;
  const std::string key = keys::Conf(job.id);
  t.compare.push_back(mod_revision == 0 ? coord::Compare::Absent(key)
                                        : coord::Compare::ModRevision(
                                              key, coord::Compare::Result::kEqual, mod_revision));
  t.compare.push_back(
      coord::Compare::Version(keys::Group(job.group), coord::Compare::Result::kGreater, 0));
  t.success.push_back(PutOne(key, job.ToJson()));
  t.failure.push_back(coord::RangeRequest::Single(key));
  t.failure.push_back(coord::RangeRequest::Single(keys::Group(job.group)));
  ASSIGN_OR_RETURN(const coord::TxnResponse r, store_.Txn(t));
  if (r.succeeded) {
    Wrote(r.revision);
    return absl::OkStatus();
  }
  const auto& job_now = std::get<coord::RangeResponse>(r.responses[0]);
  const auto& group_now = std::get<coord::RangeResponse>(r.responses[1]);
  if (group_now.kvs.empty()) {
    return model::FieldError("group", fmt::format("no group \"{}\": create it first", job.group));
  }
  if (mod_revision == 0 && !job_now.kvs.empty()) {
    return absl::AlreadyExistsError(fmt::format("a job with id \"{}\" already exists", job.id));
  }
  if (mod_revision != 0 && job_now.kvs.empty()) {
    return absl::NotFoundError(fmt::format("no job with id \"{}\"", job.id));
  }
  return absl::AbortedError("the job changed while it was being written");
}

absl::StatusOr<model::Job> Catalog::CreateJob(model::Job job, const std::string& user) {
  const bool generated = job.id.empty();
  if (generated) job.id = NewJobId();
  job.version = 1;
  job.created_at = job.updated_at = clock_.Now();
  job.created_by = job.updated_by = user;
  RETURN_IF_ERROR(job.Validate());
  absl::Status written = WriteJob(job, 0);
  // A generated id can meet another create's in the same second (6 random
  // digits): draw again. A caller's own id is the caller's to change.
  for (int attempt = 1;
       generated && attempt < 10 && written.code() == absl::StatusCode::kAlreadyExists; ++attempt) {
    job.id = NewJobId();
    written = WriteJob(job, 0);
  }
  RETURN_IF_ERROR(written);
  return job;
}

absl::StatusOr<model::Job> Catalog::UpdateJob(model::Job job, const std::string& user) {
  RETURN_IF_ERROR(job.Validate());
  ASSIGN_OR_RETURN(Stored stored, ReadJob(job.id));
  if (job.version != stored.job.version) {
    return absl::AbortedError(fmt::format(
        "version conflict: the job is at version {}, the edit was made on version {}; reload "
        "and edit again",
        stored.job.version, job.version));
  }
  absl::StatusOr<model::Job> replaced = ReplaceJob(std::move(job), stored, user);
  if (replaced.status().code() == absl::StatusCode::kAborted) {
    return absl::AbortedError(
        "version conflict: the job was changed by someone else meanwhile; reload and edit again");
  }
  return replaced;
}

absl::StatusOr<model::Job> Catalog::ReplaceJob(model::Job job, const StoredJob& stored,
                                               const std::string& user) {
  if (job.id != stored.job.id) {
    return model::FieldError(
        "id", fmt::format("\"{}\" is not the stored job's \"{}\"", job.id, stored.job.id));
  }
  if (stored.mod_revision == 0) {
    return absl::FailedPreconditionError("ReplaceJob needs a job as GetStoredJob read it");
  }
  // Fields this version does not know stay as stored unless the edit names them.
  for (const auto& [name, value] : stored.job.extra.items()) {
    if (!job.extra.contains(name)) job.extra[name] = value;
  }
  job.version = stored.job.version + 1;
  job.created_at = stored.job.created_at;
  job.created_by = stored.job.created_by;
  job.updated_at = clock_.Now();
  job.updated_by = user;
  RETURN_IF_ERROR(job.Validate());
  RETURN_IF_ERROR(WriteJob(job, stored.mod_revision));
  return job;
}

absl::Status Catalog::DeleteJob(const std::string& id) {
  RETURN_IF_ERROR(model::ValidateKeyName("id", id));
  ASSIGN_OR_RETURN(const coord::DeleteResponse r, store_.Delete(DeleteOne(keys::Conf(id))));
  if (r.deleted == 0) return absl::NotFoundError(fmt::format("no job with id \"{}\"", id));
  Wrote(r.revision);
  return absl::OkStatus();
}

absl::StatusOr<model::Job> Catalog::SetJobStatus(const std::string& id, model::JobStatus status,
                                                 const std::string& user) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(Stored stored, ReadJob(id));
    if (stored.job.status == status) return stored.job;
    model::Job job = stored.job;
    job.status = status;
    ++job.version;
    job.updated_at = clock_.Now();
    job.updated_by = user;
    const absl::Status written = WriteJob(job, stored.mod_revision);
    if (written.code() == absl::StatusCode::kAborted) continue;
    RETURN_IF_ERROR(written);
    return job;
  }
  return absl::AbortedError("the job kept changing; try again");
}

absl::StatusOr<std::vector<Applied>> Catalog::ApplyJobs(std::vector<model::Job> jobs,
                                                        const std::string& user) {
  std::set<std::string> names;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const std::string where = fmt::format("jobs[{}]", i);
    if (jobs[i].name.empty()) return model::FieldError(where + ".name", "must not be empty");
    if (!names.insert(jobs[i].name).second) {
      return model::FieldError(where + ".name", fmt::format("\"{}\" appears twice", jobs[i].name));
    }
  }
  ASSIGN_OR_RETURN(const std::vector<model::Job> stored, AllJobs());
  std::map<std::string, const model::Job*> by_name;
  for (const model::Job& s : stored) {
    if (!names.count(s.name)) continue;
    if (!by_name.emplace(s.name, &s).second) {
      return absl::FailedPreconditionError(fmt::format(
          "two stored jobs are named \"{}\": apply matches jobs by name; rename one", s.name));
    }
  }
  // Validate everything first: nothing is written when one job is wrong.
  for (size_t i = 0; i < jobs.size(); ++i) {
    model::Job& job = jobs[i];
    auto it = by_name.find(job.name);
    if (it != by_name.end()) {
      if (!job.id.empty() && job.id != it->second->id) {
        return model::FieldError(fmt::format("jobs[{}].id", i),
                                 fmt::format("\"{}\" is named \"{}\", stored with id \"{}\"",
                                             job.id, job.name, it->second->id));
      }
      job.id = it->second->id;
    }
    // A new job without an id gets one when it is created (drawn again
    // there if another job took it meanwhile); it is checked with one here.
    model::Job checked = job;
    if (checked.id.empty()) checked.id = NewJobId();
    if (absl::Status s = checked.Validate(); !s.ok()) {
      const std::string field = model::ErrorField(s);
      return model::FieldError(fmt::format("jobs[{}]{}{}", i, field.empty() ? "" : ".", field),
                               std::string(s.message()));
    }
  }
  std::vector<Applied> out;
  for (model::Job& job : jobs) {
    auto it = by_name.find(job.name);
    if (it == by_name.end()) {
      ASSIGN_OR_RETURN(model::Job created, CreateJob(job, user));
      out.push_back({created.name, created.id, "created"});
      continue;
    }
    // Status is configuration too: apply sets it as written.
    if (SameConfig(job, *it->second)) {
      out.push_back({job.name, job.id, "unchanged"});
      continue;
    }
    job.version = it->second->version;
    ASSIGN_OR_RETURN(model::Job updated, UpdateJob(job, user));
    out.push_back({updated.name, updated.id, "updated"});
  }
  return out;
}

absl::StatusOr<std::vector<model::Group>> Catalog::ListGroups() {
  ASSIGN_OR_RETURN(const coord::RangeResponse all,
                   store_.Range(coord::RangeRequest::Prefix(keys::kGroupPrefix)));
  std::vector<model::Group> groups;
  for (const coord::KeyValue& kv : all.kvs) {
    if (auto g = model::Group::FromJson(kv.value); g.ok()) groups.push_back(*std::move(g));
  }
  return groups;
}

absl::StatusOr<model::Group> Catalog::GetGroup(const std::string& name) {
  RETURN_IF_ERROR(model::ValidateKeyName("name", name));
  ASSIGN_OR_RETURN(const coord::RangeResponse r,
                   store_.Range(coord::RangeRequest::Single(keys::Group(name))));
  if (r.kvs.empty()) return absl::NotFoundError(fmt::format("no group \"{}\"", name));
  return model::Group::FromJson(r.kvs[0].value);
}

absl::StatusOr<model::Group> Catalog::CreateGroup(const model::Group& group) {
  RETURN_IF_ERROR(group.Validate());
  coord::TxnRequest t;
  t.compare.push_back(coord::Compare::Absent(keys::Group(group.name)));
  t.success.push_back(PutOne(keys::Group(group.name), group.ToJson()));
  ASSIGN_OR_RETURN(const coord::TxnResponse r, store_.Txn(t));
  if (!r.succeeded) {
    return absl::AlreadyExistsError(fmt::format("group \"{}\" already exists", group.name));
  }
  return group;
}

absl::StatusOr<model::Group> Catalog::UpdateGroup(const model::Group& group) {
  RETURN_IF_ERROR(group.Validate());
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const coord::RangeResponse r,
                     store_.Range(coord::RangeRequest::Single(keys::Group(group.name))));
    if (r.kvs.empty()) return absl::NotFoundError(fmt::format("no group \"{}\"", group.name));
    ASSIGN_OR_RETURN(model::Group stored, model::Group::FromJson(r.kvs[0].value));
    model::Group next = group;
    for (const auto& [name, value] : stored.extra.items()) {
      if (!next.extra.contains(name)) next.extra[name] = value;
    }
    coord::TxnRequest t;
    t.compare.push_back(coord::Compare::ModRevision(
        keys::Group(group.name), coord::Compare::Result::kEqual, r.kvs[0].mod_revision));
    t.success.push_back(PutOne(keys::Group(group.name), next.ToJson()));
    ASSIGN_OR_RETURN(const coord::TxnResponse w, store_.Txn(t));
    if (w.succeeded) return next;
  }
  return absl::AbortedError("the group kept changing; try again");
}

absl::Status Catalog::DeleteGroup(const std::string& name) {
  RETURN_IF_ERROR(model::ValidateKeyName("name", name));
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(const coord::RangeResponse all,
                     store_.Range(coord::RangeRequest::Prefix(keys::kConfPrefix)));
    std::vector<std::string> users;
    for (const coord::KeyValue& kv : all.kvs) {
      auto job = model::Job::FromJson(kv.value);
      if (job.ok() && job->group == name) users.push_back(job->id);
    }
    if (!users.empty()) {
      const bool more = users.size() > 5;
      if (more) users.resize(5);
      return absl::FailedPreconditionError(
          fmt::format("group \"{}\" is used by jobs ({}{}); move or delete them first", name,
                      Join(users, ", "), more ? ", ..." : ""));
    }
    // Only if no job was written since that read: a job created in the
    // group meanwhile (its write checks that the group exists) keeps it.
    coord::TxnRequest t;
    coord::Compare unchanged = coord::Compare::ModRevision(
        std::string(keys::kConfPrefix), coord::Compare::Result::kLess, all.revision + 1);
    unchanged.range_end = coord::PrefixEnd(keys::kConfPrefix);
    t.compare.push_back(std::move(unchanged));
    t.success.push_back(DeleteOne(keys::Group(name)));
    ASSIGN_OR_RETURN(const coord::TxnResponse r, store_.Txn(t));
    if (!r.succeeded) continue;  // jobs changed: look again
    const auto& deleted = std::get<coord::DeleteResponse>(r.responses.at(0));
    if (deleted.deleted == 0) return absl::NotFoundError(fmt::format("no group \"{}\"", name));
    return absl::OkStatus();
  }
  return absl::AbortedError("the jobs kept changing while the group was being deleted; try again");
}

}  // namespace forest::api
