// Process-wide logging setup (spdlog). Modules log through spdlog's default
// logger; InitLogging sets its level and format once, in main. Lines go to
// stderr (stdout stays clean for command output), one line an event:
//
//   text: 2026-01-01T00:00:30.000Z info worker w1: run finished job=J execution=E node=N
//   json: {"ts":"2026-01-01T00:00:30.000Z","level":"info","msg":"worker w1: run finished",
//          "job":"J","execution":"E","node":"N"}
//
// `job`, `execution` and `node` appear when known: LogEvent's fields, else
// the process's node (SetLogNode) for `node`. Nothing secret goes into a
// log line: callers never pass passwords, tokens or webhook secrets (a
// test greps a server's log for them).
//
// Threads: InitLogging before other threads log; LogEvent and SetLogNode
// from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace forest {

enum class LogFormat { kText, kJson };

// "text" or "json"; InvalidArgument otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view format);

// `level`: trace, debug, info, warn, error, off; `format`: text or json.
// InvalidArgument naming what is wrong otherwise.
absl::Status InitLogging(std::string_view level, std::string_view format = "text");
// The same, to `sink` instead of stderr (tests).
absl::Status InitLogging(std::string_view level, std::string_view format, spdlog::sink_ptr sink);

// The node id every line carries from now on unless a LogEvent names
// another (a server's node id, a worker's name); "" for none.
void SetLogNode(std::string node);

// The ids a log line is about; empty ones are left out.
// (Default member initializers: designated initializers may name only
// some, `{.job = id}`, without -Wmissing-field-initializers.)
struct LogFields {
  std::string_view job = {};
  std::string_view execution = {};
  std::string_view node = {};  // empty: the process's (SetLogNode)
};

namespace internal {
// The fields of the line being logged on this thread (read by the
// formatters while LogEvent's call is in progress), or null.
const LogFields*& CurrentLogFields();
class ScopedLogFields {
 public:
  explicit ScopedLogFields(const LogFields& fields) : previous_(CurrentLogFields()) {
    CurrentLogFields() = &fields;
  }
  ~ScopedLogFields() { CurrentLogFields() = previous_; }
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  const LogFields* previous_;
};
}  // namespace internal

// Logs one line about a job, an execution and/or a node:
//   LogEvent(spdlog::level::info, {.job = id, .execution = run}, "run finished: {}", status);
template <typename... Args>
void LogEvent(spdlog::level::level_enum level, const LogFields& fields,
              fmt::format_string<Args...> format, Args&&... args) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  const internal::ScopedLogFields scope(fields);
  logger->log(level, format, std::forward<Args>(args)...);
}

}  // namespace forest
