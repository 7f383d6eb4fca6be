// Runs a job's target as a process: every target that is not an http(s) URL.
//
// Target forms:
//   - a command line, split into argv with POSIX-shell quoting (see
//     SplitCommandLine) and run WITHOUT a shell, argv[0] looked up in PATH
//     like execvp: `backup --full '/srv/my data'`;
//   - `sh:` and a shell script, run as /bin/sh -c '<script>', for when the
//     job wants pipes, variables or globs: `sh: du -s /srv/* | sort -n`.
// Both are off unless the worker was started with allow_shell; with
// allowed_prefixes, argv[0] (/bin/sh for `sh:`) must resolve to a path
// under one of them. A refused target is never run.
//
// A run: the process gets its own process group, stdin from /dev/null, the
// worker's environment plus FOREST_JOB_ID, FOREST_EXECUTION_ID,
// FOREST_PARAMS, FOREST_SHARD_INDEX, FOREST_SHARD_TOTAL, FOREST_ATTEMPT,
// FOREST_SCHEDULED_TIME (RFC 3339, "" if unknown), FOREST_TRIGGER and
// FOREST_GROUP, and stdout and stderr merged into one pipe that the calling
// thread reads: the end goes to Outcome::output, everything to the run log.
// The run is over when the process exits and the pipe is closed; what it left
// behind in its group still holding the pipe `drain_timeout` later (`sh:
// daemon &`), or not holding it at all, is killed (SIGKILL to the group; a
// process that must outlive its run has to leave the group, with setsid).
// On cancel: SIGTERM to the group, SIGKILL to the group `kill_grace` later.
//
// Threads: Run() may be called from several threads at once (one per
// execution); it blocks the calling thread for the whole run. Nothing in the
// worker may reap children with wait(-1) while runs are going.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/executor.h"

namespace forest::worker {

struct ShellOptions {
  // Whether this worker runs command targets at all (`--allow-shell`).
  // Default: no, every command target is refused.
  bool allow_shell = false;
  // When not empty, argv[0] resolved to an absolute path (lexically
  // normalized, symbolic links not followed) must be one of these or under
  // one of them as a directory ("/opt/jobs" allows /opt/jobs/x, not
  // /opt/jobsx). Default: any command.
  std::vector<std::string> allowed_prefixes;
  // Between SIGTERM and SIGKILL when a run is cancelled.
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  // How long the output pipe may stay open after the process exited (held by
  // something it started in the background) before the group is killed.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(1)};
  // The run log rotates past this size, keeping `log_keep` rotated files
  // (.1 the newest); 0 = never rotate.
  size_t log_max_bytes = 10 * 1024 * 1024;
  int log_keep = 3;
};

// Splits a command line into words the way a POSIX shell does, without any
// expansion: blanks (space, tab, newline) separate words; '...' keeps
// everything literally; "..." keeps everything but \" \\ \$ \` and
// backslash-newline (removed); outside quotes a backslash keeps the next
// character (backslash-newline is removed); '' and "" make an empty word.
// $, *, |, ; and the like are ordinary characters. InvalidArgument naming the
// problem for an unterminated quote, a trailing backslash or no words.
absl::StatusOr<std::vector<std::string>> SplitCommandLine(std::string_view line);

class ShellExecutor : public Executor {
 public:
  explicit ShellExecutor(ShellOptions options);

  std::string_view name() const override { return "shell"; }
  // Every target that is not http:// or https://.
  bool Accepts(const model::Assignment& assignment) const override;
  // Never throws: a refused, malformed or unrunnable target is an Outcome
  // with success == false and the reason in `result`.
  Outcome Run(const Execution& execution, CancelToken& cancel) override;

 private:
  const ShellOptions options_;
};

}  // namespace forest::worker
