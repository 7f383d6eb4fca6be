// Internal to src/sdk: the state behind a forest::JobContext, one per run,
// made by SdkExecutor::Run on the run's thread and alive for the handler call.
//
// Threads: Log and TakeOutput lock mu_ (handlers may log from threads of
// their own); the rest is read-only after construction.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "forest/job.h"
#include "worker/executor.h"
#include "worker/executor_internal.h"

namespace forest {

class JobContext::Impl {
 public:
  // `log` may drop everything (no log_dir, or it could not be opened).
  Impl(const worker::Execution& execution, worker::CancelToken& cancel,
       worker::internal::RunLog log);

  const worker::Execution& execution() const { return execution_; }
  worker::CancelToken& cancel() const { return cancel_; }

  // Appends `line` and a newline to the output and the run log.
  void Log(std::string_view line);
  // The end of the output (execution.output_cap bytes, valid UTF-8).
  std::string TakeOutput() const;

 private:
  const worker::Execution& execution_;
  worker::CancelToken& cancel_;
  mutable std::mutex mu_;
  worker::internal::TailBuffer tail_ ABSL_GUARDED_BY(mu_);
  worker::internal::RunLog log_ ABSL_GUARDED_BY(mu_);
  bool log_failed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace forest
