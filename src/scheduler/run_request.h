// Manual runs: any node (the API) asks for a run of a job now; the leader
// serves the request by dispatching it (trigger manual or api) and deleting
// the request in one fenced transaction, so a request survives a leader
// change and is served once.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "coord/store.h"
#include "model/snapshot.h"

namespace forest::scheduler {

struct RunRequest {
  std::string job_id;
  // Replaces the job's params for this run when set.
  std::optional<std::string> params;
  model::Trigger trigger = model::Trigger::kManual;  // kManual or kApi
  std::string requested_by;
  Time requested_at{};  // set by RequestRun; it names the run

  static absl::StatusOr<RunRequest> FromJson(std::string_view json);
  std::string ToJson() const;
};

// Writes a request for `request.job_id` at clock.Now() (a later millisecond
// if that one is taken for the job) and answers the id the run's
// assignments will carry. NotFound when the job does not exist (checked in
// the transaction that writes the request); InvalidArgument for a trigger
// other than manual/api or a job id that is not a valid key name;
// ResourceExhausted when 1000 milliseconds in a row are taken.
absl::StatusOr<std::string> RequestRun(coord::Store& store, Clock& clock, RunRequest request);

}  // namespace forest::scheduler
