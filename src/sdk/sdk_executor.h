// The executor behind forest::Worker ("sdk"): runs a job whose target names
// a handler the application registered (exact match), with a JobContext over
// the run, and turns what the handler does into the run's Outcome:
//   - its JobResult: success, result message ("success" / "failed" when
//     empty), exit code;
//   - an exception: failure, "handler threw: <what()>";
//   - cancellation (kill, timeout, drain) seen when it returns: failure with
//     the cancel reason as the result, whatever it returned;
//   - its log lines: the last output_cap bytes as the output, all of them
//     appended to Execution::log_path when set.
//
// Threads: Run() is called on one runtime thread per execution, several at
// once; the handlers map is read-only after construction.
#pragma once

#include <map>
#include <string>

#include "forest/worker.h"
#include "worker/executor.h"

namespace forest::sdk {

class SdkExecutor final : public worker::Executor {
 public:
  explicit SdkExecutor(std::map<std::string, Handler, std::less<>> handlers);

  std::string_view name() const override { return "sdk"; }
  // Targets with a registered handler.
  bool Accepts(const model::Assignment& assignment) const override;
  // Never throws.
  worker::Outcome Run(const worker::Execution& execution, worker::CancelToken& cancel) override;

 private:
  const std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace forest::sdk
