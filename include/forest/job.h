// Forest C++ SDK: what a handler sees of one run (JobContext) and what it
// answers (JobResult). See forest/worker.h for the worker that calls it.
//
// Public API: standard C++17 only; nothing of Forest's internals, Abseil,
// gRPC or JSON shows through.
#pragma once

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace forest {

// How a run ended, as the handler reports it. The message becomes the
// execution record's one-line `result`; the exit code, when set, its
// `exitCode` (the SDK sets none by itself).
class JobResult {
 public:
  // A successful run; `message` "" is recorded as "success".
  static JobResult Success(std::string message = "", std::optional<int> exit_code = std::nullopt) {
    return JobResult(true, std::move(message), exit_code);
  }
  // A failed run (the record's status is error; the scheduler's retry rules
  // apply); `message` "" is recorded as "failed".
  static JobResult Failure(std::string message = "", std::optional<int> exit_code = std::nullopt) {
    return JobResult(false, std::move(message), exit_code);
  }

  bool ok() const { return ok_; }
  const std::string& message() const { return message_; }
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  JobResult(bool ok, std::string message, std::optional<int> exit_code)
      : ok_(ok), message_(std::move(message)), exit_code_(exit_code) {}

  bool ok_;
  std::string message_;
  std::optional<int> exit_code_;
};

class JobContext;

// One log line being written: `ctx.log() << "rows: " << n;` writes the line
// when the statement ends (as ctx.log(std::string_view) would).
class LogLine {
 public:
  explicit LogLine(JobContext& context) : context_(context) {}
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();

  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  JobContext& context_;
  std::ostringstream stream_;
};

// One run of a job, handed to the handler that runs it. The SDK owns it; it
// is valid only during the handler call (copy out what must outlive it).
//
// Cancellation is cooperative: a kill (from the UI, the API, or the next run
// replacing this one), the job's timeout, or the worker stopping sets
// cancelled(); the handler should check it (or wait_cancelled()) and return
// soon after. A cancelled run is recorded as an error with cancel_reason()
// as its result, whatever the handler returns. The worker cannot stop a
// handler that ignores it: Stop() then waits for it.
//
// Threads: every method may be called from any thread while the handler
// runs (threads the handler starts may log too).
class JobContext {
 public:
  // Internal: the SDK's state of the run (defined in the SDK's sources).
  class Impl;
  explicit JobContext(Impl& impl) : impl_(impl) {}
  JobContext(const JobContext&) = delete;
  JobContext& operator=(const JobContext&) = delete;

  const std::string& job_id() const;
  // The run's id, unique per job run ("20260101000030000-job1" and its
  // variants): the execution record's id.
  const std::string& execution_id() const;
  // The job's target: the name the handler was registered under.
  const std::string& target() const;
  // The job's params string, as configured (often JSON; not parsed here).
  const std::string& params() const;
  // The group it came through and this worker's name.
  const std::string& group() const;
  const std::string& worker_name() const;
  // Sharded jobs: this run's shard in [0, shard_total); 0 of 1 otherwise.
  int shard_index() const;
  int shard_total() const;
  // 1 for the first try, 2 for the first retry, ...
  int attempt() const;
  // The fire time this run is for (for a manual run: when it was asked
  // for); the epoch (time_point{}) when the scheduler did not say.
  std::chrono::system_clock::time_point scheduled_time() const;
  // Why the run exists: "cron", "manual", "retry", "failover" or "api".
  std::string trigger() const;
  // The job's timeout (0 = none); the SDK cancels the run when it is up.
  std::chrono::seconds timeout() const;

  bool cancelled() const;
  // Blocks until the run is cancelled (true) or `timeout` passes (false):
  // a sleep that a kill interrupts.
  bool wait_cancelled(std::chrono::milliseconds timeout) const;
  // "killed: <reason>", "timed out after 30 s", "worker stopping"; "" while
  // not cancelled.
  std::string cancel_reason() const;

  // Appends one line (a newline is added) to the run's output: the end of it
  // (WorkerOptions::output_cap bytes) goes into the execution record, all of
  // it into the run log file when WorkerOptions::log_dir is set.
  void log(std::string_view line);
  LogLine log() { return LogLine(*this); }

 private:
  Impl& impl_;
};

inline LogLine::~LogLine() { context_.log(stream_.str()); }

}  // namespace forest
