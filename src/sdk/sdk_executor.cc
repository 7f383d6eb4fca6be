#include "sdk/sdk_executor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "common/check.h"
#include "sdk/job_context_impl.h"
#include "worker/executor_internal.h"

namespace forest::sdk {
namespace {

// The run log rotates as the shell executor's does by default.
constexpr size_t kLogMaxBytes = 10 * 1024 * 1024;
constexpr int kLogKeep = 3;
// The record's result is one line: a handler's message is cut here.
constexpr size_t kResultCap = 4096;

}  // namespace

SdkExecutor::SdkExecutor(std::map<std::string, Handler, std::less<>> handlers)
    : handlers_(std::move(handlers)) {}

bool SdkExecutor::Accepts(const model::Assignment& assignment) const {
  return handlers_.find(assignment.target) != handlers_.end();
}

worker::Outcome SdkExecutor::Run(const worker::Execution& execution, worker::CancelToken& cancel) {
  const auto handler = handlers_.find(execution.assignment.target);
  FOREST_CHECK(handler != handlers_.end());  // the runtime asked Accepts first

  auto log = worker::internal::RunLog::Open(execution.log_path, kLogMaxBytes, kLogKeep);
  if (!log.ok()) {
    spdlog::warn("sdk: run {}: cannot open its log file: {}", execution.assignment.id,
                 std::string(log.status().message()));
  }
  JobContext::Impl impl(execution, cancel, log.ok() ? std::move(*log) : worker::internal::RunLog());
  JobContext context(impl);

  std::optional<JobResult> result;
  std::string thrown;
  try {
    result = handler->second(context);
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "an exception that is not a std::exception";
  }

  worker::Outcome outcome;
  if (!result) {
    outcome.result = "handler threw: " + thrown;
  } else {
    outcome.success = result->ok();
    outcome.exit_code = result->exit_code();
    outcome.result = !result->message().empty() ? result->message()
                     : result->ok()             ? "success"
                                                : "failed";
  }
  if (cancel.cancelled()) {
    // The handler was asked to stop: the record says why, the output what
    // it answered.
    impl.Log(fmt::format("[forest] cancelled ({}); the handler answered: {}", cancel.reason(),
                         outcome.result));
    outcome.success = false;
    outcome.result = cancel.reason();
  }
  outcome.result = worker::internal::Utf8Head(outcome.result, kResultCap);
  outcome.output = impl.TakeOutput();
  return outcome;
}

}  // namespace forest::sdk
