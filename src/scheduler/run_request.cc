#include "scheduler/run_request.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "model/job.h"
#include "model/keys.h"

namespace forest::scheduler {
namespace {

using nlohmann::json;

// A later millisecond is tried this many times before giving up.
constexpr int kMaxTries = 1000;

absl::Status ReadString(const json& j, const char* field, std::string& out) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return model::FieldError(field, "expected a string");
  out = it->get<std::string>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunRequest> RunRequest::FromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("malformed JSON");
  if (!j.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  RunRequest r;
  RETURN_IF_ERROR(ReadString(j, "jobId", r.job_id));
  if (const auto it = j.find("params"); it != j.end() && !it->is_null()) {
    std::string params;
    RETURN_IF_ERROR(ReadString(j, "params", params));
    r.params = std::move(params);
  }
  std::string trigger;
  RETURN_IF_ERROR(ReadString(j, "trigger", trigger));
  if (!trigger.empty()) {
    auto t = model::ParseTrigger(trigger);
    if (!t.ok()) return model::FieldError("trigger", std::string(t.status().message()));
    r.trigger = *t;
  }
  RETURN_IF_ERROR(ReadString(j, "requestedBy", r.requested_by));
  std::string at;
  RETURN_IF_ERROR(ReadString(j, "requestedAt", at));
  if (!at.empty()) {
    auto t = ParseIso8601(at, TimeZone::Utc());
    if (!t.ok()) return model::FieldError("requestedAt", std::string(t.status().message()));
    r.requested_at = *t;
  }
  return r;
}

std::string RunRequest::ToJson() const {
  json j = json::object();
  j["jobId"] = job_id;
  if (params) j["params"] = *params;
  j["trigger"] = std::string(model::Name(trigger));
  j["requestedBy"] = requested_by;
  j["requestedAt"] = FormatRfc3339Millis(requested_at);
  return j.dump();
}

absl::StatusOr<std::string> RequestRun(coord::Store& store, Clock& clock, RunRequest request) {
  if (request.trigger != model::Trigger::kManual && request.trigger != model::Trigger::kApi) {
    return model::FieldError("trigger",
                             fmt::format("a run request's trigger is manual or api, not {}",
                                         model::Name(request.trigger)));
  }
  RETURN_IF_ERROR(model::ValidateKeyName("jobId", request.job_id));
  const std::string conf = model::keys::Conf(request.job_id);
  request.requested_at = clock.Now();
  for (int i = 0; i < kMaxTries; ++i) {
    const std::string key =
        model::keys::Run(request.job_id, model::TimestampDigits(request.requested_at));
    // The job's existence is a compare too, so a request cannot slip in
    // after a concurrent delete of the job.
    coord::PutRequest put;
    put.key = key;
    put.value = request.ToJson();
    coord::RangeRequest job;
    job.key = conf;
    job.count_only = true;
    coord::TxnRequest txn;
    txn.compare = {coord::Compare::Absent(key),
                   coord::Compare::CreateRevision(conf, coord::Compare::Result::kGreater, 0)};
    txn.success = {std::move(put)};
    txn.failure = {std::move(job)};
    ASSIGN_OR_RETURN(const coord::TxnResponse response, store.Txn(txn));
    if (response.succeeded) {
      return model::SnapshotId(model::RunKey{.job_id = request.job_id,
                                             .scheduled = request.requested_at,
                                             .manual = true,
                                             .attempt = 1,
                                             .shard_index = 0});
    }
    if (std::get<coord::RangeResponse>(response.responses.at(0)).count == 0) {
      return absl::NotFoundError(fmt::format("job '{}' does not exist", request.job_id));
    }
    // Another request of the job has this millisecond.
    request.requested_at += Millis(1);
  }
  return absl::ResourceExhaustedError(fmt::format(
      "job '{}': no free millisecond for a run request after {} tries", request.job_id, kMaxTries));
}

}  // namespace forest::scheduler
