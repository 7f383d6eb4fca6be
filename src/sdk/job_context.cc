// forest::JobContext (the public face) and its Impl.
#include <spdlog/spdlog.h>

#include "model/snapshot.h"
#include "sdk/job_context_impl.h"

namespace forest {

JobContext::Impl::Impl(const worker::Execution& execution, worker::CancelToken& cancel,
                       worker::internal::RunLog log)
    : execution_(execution), cancel_(cancel), tail_(execution.output_cap), log_(std::move(log)) {}

void JobContext::Impl::Log(std::string_view line) {
  std::string text(line);
  text.push_back('\n');
  std::lock_guard lock(mu_);
  tail_.Append(text);
  if (log_failed_) return;
  if (const absl::Status s = log_.Append(text); !s.ok()) {
    log_failed_ = true;  // the record still gets the output
    spdlog::warn("sdk: run {}: cannot write its log file: {}", execution_.assignment.id,
                 std::string(s.message()));
  }
}

std::string JobContext::Impl::TakeOutput() const {
  std::lock_guard lock(mu_);
  return tail_.Take();
}

const std::string& JobContext::job_id() const { return impl_.execution().assignment.job_id; }
const std::string& JobContext::execution_id() const { return impl_.execution().assignment.id; }
const std::string& JobContext::target() const { return impl_.execution().assignment.target; }
const std::string& JobContext::params() const { return impl_.execution().assignment.params; }
const std::string& JobContext::group() const { return impl_.execution().group; }
const std::string& JobContext::worker_name() const { return impl_.execution().worker; }
int JobContext::shard_index() const { return impl_.execution().assignment.shard_index; }
int JobContext::shard_total() const { return impl_.execution().assignment.shard_total; }
int JobContext::attempt() const { return impl_.execution().assignment.attempt; }

std::chrono::system_clock::time_point JobContext::scheduled_time() const {
  const auto& t = impl_.execution().assignment.scheduled_time;
  return t ? std::chrono::system_clock::time_point(*t) : std::chrono::system_clock::time_point();
}

std::string JobContext::trigger() const {
  return std::string(model::Name(impl_.execution().assignment.trigger));
}

std::chrono::seconds JobContext::timeout() const {
  return std::chrono::seconds(impl_.execution().assignment.timeout_seconds);
}

bool JobContext::cancelled() const { return impl_.cancel().cancelled(); }

bool JobContext::wait_cancelled(std::chrono::milliseconds timeout) const {
  return impl_.cancel().WaitFor(timeout);
}

std::string JobContext::cancel_reason() const {
  return cancelled() ? impl_.cancel().reason() : std::string();
}

void JobContext::log(std::string_view line) { impl_.Log(line); }

}  // namespace forest
