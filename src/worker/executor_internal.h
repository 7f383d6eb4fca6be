// Internal to src/worker: what every executor does with a run's output
// (defined in executor.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace forest::worker::internal {

// The record holds the output in a JSON string, and nlohmann::json refuses
// to serialize invalid UTF-8: these return valid UTF-8 of at most `cap`
// bytes, invalid bytes replaced by U+FFFD and a character cut by the cap
// dropped whole.
// The last `cap` bytes of `bytes` (a process's output).
std::string Utf8Tail(std::string_view bytes, size_t cap);
// The first `cap` bytes of `bytes` (an HTTP body).
std::string Utf8Head(std::string_view bytes, size_t cap);

// Keeps the last `cap` bytes of a stream (plus the few bytes Utf8Tail needs
// to find a character boundary), in amortized O(1) per byte.
class TailBuffer {
 public:
  explicit TailBuffer(size_t cap) : cap_(cap) {}
  void Append(std::string_view data);
  // Utf8Tail of everything appended.
  std::string Take() const;

 private:
  size_t cap_;
  std::string buf_;
};

// The whole-run log at Execution::log_path. Appends (creating the parent
// directories); when a write would take the file past `max_bytes` it rotates
// path -> path.1 -> path.2 -> ... -> path.{keep} (the oldest is dropped) and
// starts a new file. One per run, not thread-safe.
class RunLog {
 public:
  // An empty `path` gives a log that drops everything. Internal on a
  // directory or file that cannot be created or opened.
  static absl::StatusOr<RunLog> Open(std::string path, size_t max_bytes, int keep = 3);
  RunLog() = default;
  RunLog(RunLog&& other) noexcept;
  RunLog& operator=(RunLog&& other) noexcept;
  ~RunLog();

  // Internal on a failed write or rotation; the log is then closed and later
  // appends do nothing.
  absl::Status Append(std::string_view data);

 private:
  absl::Status Rotate();
  void Close();

  std::string path_;
  size_t max_bytes_ = 0;
  int keep_ = 0;
  int fd_ = -1;
  size_t size_ = 0;
};

}  // namespace forest::worker::internal
