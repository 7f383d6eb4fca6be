// What runs a claimed assignment: the seam between the worker runtime
// (worker.h: claiming, records, capacity, kill, timeouts) and the ways a run
// is carried out: a command line (shell_executor.h), an HTTP request
// (http_executor.h), or a handler of an application using the SDK.
//
// The runtime picks the first executor whose Accepts() says yes; with none,
// the run ends as an error naming the target. Run() is called on a thread of
// the runtime's, one per execution, and may block for as long as the run
// takes; it must return soon after `cancel` fires (kill or timeout): within
// the executor's grace period.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "model/snapshot.h"

namespace forest::worker {

// A one-shot cancellation signal with its reason ("killed: replaced by the
// next run", "timed out after 30 s"). Thread-safe.
class CancelToken {
 public:
  // The first call wins; later ones are ignored.
  void Cancel(std::string reason);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  std::string reason() const;
  // Blocks until cancelled (true) or `timeout` passes (false).
  bool WaitFor(std::chrono::milliseconds timeout) const;
  // Runs `callback` once on cancellation (at once if already cancelled), on
  // the cancelling thread. One callback at most.
  void OnCancel(std::function<void()> callback);

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
  std::string reason_;
  std::function<void()> callback_;
};

struct Execution {
  model::Assignment assignment;  // id, jobId, target, params, shard, attempt, scheduledTime, timeout
  std::string group;             // the worker's group it came through
  std::string worker;            // this worker's name
  // Where the run's whole output goes (the executor appends; "" = nowhere).
  std::string log_path;
  // How much of the output's end to keep in the record.
  size_t output_cap = 64 * 1024;
};

struct Outcome {
  bool success = false;
  std::optional<int> exit_code;  // a process's exit status, an HTTP status
  std::string result;            // one line: "exit 0", "HTTP 200", the reason it failed
  std::string output;            // the last `output_cap` bytes of the output
};

class Executor {
 public:
  virtual ~Executor() = default;
  // A short name for logs and records ("shell", "http", "sdk").
  virtual std::string_view name() const = 0;
  virtual bool Accepts(const model::Assignment& assignment) const = 0;
  virtual Outcome Run(const Execution& execution, CancelToken& cancel) = 0;
};

}  // namespace forest::worker
