// Internal to src/worker: final records that could not be written (the
// store was away), kept until they can be. On disk when given a directory
// (one file per record, written atomically and fsynced, so they survive a
// restart of the worker), else in memory. Never throws: a directory that
// cannot be written falls back to memory, with a warning.
//
// A record is written back only if the record it replaces is still the one
// the worker created when it claimed the run (create revision), so a late
// write can neither overwrite a collected-and-recreated record nor bring
// one back.
//
// Thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "coord/store.h"

namespace forest::worker::internal {

struct SpooledRecord {
  std::string key;
  std::string value;
  coord::Revision create_revision = 0;  // of the record at claim time
};

// Writes `record` if the stored record still has its create revision.
// Answers the store's error (to spool), or OK when written or when there is
// nothing left to write to (the record was replaced or collected).
absl::Status WriteFinal(coord::Store& store, const SpooledRecord& record);

class Spool {
 public:
  explicit Spool(std::string dir) : dir_(std::move(dir)) {}

  void Add(const SpooledRecord& record);
  // Writes what it can; answers how many are still waiting.
  size_t Flush(coord::Store& store);
  // How many were written late so far.
  int64_t written() const;

 private:
  mutable std::mutex mu_;
  const std::string dir_;
  std::map<std::string, SpooledRecord> memory_ ABSL_GUARDED_BY(mu_);
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace forest::worker::internal
